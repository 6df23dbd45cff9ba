//! HTTP server (being built).
