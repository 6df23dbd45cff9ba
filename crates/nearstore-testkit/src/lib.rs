//! Test fixtures for NearStore (not published).
