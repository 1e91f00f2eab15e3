//! AES-NI on 128-bit registers: one key per register.

use core::arch::x86_64::*;

use zeroize::Zeroize;

use super::x86::{Op, RoundKeys, kernels, load128, store128};
use crate::state::{KeyState, N, step_word};

type V = __m128i;
const W: usize = 1;

/// Whether the CPU has every feature the kernels are compiled for.
pub(super) fn detected() -> bool {
    std::arch::is_x86_feature_detected!("aes") && std::arch::is_x86_feature_detected!("sse4.1")
}

#[inline]
#[target_feature(enable = "aes,sse4.1")]
fn zero() -> V {
    _mm_setzero_si128()
}
#[inline]
#[target_feature(enable = "aes,sse4.1")]
fn splat(k: [u64; 2]) -> V {
    _mm_set_epi64x(k[1] as i64, k[0] as i64)
}
#[inline]
#[target_feature(enable = "aes,sse4.1")]
fn from_lanes(l: [__m128i; W]) -> V {
    l[0]
}
#[inline]
#[target_feature(enable = "aes,sse4.1")]
fn to_lanes(v: V) -> [__m128i; W] {
    [v]
}
#[inline]
#[target_feature(enable = "aes,sse4.1")]
fn load(b: &[[u8; 16]; W]) -> V {
    // SAFETY: `b` is 16 readable bytes; the unaligned load needs no alignment.
    unsafe { _mm_loadu_si128(b.as_ptr().cast()) }
}
#[inline]
#[target_feature(enable = "aes,sse4.1")]
fn store(v: V, b: &mut [[u8; 16]; W]) {
    // SAFETY: `b` is 16 writable bytes; the unaligned store needs no alignment.
    unsafe { _mm_storeu_si128(b.as_mut_ptr().cast(), v) }
}
#[inline]
#[target_feature(enable = "aes,sse4.1")]
fn blend_hi(a: V, b: V) -> V {
    _mm_blend_epi16::<0xF0>(a, b)
}
#[inline]
#[target_feature(enable = "aes,sse4.1")]
fn xor(a: V, b: V) -> V {
    _mm_xor_si128(a, b)
}
#[inline]
#[target_feature(enable = "aes,sse4.1")]
fn enc(a: V, k: V) -> V {
    _mm_aesenc_si128(a, k)
}
#[inline]
#[target_feature(enable = "aes,sse4.1")]
fn enc_last(a: V, k: V) -> V {
    _mm_aesenclast_si128(a, k)
}
#[inline]
#[target_feature(enable = "aes,sse4.1")]
fn dec(a: V, k: V) -> V {
    _mm_aesdec_si128(a, k)
}
#[inline]
#[target_feature(enable = "aes,sse4.1")]
fn dec_last(a: V, k: V) -> V {
    _mm_aesdeclast_si128(a, k)
}

kernels!("aes,sse4.1", 8);
