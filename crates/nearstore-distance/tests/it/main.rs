//! Integration tests: every kernel of every instruction set this machine has, against the
//! scalar oracle, within the crate's documented numerics contract.
//!
//! Run with `NEARSTORE_FORCE_SCALAR=1` too: the explicit per-ISA checks still cover every
//! table ([`Kernels::available`] ignores the switch) while the dispatched paths
//! (`distance`, `prepare`, the pairwise functions) then run the scalar kernels.

// Test helpers are not `#[test]` functions, so clippy's in-test exemption misses them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod dispatch;
mod float_kernels;
mod integer_kernels;
mod quantized_kernels;
mod set_kernels;
mod vectors;
