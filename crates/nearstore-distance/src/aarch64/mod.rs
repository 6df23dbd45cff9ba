//! aarch64 kernels: [`neon`] (Advanced SIMD, part of the baseline of every aarch64 Rust
//! target this crate builds for).

pub(crate) mod neon;
