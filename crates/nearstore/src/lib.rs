//! NearStore engine (being built).
