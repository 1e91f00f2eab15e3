//! VAES on 512-bit registers: four keys per register.

use core::arch::x86_64::*;

use zeroize::Zeroize;

use super::x86::{Op, RoundKeys, kernels, load128, store128};
use crate::state::{KeyState, N, step_word};

type V = __m512i;
const W: usize = 4;

/// Whether the CPU has every feature the kernels are compiled for.
pub(super) fn detected() -> bool {
    std::arch::is_x86_feature_detected!("aes")
        && std::arch::is_x86_feature_detected!("vaes")
        && std::arch::is_x86_feature_detected!("avx512f")
}

#[inline]
#[target_feature(enable = "aes,vaes,avx512f")]
fn zero() -> V {
    _mm512_setzero_si512()
}
#[inline]
#[target_feature(enable = "aes,vaes,avx512f")]
fn splat(k: [u64; 2]) -> V {
    _mm512_broadcast_i32x4(_mm_set_epi64x(k[1] as i64, k[0] as i64))
}
#[inline]
#[target_feature(enable = "aes,vaes,avx512f")]
fn from_lanes(l: [__m128i; W]) -> V {
    let lo = _mm512_castsi256_si512(_mm256_set_m128i(l[1], l[0]));
    _mm512_inserti64x4::<1>(lo, _mm256_set_m128i(l[3], l[2]))
}
#[inline]
#[target_feature(enable = "aes,vaes,avx512f")]
fn to_lanes(v: V) -> [__m128i; W] {
    [
        _mm512_castsi512_si128(v),
        _mm512_extracti32x4_epi32::<1>(v),
        _mm512_extracti32x4_epi32::<2>(v),
        _mm512_extracti32x4_epi32::<3>(v),
    ]
}
#[inline]
#[target_feature(enable = "aes,vaes,avx512f")]
fn load(b: &[[u8; 16]; W]) -> V {
    // SAFETY: `b` is 64 readable bytes; the unaligned load needs no alignment.
    unsafe { _mm512_loadu_si512(b.as_ptr().cast()) }
}
#[inline]
#[target_feature(enable = "aes,vaes,avx512f")]
fn store(v: V, b: &mut [[u8; 16]; W]) {
    // SAFETY: `b` is 64 writable bytes; the unaligned store needs no alignment.
    unsafe { _mm512_storeu_si512(b.as_mut_ptr().cast(), v) }
}
#[inline]
#[target_feature(enable = "aes,vaes,avx512f")]
fn blend_hi(a: V, b: V) -> V {
    _mm512_mask_blend_epi64(0b1010_1010, a, b)
}
#[inline]
#[target_feature(enable = "aes,vaes,avx512f")]
fn xor(a: V, b: V) -> V {
    _mm512_xor_si512(a, b)
}
#[inline]
#[target_feature(enable = "aes,vaes,avx512f")]
fn enc(a: V, k: V) -> V {
    _mm512_aesenc_epi128(a, k)
}
#[inline]
#[target_feature(enable = "aes,vaes,avx512f")]
fn enc_last(a: V, k: V) -> V {
    _mm512_aesenclast_epi128(a, k)
}
#[inline]
#[target_feature(enable = "aes,vaes,avx512f")]
fn dec(a: V, k: V) -> V {
    _mm512_aesdec_epi128(a, k)
}
#[inline]
#[target_feature(enable = "aes,vaes,avx512f")]
fn dec_last(a: V, k: V) -> V {
    _mm512_aesdeclast_epi128(a, k)
}

kernels!("aes,vaes,avx512f", 8);
