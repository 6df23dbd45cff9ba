//! Payload filters (being built).
