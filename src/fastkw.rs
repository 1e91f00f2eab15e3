//! Batched AES-256 Key Wrap (RFC 3394 KW) and Key Wrap with Padding (RFC 5649
//! KWP) of 32-byte keys under one KEK at a time.
//!
//! One RFC 3394 wrap of a 256-bit key is 24 AES blocks, each depending on the
//! previous one through the integrity register `A`, so a key wrapped alone
//! waits on the AES latency 24 times. This module wraps, unwraps and rewraps
//! many keys together: step `t` of every key in a group goes through the AES
//! units before step `t + 1` of any, so the pipeline stays full. Output is
//! byte-identical to `aes-kw` (`KwAes256` / `KwpAes256`) for every key.
//!
//! It owns the batched primitive only: it knows nothing of key graphs, wire
//! formats or contexts, and supports only what hierarchies use (AES-256 KEKs,
//! 32-byte keys, 40-byte wraps). [`crate::scheme`] stays the reference for
//! everything else.
//!
//! # Backends
//!
//! [`Backend::Portable`] is safe code over the `aes` crate (all 24 steps of a
//! group inside one `encrypt_with_backend` closure). The others use
//! `core::arch::x86_64` intrinsics and are used only when run-time feature
//! detection finds the instructions: [`Backend::AesNi`] (8 keys in flight),
//! [`Backend::Vaes256`] (2 keys per 256-bit register) and [`Backend::Vaes512`]
//! (4 keys per 512-bit register). [`Backend::selected`] picks the fastest
//! available one (the environment variable `KEYHIER_FASTKW_BACKEND` can force
//! any available backend by name, e.g. `portable`).
//!
//! # Unsafe code
//!
//! This is the one module of the crate allowed `unsafe`: it calls
//! `#[target_feature]` kernels after checking the features at run time. The
//! kernels take a slice of [`KeyState`] and never index out of it; every length
//! is checked in safe code before they run. A failed unwrap is decided per key
//! in constant time and zeroes that key's output only.
#![allow(unsafe_code)]

use std::sync::OnceLock;

use aes::Aes256;
use aes::cipher::consts::U16;
use aes::cipher::typenum::Unsigned;
use aes::cipher::{
    Block, BlockCipherDecBackend, BlockCipherDecClosure, BlockCipherDecrypt, BlockCipherEncBackend,
    BlockCipherEncClosure, BlockCipherEncrypt, BlockSizeUser, KeyInit, ParBlocks,
};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::{Error, Result};

/// Length of a key this module wraps: AES-256 key material.
pub const KEY_LEN: usize = 32;
/// Length of the KW or KWP wrap of a [`KEY_LEN`]-byte key.
pub const WRAPPED_LEN: usize = 40;
/// Semiblocks of key data (`n` in RFC 3394).
const N: usize = KEY_LEN / 8;
/// Keys staged on the stack per pass of the safe layer; a multiple of every
/// backend's group size.
const CHUNK: usize = 64;
/// Environment variable that forces a backend by name (see [`Backend::selected`]).
pub const BACKEND_ENV: &str = "KEYHIER_FASTKW_BACKEND";

/// Which wrap: RFC 3394 KW or RFC 5649 KWP. For a 32-byte key they differ only
/// in the initial value (KWP's AIV carries the length, 32, and needs no padding).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// RFC 3394 AES Key Wrap, IV `A6A6A6A6A6A6A6A6`.
    Kw,
    /// RFC 5649 AES Key Wrap with Padding, AIV `A65959A6 00000020`.
    Kwp,
}

impl Mode {
    /// Both modes.
    pub const ALL: [Mode; 2] = [Mode::Kw, Mode::Kwp];

    /// The initial value `A[0]` for a 32-byte key. Unwrapping accepts exactly
    /// this value: under KWP a message length other than 32 is refused.
    pub const fn iv(self) -> [u8; 8] {
        match self {
            Mode::Kw => [0xA6; 8],
            Mode::Kwp => [0xA6, 0x59, 0x59, 0xA6, 0, 0, 0, KEY_LEN as u8],
        }
    }

    fn iv_word(self) -> u64 {
        u64::from_le_bytes(self.iv())
    }
}

/// A KEK prepared for batched wrapping: the AES-256 encryption and decryption
/// round keys, for the portable path and (where AES-NI is present) for the
/// intrinsic paths. Zeroized on drop; `Debug` prints nothing of the key.
pub struct BatchKek {
    cipher: Aes256,
    #[cfg(target_arch = "x86_64")]
    x86: Option<x86::RoundKeys>,
}

impl BatchKek {
    /// Expands `kek` into round keys. Build it once per KEK and reuse it.
    pub fn new(kek: &[u8; 32]) -> Self {
        BatchKek {
            cipher: Aes256::new(&(*kek).into()),
            #[cfg(target_arch = "x86_64")]
            x86: x86::RoundKeys::new(kek),
        }
    }
}

impl Drop for BatchKek {
    fn drop(&mut self) {
        // `Aes256` zeroizes its own round keys on drop (the `zeroize` feature).
        #[cfg(target_arch = "x86_64")]
        self.x86.zeroize();
    }
}

impl ZeroizeOnDrop for BatchKek {}

impl core::fmt::Debug for BatchKek {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("BatchKek(<redacted>)")
    }
}

/// One key in flight: the integrity register `A` and the four semiblocks
/// `R[1..=4]`, each as the little-endian reading of its 8 bytes (so a word's
/// bytes in memory order are the semiblock's bytes).
#[derive(Clone, Copy, Default, Zeroize)]
struct KeyState {
    a: u64,
    r: [u64; N],
}

impl KeyState {
    fn from_key(iv: u64, key: &[u8; KEY_LEN]) -> Self {
        let mut r = [0; N];
        for (w, c) in r.iter_mut().zip(key.as_chunks::<8>().0) {
            *w = u64::from_le_bytes(*c);
        }
        KeyState { a: iv, r }
    }

    fn from_wrapped(wrapped: &[u8; WRAPPED_LEN]) -> Self {
        let mut s = KeyState::default();
        let words = core::iter::once(&mut s.a).chain(s.r.iter_mut());
        for (w, c) in words.zip(wrapped.as_chunks::<8>().0) {
            *w = u64::from_le_bytes(*c);
        }
        s
    }

    /// The wrap `A | R[1] | .. | R[4]`, every byte ANDed with `mask`.
    fn write_wrapped(&self, mask: u64, out: &mut [u8; WRAPPED_LEN]) {
        let words = core::iter::once(&self.a).chain(self.r.iter());
        for (c, w) in out.as_chunks_mut::<8>().0.iter_mut().zip(words) {
            *c = (w & mask).to_le_bytes();
        }
    }

    /// The key `R[1] | .. | R[4]`, every byte ANDed with `mask`.
    fn write_key(&self, mask: u64, out: &mut [u8; KEY_LEN]) {
        for (c, w) in out.as_chunks_mut::<8>().0.iter_mut().zip(&self.r) {
            *c = (w & mask).to_le_bytes();
        }
    }
}

/// The step counter `t` of RFC 3394 (1-based, `t = n*j + i`) for round `j`
/// (0..6) and semiblock `i` (0..4), as the word of its 8 big-endian bytes.
fn step_word(j: usize, i: usize) -> u64 {
    let t = (N * j + i + 1) as u64;
    u64::from_le_bytes(t.to_be_bytes())
}

/// All ones if `a == b`, else zero, with no branch on the values.
fn ct_eq_mask(a: u64, b: u64) -> u64 {
    let d = core::hint::black_box(a ^ b);
    ((d | d.wrapping_neg()) >> 63).wrapping_sub(1)
}

/// An implementation of the batched primitive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// Safe code over the `aes` crate's block API (itself accelerated where
    /// the CPU allows); available everywhere.
    Portable,
    /// AES-NI intrinsics, 128-bit registers, 8 keys in flight.
    AesNi,
    /// VAES intrinsics on 256-bit registers (AVX2), 2 keys per register.
    Vaes256,
    /// VAES intrinsics on 512-bit registers (AVX-512F), 4 keys per register.
    Vaes512,
}

impl Backend {
    /// Every backend, fastest-first on the machines measured (see the module docs).
    pub const ALL: [Backend; 4] = [
        Backend::Vaes256,
        Backend::Vaes512,
        Backend::AesNi,
        Backend::Portable,
    ];

    /// The backend's name, as accepted by [`BACKEND_ENV`].
    pub fn name(self) -> &'static str {
        match self {
            Backend::Portable => "portable",
            Backend::AesNi => "aesni",
            Backend::Vaes256 => "vaes256",
            Backend::Vaes512 => "vaes512",
        }
    }

    /// Parses a backend name.
    pub fn from_name(name: &str) -> Option<Backend> {
        Backend::ALL.into_iter().find(|b| b.name() == name)
    }

    /// Whether this CPU has what the backend needs (checked at run time).
    pub fn is_available(self) -> bool {
        match self {
            Backend::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Backend::AesNi => x86::aesni::detected(),
            #[cfg(target_arch = "x86_64")]
            Backend::Vaes256 => x86::vaes256::detected(),
            #[cfg(target_arch = "x86_64")]
            Backend::Vaes512 => x86::vaes512::detected(),
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The backends this CPU can run, fastest first.
    pub fn available() -> impl Iterator<Item = Backend> {
        Backend::ALL.into_iter().filter(|b| b.is_available())
    }

    /// The backend the plain functions ([`wrap_batch`] etc.) use: the one named
    /// by [`BACKEND_ENV`] if it is set to an available backend, otherwise the
    /// fastest available. Decided once per process.
    pub fn selected() -> Backend {
        static SELECTED: OnceLock<Backend> = OnceLock::new();
        *SELECTED.get_or_init(|| {
            std::env::var(BACKEND_ENV)
                .ok()
                .and_then(|name| Backend::from_name(name.trim()))
                .filter(|b| b.is_available())
                .or_else(|| Backend::available().next())
                .unwrap_or(Backend::Portable)
        })
    }

    fn check_available(self, kek: &BatchKek) -> Result<()> {
        #[cfg(target_arch = "x86_64")]
        let has_keys = self == Backend::Portable || kek.x86.is_some();
        #[cfg(not(target_arch = "x86_64"))]
        let has_keys = {
            let _ = kek;
            self == Backend::Portable
        };
        if self.is_available() && has_keys {
            Ok(())
        } else {
            Err(Error::invalid(
                "fastkw backend",
                format!("{} is not available on this CPU", self.name()),
            ))
        }
    }

    /// [`wrap_batch`] on this backend; an error if it is not available here.
    pub fn wrap_batch(
        self,
        kek: &BatchKek,
        mode: Mode,
        keys: &[[u8; KEY_LEN]],
        out: &mut [[u8; WRAPPED_LEN]],
    ) -> Result<()> {
        check_lens("wrap_batch output", keys.len(), &[out.len()])?;
        self.check_available(kek)?;
        let mut states = [KeyState::default(); CHUNK];
        for (keys, out) in keys.chunks(CHUNK).zip(out.chunks_mut(CHUNK)) {
            let states = &mut states[..keys.len()];
            for (s, k) in states.iter_mut().zip(keys) {
                *s = KeyState::from_key(mode.iv_word(), k);
            }
            self.forward(kek, states);
            for (s, o) in states.iter().zip(out) {
                s.write_wrapped(u64::MAX, o);
            }
        }
        states.zeroize();
        Ok(())
    }

    /// [`unwrap_batch`] on this backend; an error if it is not available here.
    pub fn unwrap_batch(
        self,
        kek: &BatchKek,
        mode: Mode,
        wrapped: &[[u8; WRAPPED_LEN]],
        out: &mut [[u8; KEY_LEN]],
        ok: &mut [bool],
    ) -> Result<()> {
        let checked = check_lens("unwrap_batch output", wrapped.len(), &[out.len(), ok.len()])
            .and(self.check_available(kek));
        if let Err(e) = checked {
            out.iter_mut().for_each(Zeroize::zeroize);
            ok.fill(false);
            return Err(e);
        }
        let mut states = [KeyState::default(); CHUNK];
        let chunks = wrapped
            .chunks(CHUNK)
            .zip(out.chunks_mut(CHUNK))
            .zip(ok.chunks_mut(CHUNK));
        for ((wrapped, out), ok) in chunks {
            let states = &mut states[..wrapped.len()];
            for (s, w) in states.iter_mut().zip(wrapped) {
                *s = KeyState::from_wrapped(w);
            }
            self.inverse(kek, states);
            for ((s, o), ok) in states.iter().zip(out).zip(ok) {
                let mask = ct_eq_mask(s.a, mode.iv_word());
                s.write_key(mask, o);
                *ok = mask != 0;
            }
        }
        states.zeroize();
        Ok(())
    }

    /// [`rewrap_batch`] on this backend; an error if it is not available here.
    pub fn rewrap_batch(
        self,
        from: &BatchKek,
        to: &BatchKek,
        mode: Mode,
        wrapped_in: &[[u8; WRAPPED_LEN]],
        wrapped_out: &mut [[u8; WRAPPED_LEN]],
        ok: &mut [bool],
    ) -> Result<()> {
        let checked = check_lens(
            "rewrap_batch output",
            wrapped_in.len(),
            &[wrapped_out.len(), ok.len()],
        )
        .and(self.check_available(from))
        .and(self.check_available(to));
        if let Err(e) = checked {
            wrapped_out.iter_mut().for_each(Zeroize::zeroize);
            ok.fill(false);
            return Err(e);
        }
        let iv = mode.iv_word();
        let mut states = [KeyState::default(); CHUNK];
        let mut masks = [0u64; CHUNK];
        let chunks = wrapped_in
            .chunks(CHUNK)
            .zip(wrapped_out.chunks_mut(CHUNK))
            .zip(ok.chunks_mut(CHUNK));
        for ((wrapped_in, wrapped_out), ok) in chunks {
            let states = &mut states[..wrapped_in.len()];
            for (s, w) in states.iter_mut().zip(wrapped_in) {
                *s = KeyState::from_wrapped(w);
            }
            self.inverse(from, states);
            for (s, m) in states.iter_mut().zip(masks.iter_mut()) {
                *m = ct_eq_mask(s.a, iv);
                s.a = iv;
            }
            self.forward(to, states);
            for ((s, m), (o, ok)) in states
                .iter()
                .zip(&masks)
                .zip(wrapped_out.iter_mut().zip(ok))
            {
                s.write_wrapped(*m, o);
                *ok = *m != 0;
            }
        }
        states.zeroize();
        Ok(())
    }

    /// Runs the 24 wrap steps (W) on every state. Availability was checked.
    fn forward(self, kek: &BatchKek, states: &mut [KeyState]) {
        match (self, kek_x86(kek)) {
            #[cfg(target_arch = "x86_64")]
            (Backend::AesNi, Some(keys)) if x86::aesni::detected() => {
                // SAFETY: `detected()` just confirmed every target feature the kernel is compiled for.
                unsafe { x86::aesni::wrap(keys, states) }
            }
            #[cfg(target_arch = "x86_64")]
            (Backend::Vaes256, Some(keys)) if x86::vaes256::detected() => {
                // SAFETY: `detected()` just confirmed every target feature the kernel is compiled for.
                unsafe { x86::vaes256::wrap(keys, states) }
            }
            #[cfg(target_arch = "x86_64")]
            (Backend::Vaes512, Some(keys)) if x86::vaes512::detected() => {
                // SAFETY: `detected()` just confirmed every target feature the kernel is compiled for.
                unsafe { x86::vaes512::wrap(keys, states) }
            }
            _ => kek.cipher.encrypt_with_backend(PortableWrap { states }),
        }
    }

    /// Runs the 24 unwrap steps (W⁻¹) on every state. Availability was checked.
    fn inverse(self, kek: &BatchKek, states: &mut [KeyState]) {
        match (self, kek_x86(kek)) {
            #[cfg(target_arch = "x86_64")]
            (Backend::AesNi, Some(keys)) if x86::aesni::detected() => {
                // SAFETY: `detected()` just confirmed every target feature the kernel is compiled for.
                unsafe { x86::aesni::unwrap(keys, states) }
            }
            #[cfg(target_arch = "x86_64")]
            (Backend::Vaes256, Some(keys)) if x86::vaes256::detected() => {
                // SAFETY: `detected()` just confirmed every target feature the kernel is compiled for.
                unsafe { x86::vaes256::unwrap(keys, states) }
            }
            #[cfg(target_arch = "x86_64")]
            (Backend::Vaes512, Some(keys)) if x86::vaes512::detected() => {
                // SAFETY: `detected()` just confirmed every target feature the kernel is compiled for.
                unsafe { x86::vaes512::unwrap(keys, states) }
            }
            _ => kek.cipher.decrypt_with_backend(PortableUnwrap { states }),
        }
    }
}

#[cfg(target_arch = "x86_64")]
fn kek_x86(kek: &BatchKek) -> Option<&x86::RoundKeys> {
    kek.x86.as_ref()
}

#[cfg(not(target_arch = "x86_64"))]
fn kek_x86(_kek: &BatchKek) -> Option<&()> {
    None
}

fn check_lens(what: &'static str, n: usize, others: &[usize]) -> Result<()> {
    match others.iter().find(|&&len| len != n) {
        None => Ok(()),
        Some(len) => Err(Error::invalid(
            what,
            format!("{len} slots for a batch of {n}"),
        )),
    }
}

/// The name of the backend the plain functions use ([`Backend::selected`]).
pub fn backend_name() -> &'static str {
    Backend::selected().name()
}

/// Wraps every key of `keys` under `kek` into the same slot of `out`,
/// byte-identical to `aes-kw`'s `KwAes256::wrap_key` (or `KwpAes256`).
///
/// Any batch size works; larger batches (16 or more) keep the AES units full.
/// Errors (and writes nothing) if `out` is not as long as `keys`.
pub fn wrap_batch(
    kek: &BatchKek,
    mode: Mode,
    keys: &[[u8; KEY_LEN]],
    out: &mut [[u8; WRAPPED_LEN]],
) -> Result<()> {
    Backend::selected().wrap_batch(kek, mode, keys, out)
}

/// Unwraps every wrap of `wrapped` under `kek` into the same slot of `out`,
/// setting `ok[i]` to whether wrap `i` authenticated.
///
/// Each key is checked on its own and in constant time: a wrap that fails sets
/// `ok[i] = false` and zeroes `out[i]`, and neither changes nor reveals anything
/// about the other keys of the batch. Under [`Mode::Kwp`] only a wrap of a
/// 32-byte key is accepted (`aes-kw` would also open a wrap of 25 to 31 bytes
/// padded to 40). If `out` or `ok` is not as long as `wrapped`, returns an
/// error with all of `out` zeroed and all of `ok` false.
pub fn unwrap_batch(
    kek: &BatchKek,
    mode: Mode,
    wrapped: &[[u8; WRAPPED_LEN]],
    out: &mut [[u8; KEY_LEN]],
    ok: &mut [bool],
) -> Result<()> {
    Backend::selected().unwrap_batch(kek, mode, wrapped, out, ok)
}

/// Unwraps every wrap of `wrapped_in` under `from` and wraps the key under
/// `to` into the same slot of `wrapped_out`, as [`unwrap_batch`] then
/// [`wrap_batch`] would, with per-key `ok` flags; a failed key leaves its
/// output slot zeroed. The plaintext keys exist only in a stack buffer of this
/// function (and the CPU's registers) and are zeroized before it returns.
pub fn rewrap_batch(
    from: &BatchKek,
    to: &BatchKek,
    mode: Mode,
    wrapped_in: &[[u8; WRAPPED_LEN]],
    wrapped_out: &mut [[u8; WRAPPED_LEN]],
    ok: &mut [bool],
) -> Result<()> {
    Backend::selected().rewrap_batch(from, to, mode, wrapped_in, wrapped_out, ok)
}

/// The AES block `A | R` (words as in [`KeyState`]).
fn to_block(a: u64, r: u64) -> [u8; 16] {
    (u128::from(r) << 64 | u128::from(a)).to_le_bytes()
}

/// The words `(MSB64, LSB64)` of an AES block.
fn from_block(b: [u8; 16]) -> (u64, u64) {
    let v = u128::from_le_bytes(b);
    (v as u64, (v >> 64) as u64)
}

/// The portable wrap: all 24 steps of every group inside one backend closure
/// of the `aes` crate, a group being the backend's parallel block count.
struct PortableWrap<'a> {
    states: &'a mut [KeyState],
}

impl BlockSizeUser for PortableWrap<'_> {
    type BlockSize = U16;
}

impl BlockCipherEncClosure for PortableWrap<'_> {
    fn call<B: BlockCipherEncBackend<BlockSize = U16>>(self, backend: &B) {
        let par = B::ParBlocksSize::USIZE;
        let mut blocks = ParBlocks::<B>::default();
        for group in self.states.chunks_mut(par) {
            // A group much smaller than the backend's width runs block by block
            // (the blocks are independent, so they still overlap in the CPU).
            let wide = par > 1 && group.len() * 4 >= par;
            for j in 0..6 {
                for i in 0..N {
                    for (b, s) in blocks.iter_mut().zip(group.iter()) {
                        *b = to_block(s.a, s.r[i]).into();
                    }
                    if wide {
                        backend.encrypt_par_blocks_inplace(&mut blocks);
                    } else {
                        blocks
                            .iter_mut()
                            .take(group.len())
                            .for_each(|b| backend.encrypt_block_inplace(b));
                    }
                    let t = step_word(j, i);
                    for (b, s) in blocks.iter().zip(group.iter_mut()) {
                        let (a, r) = from_block((*b).into());
                        s.a = a ^ t;
                        s.r[i] = r;
                    }
                }
            }
        }
        blocks
            .iter_mut()
            .for_each(|b: &mut Block<B>| b.as_mut_slice().zeroize());
    }
}

/// The portable unwrap: the inverse of [`PortableWrap`].
struct PortableUnwrap<'a> {
    states: &'a mut [KeyState],
}

impl BlockSizeUser for PortableUnwrap<'_> {
    type BlockSize = U16;
}

impl BlockCipherDecClosure for PortableUnwrap<'_> {
    fn call<B: BlockCipherDecBackend<BlockSize = U16>>(self, backend: &B) {
        let par = B::ParBlocksSize::USIZE;
        let mut blocks = ParBlocks::<B>::default();
        for group in self.states.chunks_mut(par) {
            let wide = par > 1 && group.len() * 4 >= par;
            for j in (0..6).rev() {
                for i in (0..N).rev() {
                    let t = step_word(j, i);
                    for (b, s) in blocks.iter_mut().zip(group.iter()) {
                        *b = to_block(s.a ^ t, s.r[i]).into();
                    }
                    if wide {
                        backend.decrypt_par_blocks_inplace(&mut blocks);
                    } else {
                        blocks
                            .iter_mut()
                            .take(group.len())
                            .for_each(|b| backend.decrypt_block_inplace(b));
                    }
                    for (b, s) in blocks.iter().zip(group.iter_mut()) {
                        (s.a, s.r[i]) = from_block((*b).into());
                    }
                }
            }
        }
        blocks
            .iter_mut()
            .for_each(|b: &mut Block<B>| b.as_mut_slice().zeroize());
    }
}

/// `core::arch::x86_64` kernels. Each submodule is one register width; the
/// step loops are shared through the `kernels!` macro.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use core::arch::x86_64::*;

    use zeroize::Zeroize;

    /// AES-256 round keys as `[lo, hi]` words: encryption, and decryption in
    /// the order of the equivalent inverse cipher (`aesdec`).
    #[derive(Zeroize)]
    pub(super) struct RoundKeys {
        pub(super) enc: [[u64; 2]; 15],
        pub(super) dec: [[u64; 2]; 15],
    }

    impl RoundKeys {
        /// Expands `kek` with AES-NI; `None` on a CPU without it.
        pub(super) fn new(kek: &[u8; 32]) -> Option<Self> {
            if !(std::arch::is_x86_feature_detected!("aes")
                && std::arch::is_x86_feature_detected!("sse4.1"))
            {
                return None;
            }
            // SAFETY: the two features `expand` is compiled for were detected just above.
            Some(unsafe { expand(kek) })
        }
    }

    #[target_feature(enable = "aes,sse4.1")]
    fn words(v: __m128i) -> [u64; 2] {
        [
            _mm_cvtsi128_si64(v) as u64,
            _mm_extract_epi64::<1>(v) as u64,
        ]
    }

    #[target_feature(enable = "aes,sse4.1")]
    fn from_words(w: [u64; 2]) -> __m128i {
        _mm_set_epi64x(w[1] as i64, w[0] as i64)
    }

    /// `x ^ x<<32 ^ x<<64 ^ x<<96`: the running XOR of the key schedule.
    #[target_feature(enable = "aes,sse4.1")]
    fn spread(x: __m128i) -> __m128i {
        let x = _mm_xor_si128(x, _mm_slli_si128::<4>(x));
        _mm_xor_si128(x, _mm_slli_si128::<8>(x))
    }

    #[target_feature(enable = "aes,sse4.1")]
    fn even_round<const RCON: i32>(prev2: __m128i, prev: __m128i) -> __m128i {
        let t = _mm_shuffle_epi32::<0xff>(_mm_aeskeygenassist_si128::<RCON>(prev));
        _mm_xor_si128(spread(prev2), t)
    }

    #[target_feature(enable = "aes,sse4.1")]
    fn odd_round(prev2: __m128i, prev: __m128i) -> __m128i {
        let t = _mm_shuffle_epi32::<0xaa>(_mm_aeskeygenassist_si128::<0>(prev));
        _mm_xor_si128(spread(prev2), t)
    }

    /// FIPS 197 §5.2 key expansion for AES-256.
    #[target_feature(enable = "aes,sse4.1")]
    fn expand(kek: &[u8; 32]) -> RoundKeys {
        let mut w = [0u64; 4];
        for (w, c) in w.iter_mut().zip(kek.as_chunks::<8>().0) {
            *w = u64::from_le_bytes(*c);
        }
        let mut rk = [_mm_setzero_si128(); 15];
        rk[0] = from_words([w[0], w[1]]);
        rk[1] = from_words([w[2], w[3]]);
        rk[2] = even_round::<0x01>(rk[0], rk[1]);
        rk[3] = odd_round(rk[1], rk[2]);
        rk[4] = even_round::<0x02>(rk[2], rk[3]);
        rk[5] = odd_round(rk[3], rk[4]);
        rk[6] = even_round::<0x04>(rk[4], rk[5]);
        rk[7] = odd_round(rk[5], rk[6]);
        rk[8] = even_round::<0x08>(rk[6], rk[7]);
        rk[9] = odd_round(rk[7], rk[8]);
        rk[10] = even_round::<0x10>(rk[8], rk[9]);
        rk[11] = odd_round(rk[9], rk[10]);
        rk[12] = even_round::<0x20>(rk[10], rk[11]);
        rk[13] = odd_round(rk[11], rk[12]);
        rk[14] = even_round::<0x40>(rk[12], rk[13]);
        let mut keys = RoundKeys {
            enc: [[0; 2]; 15],
            dec: [[0; 2]; 15],
        };
        for (r, k) in rk.iter().enumerate() {
            keys.enc[r] = words(*k);
            keys.dec[14 - r] = if r == 0 || r == 14 {
                words(*k)
            } else {
                words(_mm_aesimc_si128(*k))
            };
        }
        w.zeroize();
        rk.zeroize();
        keys
    }

    /// The W and W⁻¹ loops of RFC 3394 for 32-byte keys, over any register
    /// width. The invoking module provides `V` (the register), `W` (keys per
    /// register), `detected()`, and the `#[inline]` helpers `zero`, `splat`,
    /// `pack`, `lo_words`, `hi_words`, `blend_hi`, `xor`, `enc`, `enc_last`,
    /// `dec`, `dec_last`, all compiled for `$feat`.
    ///
    /// One register holds `W` keys' current blocks. Per key the state is the
    /// last AES output (`cur`, whose low half is `A`) and one register per
    /// semiblock whose high half is `R[i]`; the next input is
    /// `blend(cur, slot[i])`. The step counter `t` is folded into the last
    /// round key when wrapping and into the first when unwrapping, so a step
    /// costs the 15 AES instructions and one blend.
    macro_rules! kernels {
        ($feat:literal, $p_max:literal) => {
            /// Registers in flight per group (`P_MAX * W` keys), chosen by measurement.
            const P_MAX: usize = $p_max;

            /// W on every state, in groups of up to `P_MAX * W` keys.
            #[target_feature(enable = $feat)]
            pub(in crate::fastkw) fn wrap(keys: &RoundKeys, states: &mut [KeyState]) {
                for group in states.chunks_mut(P_MAX * W) {
                    match group.len().div_ceil(W) {
                        1 => wrap_group::<1>(keys, group),
                        2 => wrap_group::<2>(keys, group),
                        3..=4 => wrap_group::<4>(keys, group),
                        _ => wrap_group::<P_MAX>(keys, group),
                    }
                }
            }

            /// W⁻¹ on every state, in groups of up to `P_MAX * W` keys.
            #[target_feature(enable = $feat)]
            pub(in crate::fastkw) fn unwrap(keys: &RoundKeys, states: &mut [KeyState]) {
                for group in states.chunks_mut(P_MAX * W) {
                    match group.len().div_ceil(W) {
                        1 => unwrap_group::<1>(keys, group),
                        2 => unwrap_group::<2>(keys, group),
                        3..=4 => unwrap_group::<4>(keys, group),
                        _ => unwrap_group::<P_MAX>(keys, group),
                    }
                }
            }

            /// Loads up to `P * W` states (missing lanes are zero) into `cur` and `slot`.
            #[inline]
            #[target_feature(enable = $feat)]
            fn gather<const P: usize>(
                group: &[KeyState],
                cur: &mut [V; P],
                slot: &mut [[V; N]; P],
            ) {
                for (p, (cur, slot)) in cur.iter_mut().zip(slot.iter_mut()).enumerate() {
                    let mut a = [0u64; W];
                    let mut r = [[0u64; W]; N];
                    for (l, s) in group.iter().skip(p * W).take(W).enumerate() {
                        a[l] = s.a;
                        for i in 0..N {
                            r[i][l] = s.r[i];
                        }
                    }
                    *cur = pack(a, [0; W]);
                    for (slot, r) in slot.iter_mut().zip(&r) {
                        *slot = pack([0; W], *r);
                    }
                    a.zeroize();
                    r.zeroize();
                }
            }

            /// Stores `cur` and `slot` back into the states they came from.
            #[inline]
            #[target_feature(enable = $feat)]
            fn scatter<const P: usize>(group: &mut [KeyState], cur: &[V; P], slot: &[[V; N]; P]) {
                for (p, (cur, slot)) in cur.iter().zip(slot.iter()).enumerate() {
                    let a = lo_words(*cur);
                    let mut r = [[0u64; W]; N];
                    for (r, slot) in r.iter_mut().zip(slot) {
                        *r = hi_words(*slot);
                    }
                    for (l, s) in group.iter_mut().skip(p * W).take(W).enumerate() {
                        s.a = a[l];
                        for i in 0..N {
                            s.r[i] = r[i][l];
                        }
                    }
                    r.zeroize();
                }
            }

            #[target_feature(enable = $feat)]
            fn wrap_group<const P: usize>(keys: &RoundKeys, group: &mut [KeyState]) {
                let mut rk = [zero(); 15];
                for (rk, k) in rk.iter_mut().zip(&keys.enc) {
                    *rk = splat(*k);
                }
                let mut cur = [zero(); P];
                let mut slot = [[zero(); N]; P];
                let mut x = [zero(); P];
                gather(group, &mut cur, &mut slot);
                for j in 0..6 {
                    for i in 0..N {
                        // The last round key XOR t: the AES output is then
                        // already (MSB64(B) ^ t) | LSB64(B) = A | R[i].
                        let last = xor(rk[14], splat([step_word(j, i), 0]));
                        for p in 0..P {
                            x[p] = xor(blend_hi(cur[p], slot[p][i]), rk[0]);
                        }
                        for k in &rk[1..14] {
                            for x in x.iter_mut() {
                                *x = enc(*x, *k);
                            }
                        }
                        for p in 0..P {
                            let b = enc_last(x[p], last);
                            cur[p] = b;
                            slot[p][i] = b;
                        }
                    }
                }
                scatter(group, &cur, &slot);
                cur.zeroize();
                slot.zeroize();
                x.zeroize();
                rk.zeroize();
            }

            #[target_feature(enable = $feat)]
            fn unwrap_group<const P: usize>(keys: &RoundKeys, group: &mut [KeyState]) {
                let mut rk = [zero(); 15];
                for (rk, k) in rk.iter_mut().zip(&keys.dec) {
                    *rk = splat(*k);
                }
                let mut cur = [zero(); P];
                let mut slot = [[zero(); N]; P];
                let mut x = [zero(); P];
                gather(group, &mut cur, &mut slot);
                for j in (0..6).rev() {
                    for i in (0..N).rev() {
                        // The first round key XOR t: AES⁻¹ of (A ^ t) | R[i].
                        let first = xor(rk[0], splat([step_word(j, i), 0]));
                        for p in 0..P {
                            x[p] = xor(blend_hi(cur[p], slot[p][i]), first);
                        }
                        for k in &rk[1..14] {
                            for x in x.iter_mut() {
                                *x = dec(*x, *k);
                            }
                        }
                        for p in 0..P {
                            let b = dec_last(x[p], rk[14]);
                            cur[p] = b;
                            slot[p][i] = b;
                        }
                    }
                }
                scatter(group, &cur, &slot);
                cur.zeroize();
                slot.zeroize();
                x.zeroize();
                rk.zeroize();
            }

            // `load` and `store` move exactly one register's worth of blocks.
            const _: () = assert!(core::mem::size_of::<V>() == 16 * W);

            /// AES-256 encryption of independent blocks (ECB), `P_MAX * W` at
            /// a time: the throughput ceiling of this register width.
            #[target_feature(enable = $feat)]
            pub(in crate::fastkw) fn encrypt_blocks(keys: &RoundKeys, blocks: &mut [[u8; 16]]) {
                let mut rk = [zero(); 15];
                for (rk, k) in rk.iter_mut().zip(&keys.enc) {
                    *rk = splat(*k);
                }
                let (regs, tail) = blocks.as_chunks_mut::<W>();
                let (groups, rest) = regs.as_chunks_mut::<P_MAX>();
                for group in groups {
                    encrypt_regs(&rk, group);
                }
                for reg in rest {
                    encrypt_regs(&rk, core::array::from_mut(reg));
                }
                if !tail.is_empty() {
                    let mut reg = [[0u8; 16]; W];
                    for (d, s) in reg.iter_mut().zip(tail.iter()) {
                        *d = *s;
                    }
                    encrypt_regs(&rk, core::array::from_mut(&mut reg));
                    for (d, s) in tail.iter_mut().zip(reg.iter()) {
                        *d = *s;
                    }
                }
                rk.zeroize();
            }

            #[inline]
            #[target_feature(enable = $feat)]
            fn encrypt_regs<const P: usize>(rk: &[V; 15], regs: &mut [[[u8; 16]; W]; P]) {
                let mut x = [zero(); P];
                for (x, r) in x.iter_mut().zip(regs.iter()) {
                    *x = xor(load(r), rk[0]);
                }
                for k in &rk[1..14] {
                    for x in x.iter_mut() {
                        *x = enc(*x, *k);
                    }
                }
                for (x, r) in x.iter().zip(regs.iter_mut()) {
                    store(enc_last(*x, rk[14]), r);
                }
            }
        };
    }

    /// AES-NI on 128-bit registers: one key per register.
    pub(super) mod aesni {
        use core::arch::x86_64::*;

        use zeroize::Zeroize;

        use super::super::{KeyState, N, step_word};
        use super::RoundKeys;

        type V = __m128i;
        const W: usize = 1;

        /// Whether the CPU has every feature the kernels are compiled for.
        pub(in crate::fastkw) fn detected() -> bool {
            std::arch::is_x86_feature_detected!("aes")
                && std::arch::is_x86_feature_detected!("sse4.1")
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
        fn pack(lo: [u64; W], hi: [u64; W]) -> V {
            _mm_set_epi64x(hi[0] as i64, lo[0] as i64)
        }
        #[inline]
        #[target_feature(enable = "aes,sse4.1")]
        fn lo_words(v: V) -> [u64; W] {
            [_mm_cvtsi128_si64(v) as u64]
        }
        #[inline]
        #[target_feature(enable = "aes,sse4.1")]
        fn hi_words(v: V) -> [u64; W] {
            [_mm_extract_epi64::<1>(v) as u64]
        }
        /// Low 64 bits of `a`, high 64 bits of `b`.
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

        /// One register's worth of blocks, from memory.
        #[inline]
        #[target_feature(enable = "aes,sse4.1")]
        fn load(b: &[[u8; 16]; W]) -> V {
            // SAFETY: `b` is `16 * W` readable bytes, the size of `V` (asserted
            // in `kernels!`), and the unaligned load has no alignment requirement.
            unsafe { _mm_loadu_si128(b.as_ptr().cast()) }
        }
        /// One register's worth of blocks, to memory.
        #[inline]
        #[target_feature(enable = "aes,sse4.1")]
        fn store(v: V, b: &mut [[u8; 16]; W]) {
            // SAFETY: `b` is `16 * W` writable bytes, the size of `V` (asserted
            // in `kernels!`), and the unaligned store has no alignment requirement.
            unsafe { _mm_storeu_si128(b.as_mut_ptr().cast(), v) }
        }

        kernels!("aes,sse4.1", 8);
    }

    /// VAES on 256-bit registers: two keys per register.
    pub(super) mod vaes256 {
        use core::arch::x86_64::*;

        use zeroize::Zeroize;

        use super::super::{KeyState, N, step_word};
        use super::RoundKeys;

        type V = __m256i;
        const W: usize = 2;

        /// Whether the CPU has every feature the kernels are compiled for.
        pub(in crate::fastkw) fn detected() -> bool {
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
            _mm256_set_epi64x(k[1] as i64, k[0] as i64, k[1] as i64, k[0] as i64)
        }
        #[inline]
        #[target_feature(enable = "aes,vaes,avx2")]
        fn pack(lo: [u64; W], hi: [u64; W]) -> V {
            _mm256_set_epi64x(hi[1] as i64, lo[1] as i64, hi[0] as i64, lo[0] as i64)
        }
        #[inline]
        #[target_feature(enable = "aes,vaes,avx2")]
        fn lo_words(v: V) -> [u64; W] {
            [
                _mm256_extract_epi64::<0>(v) as u64,
                _mm256_extract_epi64::<2>(v) as u64,
            ]
        }
        #[inline]
        #[target_feature(enable = "aes,vaes,avx2")]
        fn hi_words(v: V) -> [u64; W] {
            [
                _mm256_extract_epi64::<1>(v) as u64,
                _mm256_extract_epi64::<3>(v) as u64,
            ]
        }
        /// Low 64 bits of each 128-bit lane of `a`, high 64 bits of `b`.
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

        /// One register's worth of blocks, from memory.
        #[inline]
        #[target_feature(enable = "aes,vaes,avx2")]
        fn load(b: &[[u8; 16]; W]) -> V {
            // SAFETY: `b` is `16 * W` readable bytes, the size of `V` (asserted
            // in `kernels!`), and the unaligned load has no alignment requirement.
            unsafe { _mm256_loadu_si256(b.as_ptr().cast()) }
        }
        /// One register's worth of blocks, to memory.
        #[inline]
        #[target_feature(enable = "aes,vaes,avx2")]
        fn store(v: V, b: &mut [[u8; 16]; W]) {
            // SAFETY: `b` is `16 * W` writable bytes, the size of `V` (asserted
            // in `kernels!`), and the unaligned store has no alignment requirement.
            unsafe { _mm256_storeu_si256(b.as_mut_ptr().cast(), v) }
        }

        kernels!("aes,vaes,avx2", 8);
    }

    /// VAES on 512-bit registers: four keys per register.
    pub(super) mod vaes512 {
        use core::arch::x86_64::*;

        use zeroize::Zeroize;

        use super::super::{KeyState, N, step_word};
        use super::RoundKeys;

        type V = __m512i;
        const W: usize = 4;

        /// Whether the CPU has every feature the kernels are compiled for.
        pub(in crate::fastkw) fn detected() -> bool {
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
        fn pack(lo: [u64; W], hi: [u64; W]) -> V {
            _mm512_set_epi64(
                hi[3] as i64,
                lo[3] as i64,
                hi[2] as i64,
                lo[2] as i64,
                hi[1] as i64,
                lo[1] as i64,
                hi[0] as i64,
                lo[0] as i64,
            )
        }
        #[inline]
        #[target_feature(enable = "aes,vaes,avx512f")]
        fn lanes(v: V) -> [__m128i; 4] {
            [
                _mm512_extracti32x4_epi32::<0>(v),
                _mm512_extracti32x4_epi32::<1>(v),
                _mm512_extracti32x4_epi32::<2>(v),
                _mm512_extracti32x4_epi32::<3>(v),
            ]
        }
        #[inline]
        #[target_feature(enable = "aes,vaes,avx512f")]
        fn lo_words(v: V) -> [u64; W] {
            let l = lanes(v);
            [
                _mm_cvtsi128_si64(l[0]) as u64,
                _mm_cvtsi128_si64(l[1]) as u64,
                _mm_cvtsi128_si64(l[2]) as u64,
                _mm_cvtsi128_si64(l[3]) as u64,
            ]
        }
        #[inline]
        #[target_feature(enable = "aes,vaes,avx512f")]
        fn hi_words(v: V) -> [u64; W] {
            let l = lanes(v);
            [
                _mm_extract_epi64::<1>(l[0]) as u64,
                _mm_extract_epi64::<1>(l[1]) as u64,
                _mm_extract_epi64::<1>(l[2]) as u64,
                _mm_extract_epi64::<1>(l[3]) as u64,
            ]
        }
        /// Low 64 bits of each 128-bit lane of `a`, high 64 bits of `b`.
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

        /// One register's worth of blocks, from memory.
        #[inline]
        #[target_feature(enable = "aes,vaes,avx512f")]
        fn load(b: &[[u8; 16]; W]) -> V {
            // SAFETY: `b` is `16 * W` readable bytes, the size of `V` (asserted
            // in `kernels!`), and the unaligned load has no alignment requirement.
            unsafe { _mm512_loadu_si512(b.as_ptr().cast()) }
        }
        /// One register's worth of blocks, to memory.
        #[inline]
        #[target_feature(enable = "aes,vaes,avx512f")]
        fn store(v: V, b: &mut [[u8; 16]; W]) {
            // SAFETY: `b` is `16 * W` writable bytes, the size of `V` (asserted
            // in `kernels!`), and the unaligned store has no alignment requirement.
            unsafe { _mm512_storeu_si512(b.as_mut_ptr().cast(), v) }
        }

        kernels!("aes,vaes,avx512f", 8);
    }
}

/// Hooks for `benches/primitives.rs`; not part of the API.
#[doc(hidden)]
pub mod bench_support {
    use super::{Backend, BatchKek, Result};
    use aes::cipher::{Array, BlockCipherEncrypt};

    /// AES-256-encrypts independent blocks in place (ECB) on `backend`: the
    /// hardware ceiling a batched rewrap (48 blocks per key) is compared with.
    pub fn encrypt_blocks(kek: &BatchKek, backend: Backend, blocks: &mut [[u8; 16]]) -> Result<()> {
        backend.check_available(kek)?;
        match (backend, super::kek_x86(kek)) {
            #[cfg(target_arch = "x86_64")]
            (Backend::AesNi, Some(keys)) if super::x86::aesni::detected() => {
                // SAFETY: `detected()` just confirmed every target feature the kernel is compiled for.
                unsafe { super::x86::aesni::encrypt_blocks(keys, blocks) }
            }
            #[cfg(target_arch = "x86_64")]
            (Backend::Vaes256, Some(keys)) if super::x86::vaes256::detected() => {
                // SAFETY: `detected()` just confirmed every target feature the kernel is compiled for.
                unsafe { super::x86::vaes256::encrypt_blocks(keys, blocks) }
            }
            #[cfg(target_arch = "x86_64")]
            (Backend::Vaes512, Some(keys)) if super::x86::vaes512::detected() => {
                // SAFETY: `detected()` just confirmed every target feature the kernel is compiled for.
                unsafe { super::x86::vaes512::encrypt_blocks(keys, blocks) }
            }
            _ => kek
                .cipher
                .encrypt_blocks(Array::cast_slice_from_core_mut(blocks)),
        }
        Ok(())
    }
}

/// The body of the `fastkw` differential fuzz target; not part of the API.
#[doc(hidden)]
pub mod fuzz_support {
    use aes_kw::{KeyInit, KwAes256, KwpAes256};

    use super::{Backend, BatchKek, KEY_LEN, Mode, WRAPPED_LEN};

    /// Reads the fuzz input front to back; zeros once it runs out.
    struct Input<'a>(core::slice::Iter<'a, u8>);

    impl Input<'_> {
        fn byte(&mut self) -> u8 {
            self.0.next().copied().unwrap_or(0)
        }

        fn array<const L: usize>(&mut self) -> [u8; L] {
            core::array::from_fn(|_| self.byte())
        }
    }

    /// `aes-kw` wrap of `key` (any length KW or KWP accepts) under `kek`.
    fn reference_wrap(kek: &[u8; 32], mode: Mode, key: &[u8]) -> Vec<u8> {
        let mut out = vec![0; WRAPPED_LEN + 8];
        let len = match mode {
            Mode::Kw => KwAes256::new(&(*kek).into())
                .wrap_key(key, &mut out)
                .map(|w| w.len()),
            Mode::Kwp => KwpAes256::new(&(*kek).into())
                .wrap_key(key, &mut out)
                .map(|w| w.len()),
        };
        out.truncate(len.expect("aes-kw wraps every key length this target makes"));
        out
    }

    /// `aes-kw`'s verdict on a 40-byte wrap, as the batch API defines it: the
    /// key if it authenticates and is 32 bytes long.
    fn reference_unwrap(
        kek: &[u8; 32],
        mode: Mode,
        wrapped: &[u8; WRAPPED_LEN],
    ) -> Option<[u8; KEY_LEN]> {
        let mut out = [0; KEY_LEN];
        let opened = match mode {
            Mode::Kw => KwAes256::new(&(*kek).into())
                .unwrap_key(wrapped, &mut out)
                .map(|k| k.len()),
            Mode::Kwp => KwpAes256::new(&(*kek).into())
                .unwrap_key(wrapped, &mut out)
                .map(|k| k.len()),
        };
        (opened == Ok(KEY_LEN)).then_some(out)
    }

    fn to_wrapped(bytes: &[u8]) -> [u8; WRAPPED_LEN] {
        let mut w = [0; WRAPPED_LEN];
        for (d, s) in w.iter_mut().zip(bytes) {
            *d = *s;
        }
        w
    }

    /// Arbitrary bytes -> two KEKs, a mode, a batch of keys and a batch of
    /// wraps (valid, bit-flipped, under the other KEK or mode, of a shorter key,
    /// or raw bytes). Asserts that every available backend wraps, unwraps and
    /// rewraps exactly as `aes-kw` does, key by key, flags included.
    pub fn differential(data: &[u8]) {
        let mut input = Input(data.iter());
        let kek_a: [u8; 32] = input.array();
        let kek_b: [u8; 32] = input.array();
        let flags = input.byte();
        let mode = if flags & 1 == 0 { Mode::Kw } else { Mode::Kwp };
        let other_mode = if mode == Mode::Kw {
            Mode::Kwp
        } else {
            Mode::Kw
        };
        let n = if flags & 2 == 0 {
            1 + usize::from(input.byte() % 80)
        } else {
            1 + usize::from(u16::from_le_bytes(input.array()) % 600)
        };

        let keys: Vec<[u8; KEY_LEN]> = (0..n)
            .map(|k| {
                let mut key: [u8; KEY_LEN] = input.array();
                for (b, i) in key.iter_mut().zip(k.to_le_bytes()) {
                    *b ^= i;
                }
                key
            })
            .collect();
        let expected_wraps: Vec<[u8; WRAPPED_LEN]> = keys
            .iter()
            .map(|k| to_wrapped(&reference_wrap(&kek_a, mode, k)))
            .collect();

        let wrapped: Vec<[u8; WRAPPED_LEN]> = expected_wraps
            .iter()
            .zip(&keys)
            .map(|(w, key)| match input.byte() % 10 {
                5 => {
                    let mut w = *w;
                    let at = input.byte();
                    if let Some(b) = w.get_mut(usize::from(at) % WRAPPED_LEN) {
                        *b ^= 1 << (at % 8);
                    }
                    w
                }
                6 => to_wrapped(&reference_wrap(&kek_b, mode, key)),
                7 => to_wrapped(&reference_wrap(&kek_a, other_mode, key)),
                // A KWP wrap of 25..=31 bytes is 40 bytes too: aes-kw opens it
                // as a shorter key; the 32-byte batch API must refuse it.
                8 => {
                    let len = 25 + usize::from(input.byte() % 7);
                    to_wrapped(&reference_wrap(
                        &kek_a,
                        Mode::Kwp,
                        key.get(..len).unwrap_or(key),
                    ))
                }
                9 => input.array(),
                _ => *w,
            })
            .collect();
        let expected_keys: Vec<Option<[u8; KEY_LEN]>> = wrapped
            .iter()
            .map(|w| reference_unwrap(&kek_a, mode, w))
            .collect();
        let expected_rewraps: Vec<[u8; WRAPPED_LEN]> = expected_keys
            .iter()
            .map(|k| {
                k.map_or([0; WRAPPED_LEN], |k| {
                    to_wrapped(&reference_wrap(&kek_b, mode, &k))
                })
            })
            .collect();

        let a = BatchKek::new(&kek_a);
        let b = BatchKek::new(&kek_b);
        for backend in Backend::available() {
            let name = backend.name();
            let mut out = vec![[0xEE; WRAPPED_LEN]; n];
            backend
                .wrap_batch(&a, mode, &keys, &mut out)
                .expect("lengths match");
            assert!(
                out == expected_wraps,
                "{name}: wrap differs from aes-kw ({mode:?}, n = {n})"
            );

            let mut opened = vec![[0xEE; KEY_LEN]; n];
            let mut ok = vec![true; n];
            backend
                .unwrap_batch(&a, mode, &wrapped, &mut opened, &mut ok)
                .expect("lengths match");
            for (i, (expected, (got, ok))) in
                expected_keys.iter().zip(opened.iter().zip(&ok)).enumerate()
            {
                assert_eq!(
                    *ok,
                    expected.is_some(),
                    "{name}: verdict on key {i} differs from aes-kw ({mode:?}, n = {n})"
                );
                assert!(
                    *got == expected.unwrap_or([0; KEY_LEN]),
                    "{name}: key {i} differs from aes-kw ({mode:?}, n = {n})"
                );
            }

            let mut rewrapped = vec![[0xEE; WRAPPED_LEN]; n];
            let mut ok2 = vec![true; n];
            backend
                .rewrap_batch(&a, &b, mode, &wrapped, &mut rewrapped, &mut ok2)
                .expect("lengths match");
            assert_eq!(ok2, ok, "{name}: rewrap verdicts differ from unwrap's");
            assert!(
                rewrapped == expected_rewraps,
                "{name}: rewrap differs from aes-kw ({mode:?}, n = {n})"
            );
        }
    }
}
