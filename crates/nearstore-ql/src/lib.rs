//! Query language (being built).
