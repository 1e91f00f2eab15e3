//! VAES on 256-bit registers: two keys per register.

use core::arch::x86_64::*;

use zeroize::Zeroize;

use super::x86::{Op, RoundKeys, kernels, load128, store128};
use crate::state::{KeyState, N, step_word};

type V = __m256i;
const W: usize = 2;

/// Whether the CPU has every feature the kernels are compiled for.
pub(super) fn detected() -> bool {
    std::arch::is_x86_feature_detected!("aes")
        && std::arch::is_x86_feature_detected!("vaes")
        && std::arch::is_x86_feature_detected!("avx2")
}

#[inline]
#[target_feature(enable = "aes,vaes,avx2")]
fn zero() -> V {
    _mm256_setzero_si256()
}
#[inline]
#[target_feature(enable = "aes,vaes,avx2")]
fn splat(k: [u64; 2]) -> V {
    _mm256_broadcastsi128_si256(_mm_set_epi64x(k[1] as i64, k[0] as i64))
}
#[inline]
#[target_feature(enable = "aes,vaes,avx2")]
fn from_lanes(l: [__m128i; W]) -> V {
    _mm256_set_m128i(l[1], l[0])
}
#[inline]
#[target_feature(enable = "aes,vaes,avx2")]
fn to_lanes(v: V) -> [__m128i; W] {
    [_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v)]
}
#[inline]
#[target_feature(enable = "aes,vaes,avx2")]
fn load(b: &[[u8; 16]; W]) -> V {
    // SAFETY: `b` is 32 readable bytes; the unaligned load needs no alignment.
    unsafe { _mm256_loadu_si256(b.as_ptr().cast()) }
}
#[inline]
#[target_feature(enable = "aes,vaes,avx2")]
fn store(v: V, b: &mut [[u8; 16]; W]) {
    // SAFETY: `b` is 32 writable bytes; the unaligned store needs no alignment.
    unsafe { _mm256_storeu_si256(b.as_mut_ptr().cast(), v) }
}
#[inline]
#[target_feature(enable = "aes,vaes,avx2")]
fn blend_hi(a: V, b: V) -> V {
    _mm256_blend_epi32::<0b1100_1100>(a, b)
}
#[inline]
#[target_feature(enable = "aes,vaes,avx2")]
fn xor(a: V, b: V) -> V {
    _mm256_xor_si256(a, b)
}
#[inline]
#[target_feature(enable = "aes,vaes,avx2")]
fn enc(a: V, k: V) -> V {
    _mm256_aesenc_epi128(a, k)
}
#[inline]
#[target_feature(enable = "aes,vaes,avx2")]
fn enc_last(a: V, k: V) -> V {
    _mm256_aesenclast_epi128(a, k)
}
#[inline]
#[target_feature(enable = "aes,vaes,avx2")]
fn dec(a: V, k: V) -> V {
    _mm256_aesdec_epi128(a, k)
}
#[inline]
#[target_feature(enable = "aes,vaes,avx2")]
fn dec_last(a: V, k: V) -> V {
    _mm256_aesdeclast_epi128(a, k)
}

kernels!("aes,vaes,avx2", 8);
