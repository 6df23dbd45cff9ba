//! Kernel dispatch: one [`Kernels`] table of function pointers per instruction set, the
//! best one the CPU supports resolved once per process ([`kernels`]).
//!
//! Invariant: a table of SIMD kernels is only ever handed out by its ISA module's
//! `table()` after runtime feature detection succeeded, so calling any of its kernels
//! (through the table's safe methods) is sound. `NEARSTORE_FORCE_SCALAR=1` (any value but
//! empty or `0`) or the `force-scalar` feature makes [`kernels`] return the scalar table;
//! [`Kernels::available`] still lists every table the CPU supports, so tests can exercise
//! them all in one run.

use std::sync::OnceLock;

use half::f16;

use crate::{CosineParts, DotNorm, SetCounts, scalar};

/// An instruction-set family with its own kernel table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Isa {
    /// Portable scalar code (the oracle).
    Scalar,
    /// x86_64 AVX2 + FMA + F16C (+ POPCNT for bits).
    Avx2,
    /// x86_64 AVX-512 F/BW/VL (+ FMA, F16C, POPCNT).
    Avx512,
    /// [`Isa::Avx512`] plus VNNI (integer dot products) and VPOPCNTDQ (vector popcount).
    Avx512Vnni,
    /// aarch64 Advanced SIMD.
    Neon,
}

impl Isa {
    /// A short lowercase name (`scalar`, `avx2`, `avx512`, `avx512vnni`, `neon`).
    pub const fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
            Isa::Avx512Vnni => "avx512vnni",
            Isa::Neon => "neon",
        }
    }
}

/// Declares [`Kernels`]: one `unsafe fn` pointer field per kernel (the table's invariant is
/// what makes calling it sound) and a safe method of the same name that calls it.
macro_rules! kernel_table {
    (
        $($(#[$doc:meta])* $name:ident: $t:ty => $r:ty;)*
        @mixed {
            $($(#[$mdoc:meta])* $mname:ident: $ma:ty, $mb:ty => $mr:ty;)*
        }
    ) => {
        /// One instruction set's kernels.
        ///
        /// Every method compares the common prefix of its two slices (callers check
        /// lengths; the public wrappers in this crate do) and never reads out of bounds.
        /// Meanings and accuracy are those of the same-named functions in [`crate::scalar`]
        /// (see the crate's numerics contract).
        ///
        /// The fields point straight at the kernels (no safe wrapper in between, so a call
        /// is one indirect jump). Invariant: a `Kernels` value is only built by this crate,
        /// as the `static` table of an ISA module, and that module hands it out only after
        /// detecting every CPU feature its kernels enable.
        #[derive(Debug)]
        pub struct Kernels {
            /// Which instruction set these kernels use.
            pub isa: Isa,
            $(pub(crate) $name: unsafe fn(&[$t], &[$t]) -> $r,)*
            $(pub(crate) $mname: unsafe fn(&[$ma], &[$mb]) -> $mr,)*
        }

        impl Kernels {
            $(
                $(#[$doc])*
                #[inline]
                pub fn $name(&self, a: &[$t], b: &[$t]) -> $r {
                    // SAFETY: by the type's invariant this table was handed out only after
                    // runtime detection of every feature its kernels enable (the scalar
                    // kernels need none), and every kernel accepts any two slices.
                    unsafe { (self.$name)(a, b) }
                }
            )*
            $(
                $(#[$mdoc])*
                #[inline]
                pub fn $mname(&self, a: &[$ma], b: &[$mb]) -> $mr {
                    // SAFETY: as above: the table was handed out only after detecting every
                    // feature its kernels enable, and every kernel accepts any two slices.
                    unsafe { (self.$mname)(a, b) }
                }
            )*
        }
    };
}

kernel_table! {
    /// `Σ aᵢbᵢ` over `f32`.
    dot_f32: f32 => f32;
    /// `Σ (aᵢ-bᵢ)²` over `f32`.
    l2sq_f32: f32 => f32;
    /// `Σ |aᵢ-bᵢ|` over `f32` (L1, Manhattan).
    l1_f32: f32 => f32;
    /// `a·b`, `a·a`, `b·b` over `f32`.
    cos_f32: f32 => CosineParts;
    /// `q·c`, `c·c` over `f32` (prepared cosine).
    dot_norm_f32: f32 => DotNorm;
    /// Positions where exactly one component is `> 0.5`.
    hamming_f32: f32 => u64;
    /// Intersection and union of the components `> 0.5`.
    jaccard_f32: f32 => SetCounts;
    /// `Σ aᵢbᵢ` over `f16`.
    dot_f16: f16 => f32;
    /// `Σ (aᵢ-bᵢ)²` over `f16`.
    l2sq_f16: f16 => f32;
    /// `a·b`, `a·a`, `b·b` over `f16`.
    cos_f16: f16 => CosineParts;
    /// `q·c`, `c·c` over `f16`.
    dot_norm_f16: f16 => DotNorm;
    /// `Σ aᵢbᵢ` over `u8`, wrapping modulo 2³².
    dot_u8: u8 => u32;
    /// `Σ (aᵢ-bᵢ)²` over `u8`, wrapping modulo 2³².
    l2sq_u8: u8 => u32;
    /// `Σ aᵢbᵢ` over `i8`, wrapping modulo 2³².
    dot_i8: i8 => i32;
    /// `Σ (aᵢ-bᵢ)²` over `i8`, wrapping modulo 2³².
    l2sq_i8: i8 => u32;
    /// `popcount(a XOR b)`.
    hamming_bits: u64 => u64;
    /// `popcount(a AND b)`, `popcount(a OR b)`.
    jaccard_bits: u64 => SetCounts;
    /// `Σⱼ 2ʲ · popcount(a AND bⱼ)` over the bit planes `bⱼ` of `b` (see
    /// [`scalar::and_popcount_planes`]).
    and_popcount_planes: u64 => u64;
    @mixed {
        /// `Σ qᵢcᵢ` of an `f32` query and `u8` codes (asymmetric scalar-quantization
        /// distance: the caller folds the per-dimension scale into `q`).
        dot_f32_u8: f32, u8 => f32;
        /// `Σⱼ aᵢ` at `i = 256·j + bⱼ`: product-quantization codes `b` looked up in a
        /// per-query table `a` of 256 entries per subspace (see [`scalar::adc_f32_u8`]).
        adc_f32_u8: f32, u8 => f32;
        /// `Σ cᵢqᵢ` of nibble-packed 4-bit codes and bytes (see [`scalar::dot_u4_u8`]).
        dot_u4_u8: u64, u8 => u32;
        /// `Σ qᵢrᵢ` of bytes and each of 16 interleaved signed-byte rows (see
        /// [`scalar::dot_u8_i8_x16`]).
        dot_u8_i8_x16: u8, i8 => [i32; scalar::BLOCK_ROWS];
    }
}

/// The scalar table (every platform).
pub(crate) static SCALAR: Kernels = Kernels {
    isa: Isa::Scalar,
    dot_f32: scalar::dot_f32,
    l2sq_f32: scalar::l2sq_f32,
    l1_f32: scalar::l1_f32,
    cos_f32: scalar::cos_f32,
    dot_norm_f32: scalar::dot_norm_f32,
    hamming_f32: scalar::hamming_f32,
    jaccard_f32: scalar::jaccard_f32,
    dot_f16: scalar::dot_f16,
    l2sq_f16: scalar::l2sq_f16,
    cos_f16: scalar::cos_f16,
    dot_norm_f16: scalar::dot_norm_f16,
    dot_u8: scalar::dot_u8,
    l2sq_u8: scalar::l2sq_u8,
    dot_i8: scalar::dot_i8,
    l2sq_i8: scalar::l2sq_i8,
    hamming_bits: scalar::hamming_bits,
    jaccard_bits: scalar::jaccard_bits,
    and_popcount_planes: scalar::and_popcount_planes,
    dot_f32_u8: scalar::dot_f32_u8,
    adc_f32_u8: scalar::adc_f32_u8,
    dot_u4_u8: scalar::dot_u4_u8,
    dot_u8_i8_x16: scalar::dot_u8_i8_x16,
};

impl Kernels {
    /// The table for `isa` if this CPU supports it (detection runs on every call; the hot
    /// path uses [`kernels`] instead).
    pub fn for_isa(isa: Isa) -> Option<&'static Kernels> {
        match isa {
            Isa::Scalar => Some(&SCALAR),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => crate::x86::avx2::table(),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => crate::x86::avx512::table(),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512Vnni => crate::x86::avx512::table_vnni(),
            #[cfg(target_arch = "aarch64")]
            Isa::Neon => crate::aarch64::neon::table(),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    /// Every table this CPU supports, scalar first and best last. Ignores the
    /// force-scalar switch: tests use this to check every kernel in one run.
    pub fn available() -> Vec<&'static Kernels> {
        [
            Isa::Scalar,
            Isa::Neon,
            Isa::Avx2,
            Isa::Avx512,
            Isa::Avx512Vnni,
        ]
        .into_iter()
        .filter_map(Kernels::for_isa)
        .collect()
    }
}

/// `true` when the scalar table is forced: the `force-scalar` feature, or
/// `NEARSTORE_FORCE_SCALAR` set to anything but empty or `0`.
pub fn force_scalar_requested() -> bool {
    if cfg!(feature = "force-scalar") {
        return true;
    }
    match std::env::var_os("NEARSTORE_FORCE_SCALAR") {
        Some(v) => !v.is_empty() && v != "0",
        None => false,
    }
}

/// The kernels every caller uses: the best table this CPU supports, or the scalar one when
/// forced (see [`force_scalar_requested`]). Detected on the first call, then a load.
pub fn kernels() -> &'static Kernels {
    static RESOLVED: OnceLock<&'static Kernels> = OnceLock::new();
    RESOLVED.get_or_init(|| {
        if force_scalar_requested() {
            return &SCALAR;
        }
        Kernels::available().last().copied().unwrap_or(&SCALAR)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_is_always_available_and_first() {
        let all = Kernels::available();
        assert_eq!(all[0].isa, Isa::Scalar);
    }

    #[test]
    fn dispatch_honours_the_force_scalar_switch() {
        let k = kernels();
        if force_scalar_requested() {
            assert_eq!(k.isa, Isa::Scalar);
        } else {
            assert_eq!(k.isa, Kernels::available().last().unwrap().isa);
        }
    }
}
