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
//! 32-byte keys, 40-byte wraps). [`crate::crypto::scheme`] stays the reference for
//! everything else.
//!
//! # Backends
//!
//! [`Backend::Portable`] is safe code over the `aes` crate (all 24 steps of a
//! group inside one `encrypt_with_backend` closure). The others use
//! `core::arch::x86_64` intrinsics and run only when run-time feature
//! detection finds the instructions: [`Backend::AesNi`] (8 keys in flight),
//! [`Backend::Vaes256`] (2 keys per 256-bit register, 16 in flight) and
//! [`Backend::Vaes512`] (4 keys per 512-bit register, 32 in flight).
//! [`Backend::selected`] picks the fastest available one; the environment
//! variable [`BACKEND_ENV`] forces any available backend by name.
//!
//! # Unsafe code
//!
//! This is the one module of the crate allowed `unsafe`: it calls
//! `#[target_feature]` kernels after checking the features at run time, and
//! moves 16-, 32- or 64-byte registers to and from arrays of exactly that
//! size. The kernels work on a slice of `KeyState` and reach it only through
//! iterators and bounds-checked accessors; every caller-supplied length is
//! checked in safe code first. A failed unwrap is decided per key in constant
//! time and zeroes that key's output only.
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
/// intrinsic backend's group size.
const CHUNK: usize = 64;
/// Environment variable that forces a backend by name (see [`Backend::selected`]).
pub const BACKEND_ENV: &str = "KEYHIER_FASTKW_BACKEND";

/// Receives unwrapped keys chunk by chunk: `(first, keys, ok)` for items
/// `first..first + keys.len()`, a failed key zeroed and its `ok` false.
pub type KeySink<'a> = dyn FnMut(usize, &[[u8; KEY_LEN]], &[bool]) -> Result<()> + 'a;

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
    /// The key, kept to build `cipher` on first use (most KEKs never need it).
    key: [u8; 32],
    /// Boxed: it is large, seldom built, and the struct is moved on creation.
    cipher: OnceLock<Box<Aes256>>,
    #[cfg(target_arch = "x86_64")]
    x86: Option<x86::RoundKeys>,
}

impl BatchKek {
    /// Expands `kek` into round keys. Build it once per KEK and reuse it.
    pub fn new(kek: &[u8; 32]) -> Self {
        BatchKek {
            key: *kek,
            cipher: OnceLock::new(),
            #[cfg(target_arch = "x86_64")]
            x86: x86::RoundKeys::new(kek),
        }
    }
}

impl BatchKek {
    /// The `aes` crate's cipher (the portable path), built on first use: its
    /// key schedule costs about as much as rewrapping a few keys, and the
    /// intrinsic backends never need it.
    fn cipher(&self) -> &Aes256 {
        self.cipher
            .get_or_init(|| Box::new(Aes256::new(&self.key.into())))
    }
}

impl Drop for BatchKek {
    fn drop(&mut self) {
        // `Aes256` zeroizes its own round keys on drop (the `zeroize` feature).
        self.key.zeroize();
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

/// One key in flight, laid out for 16-byte loads: `lanes[0]` is `A | R[1]`
/// and the high half of `lanes[i]` is `R[i + 1]` (a semiblock as the
/// little-endian reading of its 8 bytes; the low halves of `lanes[1..]` are
/// not read). `check` is the `A` an unwrap ended with, kept by a rewrap.
#[derive(Clone, Copy, Default, Zeroize)]
struct KeyState {
    lanes: [u128; N],
    check: u64,
}

const LOW: u128 = u64::MAX as u128;

impl KeyState {
    fn from_key(iv: u64, key: &[u8; KEY_LEN]) -> Self {
        let mut s = KeyState::default();
        for (i, r) in key.as_chunks::<8>().0.iter().enumerate() {
            s.set_r(i, u64::from_le_bytes(*r));
        }
        s.set_a(iv);
        s
    }

    fn from_wrapped(wrapped: &[u8; WRAPPED_LEN]) -> Self {
        let mut s = KeyState::default();
        for (i, lane) in s.lanes.iter_mut().enumerate() {
            let bytes = wrapped.get(8 * i..).and_then(<[u8]>::first_chunk::<16>);
            *lane = u128::from_le_bytes(bytes.copied().unwrap_or_default());
        }
        s
    }

    fn a(&self) -> u64 {
        self.lanes[0] as u64
    }

    fn set_a(&mut self, a: u64) {
        self.lanes[0] = (self.lanes[0] & !LOW) | u128::from(a);
    }

    /// `R[i + 1]`.
    fn r(&self, i: usize) -> u64 {
        self.lanes.get(i).map_or(0, |l| (l >> 64) as u64)
    }

    /// Sets `R[i + 1]`.
    fn set_r(&mut self, i: usize, r: u64) {
        if let Some(l) = self.lanes.get_mut(i) {
            *l = (*l & LOW) | (u128::from(r) << 64);
        }
    }

    /// The wrap `A | R[1] | .. | R[4]`, every byte ANDed with `mask`.
    fn write_wrapped(&self, mask: u64, out: &mut [u8; WRAPPED_LEN]) {
        for (i, c) in out.as_chunks_mut::<8>().0.iter_mut().enumerate() {
            let w = if i == 0 { self.a() } else { self.r(i - 1) };
            *c = (w & mask).to_le_bytes();
        }
    }

    /// The key `R[1] | .. | R[4]`, every byte ANDed with `mask`.
    fn write_key(&self, mask: u64, out: &mut [u8; KEY_LEN]) {
        for (i, c) in out.as_chunks_mut::<8>().0.iter_mut().enumerate() {
            *c = (self.r(i) & mask).to_le_bytes();
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

/// What a kernel does to a slice of states.
#[derive(Clone, Copy)]
enum Op<'a> {
    /// W under the KEK: a state goes from `IV, key` to the wrap.
    Wrap(&'a BatchKek),
    /// W⁻¹ under the KEK: a state goes from the wrap to `A, key`.
    Unwrap(&'a BatchKek),
    /// W⁻¹ under `from`, then W under `to` from `iv`: a state goes from one
    /// wrap to the other, and `check` receives the `A` the unwrap ended with.
    Rewrap {
        from: &'a BatchKek,
        to: &'a BatchKek,
        iv: u64,
    },
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
    /// Every backend, in the order [`Backend::selected`] prefers them.
    pub const ALL: [Backend; 4] = [
        Backend::Vaes512,
        Backend::Vaes256,
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

    /// The backends this CPU can run, in the order of [`Backend::ALL`].
    pub fn available() -> impl Iterator<Item = Backend> {
        Backend::ALL.into_iter().filter(|b| b.is_available())
    }

    /// The backend the plain functions ([`wrap_batch`] etc.) use: the one named
    /// by [`BACKEND_ENV`] if it is set to an available backend, otherwise the
    /// first available in [`Backend::ALL`]. Decided once per process.
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
        let iv = mode.iv_word();
        self.drive(
            Op::Wrap(kek),
            keys.len(),
            None,
            out,
            |_, first, states| {
                for (s, k) in states.iter_mut().zip(keys.iter().skip(first)) {
                    *s = KeyState::from_key(iv, k);
                }
                Ok(())
            },
            |out, first, states| {
                for (s, o) in states.iter().zip(out.iter_mut().skip(first)) {
                    s.write_wrapped(u64::MAX, o);
                }
                Ok(())
            },
        )
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
        let iv = mode.iv_word();
        self.drive(
            Op::Unwrap(kek),
            wrapped.len(),
            None,
            &mut (out, ok),
            |_, first, states| load_slice(wrapped, first, states),
            |(out, ok), first, states| {
                let slots = out.iter_mut().zip(ok.iter_mut()).skip(first);
                for (s, (o, ok)) in states.iter().zip(slots) {
                    let mask = ct_eq_mask(s.a(), iv);
                    s.write_key(mask, o);
                    *ok = mask != 0;
                }
                Ok(())
            },
        )
    }

    /// Unwraps the wraps at byte offsets `offs` of `arena` under `kek`, as
    /// [`Backend::unwrap_batch`] would, without copying them out first: in
    /// chunks, calling `sink(first, keys, ok)` with the keys and verdicts of
    /// items `first..first + keys.len()` (a failed key is zeroed). The keys
    /// live in a stack buffer zeroized before this returns. An offset whose
    /// wrap runs past the end of `arena` is an error before its chunk runs;
    /// an error from `sink` stops the run.
    pub fn unwrap_at(
        self,
        kek: &BatchKek,
        mode: Mode,
        arena: &[u8],
        offs: &[usize],
        sink: &mut KeySink<'_>,
    ) -> Result<()> {
        self.check_available(kek)?;
        let iv = mode.iv_word();
        let mut keys = [[0u8; KEY_LEN]; CHUNK];
        let mut ok = [false; CHUNK];
        let res = self.drive(
            Op::Unwrap(kek),
            offs.len(),
            Some((Span::of(arena), offs)),
            &mut (&mut keys, &mut ok),
            |_, first, states| load_arena(arena, offs, first, states),
            |(keys, ok), first, states| {
                for (s, (k, ok)) in states.iter().zip(keys.iter_mut().zip(ok.iter_mut())) {
                    let mask = ct_eq_mask(s.a(), iv);
                    s.write_key(mask, k);
                    *ok = mask != 0;
                }
                let n = states.len();
                sink(first, &keys[..n], &ok[..n])
            },
        );
        // as one byte slice: the bulk path, not a volatile write per byte
        keys.as_flattened_mut().zeroize();
        res
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
        self.drive(
            Op::Rewrap { from, to, iv },
            wrapped_in.len(),
            None,
            &mut (wrapped_out, ok),
            |_, first, states| load_slice(wrapped_in, first, states),
            |(out, ok), first, states| {
                let slots = out.iter_mut().zip(ok.iter_mut()).skip(first);
                for (s, (o, ok)) in states.iter().zip(slots) {
                    let mask = ct_eq_mask(s.check, iv);
                    s.write_wrapped(mask, o);
                    *ok = mask != 0;
                }
                Ok(())
            },
        )
    }

    /// Rewraps, in place, the wraps at byte offsets `offs` of `arena` from
    /// `from` to `to`, as [`Backend::rewrap_batch`] would, chunk by chunk and
    /// all or nothing per chunk: if a wrap of a chunk does not authenticate,
    /// that chunk is left as it was and `UnwrapFailed` returned (chunks before
    /// it stay rewrapped). An offset whose wrap runs past the end of `arena`
    /// is an error before its chunk runs.
    pub fn rewrap_at(
        self,
        from: &BatchKek,
        to: &BatchKek,
        mode: Mode,
        arena: &mut [u8],
        offs: &[usize],
    ) -> Result<()> {
        self.check_available(from)?;
        self.check_available(to)?;
        let iv = mode.iv_word();
        self.drive(
            Op::Rewrap { from, to, iv },
            offs.len(),
            Some((Span::of(arena), offs)),
            arena,
            |arena, first, states| load_arena(arena, offs, first, states),
            |arena, first, states| {
                // constant time per key; the all-or-nothing decision is per chunk
                let all = states
                    .iter()
                    .fold(u64::MAX, |m, s| m & ct_eq_mask(s.check, iv));
                if all == 0 {
                    return Err(Error::UnwrapFailed);
                }
                for (s, &o) in states.iter().zip(offs.iter().skip(first)) {
                    s.write_wrapped(u64::MAX, wrap_at_mut(arena, o)?);
                }
                Ok(())
            },
        )
    }

    /// The chunk loop of every batch: for each chunk of up to [`CHUNK`]
    /// items, `load(ctx, first, states)`, the kernel, `finish(ctx, first,
    /// states)`. The states are zeroized however it ends.
    fn drive<C: ?Sized>(
        self,
        op: Op<'_>,
        n: usize,
        arena: Option<(Span, &[usize])>,
        ctx: &mut C,
        mut load: impl FnMut(&C, usize, &mut [KeyState]) -> Result<()>,
        mut finish: impl FnMut(&mut C, usize, &[KeyState]) -> Result<()>,
    ) -> Result<()> {
        let mut states = [KeyState::default(); CHUNK];
        let mut run = || -> Result<()> {
            for first in (0..n).step_by(CHUNK) {
                let states = &mut states[..CHUNK.min(n - first)];
                load(ctx, first, states)?;
                // the next chunk's wraps come into the cache during this one's AES work
                match arena {
                    Some((span, offs)) => {
                        self.run(op, states, &mut Ahead::after(span, offs, first))
                    }
                    None => self.run(op, states, &mut NoHints),
                }
                finish(ctx, first, states)?;
            }
            Ok(())
        };
        let res = run();
        // Only the first `n` states ever held a key (a small batch uses a few).
        for s in &mut states[..n.min(CHUNK)] {
            // SAFETY: a `KeyState` is plain integers (all zeros is a valid
            // value), borrowed exclusively here; this zeroizes its bytes in
            // bulk rather than with one volatile write per field.
            unsafe { zeroize::zeroize_flat_type(s) };
        }
        res
    }

    /// Runs `op` on every state, on this backend if the CPU has it (checked
    /// by the caller, and again by the kernels), else on the portable path.
    fn run<H: Hints>(self, op: Op<'_>, states: &mut [KeyState], ahead: &mut H) {
        #[cfg(target_arch = "x86_64")]
        if let Some(op) = x86::Op::of(op) {
            let done = match self {
                Backend::AesNi => x86::aesni::run(op, states, ahead),
                Backend::Vaes256 => x86::vaes256::run(op, states, ahead),
                Backend::Vaes512 => x86::vaes512::run(op, states, ahead),
                Backend::Portable => false,
            };
            if done {
                return;
            }
        }
        ahead.all();
        portable(op, states);
    }
}

fn truncated(arena: &[u8], off: usize) -> Error {
    Error::Truncated {
        what: "wrap in arena",
        needed: off.saturating_add(WRAPPED_LEN),
        got: arena.len(),
    }
}

/// Where an arena lies in memory: an address and a length, for prefetch
/// hints only (never dereferenced).
#[derive(Clone, Copy, Default)]
struct Span {
    addr: usize,
    len: usize,
}

impl Span {
    fn of(arena: &[u8]) -> Span {
        Span {
            addr: arena.as_ptr() as usize,
            len: arena.len(),
        }
    }
}

/// Wraps to bring into the cache while a chunk's AES work runs (the next
/// chunk's): the kernels call [`Hints::step`] once per round of four steps,
/// which hints a few of them, so that the hints are spread over the AES work
/// and never queue up behind each other (a burst of them stalls like the
/// loads would).
///
/// During a batch's last chunk, the lines just after its last wrap are
/// hinted instead (`tail`): engines work through their arena in order, so
/// that is where the next batch's wraps lie, and that batch's first chunk
/// would otherwise start with every load a miss.
/// What the kernels call once per round of steps: [`Ahead`] on arenas,
/// [`NoHints`] (compiled away) on slices.
trait Hints {
    fn step(&mut self);
    /// Drops what is left (the portable path does not hint).
    fn all(&mut self);
}

/// No hints: slices the caller already holds in cache.
struct NoHints;

impl Hints for NoHints {
    #[inline(always)]
    fn step(&mut self) {}
    #[inline(always)]
    fn all(&mut self) {}
}

#[derive(Default)]
struct Ahead<'a> {
    span: Span,
    offs: &'a [usize],
    /// Next line to hint past the batch, and how many lines are left.
    tail: (usize, usize),
}

impl<'a> Ahead<'a> {
    /// Wraps hinted per call of [`Hints::step`] (once per round of four
    /// steps: more often slows the narrower kernels): 8 covers a chunk within
    /// 8 rounds on every backend (the widest runs 32 keys per group, 6 rounds).
    const PER_STEP: usize = 8;

    /// Lines hinted past a batch: about a chunk of wraps at the strides the
    /// engines use.
    const TAIL_LINES: usize = 128;

    /// The next chunk of `offs` after the chunk at `first`, or, if there is
    /// none, the lines after the batch's last wrap.
    fn after(span: Span, offs: &'a [usize], first: usize) -> Ahead<'a> {
        match offs.get(first + CHUNK..) {
            Some(next) if !next.is_empty() => Ahead {
                span,
                offs: next,
                tail: (0, 0),
            },
            _ => Ahead {
                span,
                offs: &[],
                tail: offs.last().map_or((0, 0), |&o| {
                    (o.saturating_add(WRAPPED_LEN), Self::TAIL_LINES)
                }),
            },
        }
    }

    /// Hints the line at byte `off` of the arena, or up to [`Self::TAIL_LINES`]
    /// lines past its end (where an engine's next part of the arena lies).
    #[inline]
    fn hint(&self, off: usize) {
        #[cfg(target_arch = "x86_64")]
        if off < self.span.len.saturating_add(64 * Self::TAIL_LINES) {
            let p = self.span.addr.wrapping_add(off) as *const i8;
            // SAFETY: a prefetch is a hint: it neither reads nor writes memory as
            // far as the program can tell, and never faults, whatever the
            // address (here one inside the arena or just past it); SSE, which it
            // needs, is part of the x86_64 baseline.
            unsafe { core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p) }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = off;
    }
}

impl Hints for Ahead<'_> {
    #[inline]
    fn step(&mut self) {
        if self.offs.is_empty() {
            let n = self.tail.1.min(2 * Self::PER_STEP);
            for i in 0..n {
                self.hint(self.tail.0.saturating_add(64 * i));
            }
            self.tail = (self.tail.0.saturating_add(64 * n), self.tail.1 - n);
            return;
        }
        let (now, rest) = self.offs.split_at(Self::PER_STEP.min(self.offs.len()));
        for &o in now {
            self.hint(o);
            self.hint(o.saturating_add(WRAPPED_LEN - 1));
        }
        self.offs = rest;
    }

    fn all(&mut self) {
        self.offs = &[];
        self.tail = (0, 0);
    }
}

/// States from `wrapped[first..]`.
fn load_slice(wrapped: &[[u8; WRAPPED_LEN]], first: usize, states: &mut [KeyState]) -> Result<()> {
    for (s, w) in states.iter_mut().zip(wrapped.iter().skip(first)) {
        *s = KeyState::from_wrapped(w);
    }
    Ok(())
}

/// States from the wraps at `offs[first..]` in `arena`; an error (nothing
/// loaded) if one runs past its end.
fn load_arena(arena: &[u8], offs: &[usize], first: usize, states: &mut [KeyState]) -> Result<()> {
    for (s, &o) in states.iter_mut().zip(offs.iter().skip(first)) {
        let w = arena.get(o..).and_then(<[u8]>::first_chunk::<WRAPPED_LEN>);
        *s = KeyState::from_wrapped(w.ok_or_else(|| truncated(arena, o))?);
    }
    Ok(())
}

fn wrap_at_mut(arena: &mut [u8], off: usize) -> Result<&mut [u8; WRAPPED_LEN]> {
    if arena.len() < off.saturating_add(WRAPPED_LEN) {
        return Err(truncated(arena, off));
    }
    arena
        .get_mut(off..)
        .and_then(<[u8]>::first_chunk_mut::<WRAPPED_LEN>)
        .ok_or(Error::UnwrapFailed)
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
/// Any batch size works; 16 keys or more keep the AES units full. Returns an
/// error (and writes nothing) if `out` is not as long as `keys`.
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
/// [`wrap_batch`] would, with the same per-key `ok` flags; a failed key leaves
/// its output slot zeroed. The plaintext keys never reach the caller: they
/// live in a stack buffer of this function, zeroized before it returns (and,
/// transiently, in registers and the kernels' spill slots, which Rust cannot
/// clear). Length errors are as for [`unwrap_batch`].
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

/// [`Backend::unwrap_at`] on the selected backend.
pub fn unwrap_at(
    kek: &BatchKek,
    mode: Mode,
    arena: &[u8],
    offs: &[usize],
    sink: &mut KeySink<'_>,
) -> Result<()> {
    Backend::selected().unwrap_at(kek, mode, arena, offs, sink)
}

/// [`Backend::rewrap_at`] on the selected backend.
pub fn rewrap_at(
    from: &BatchKek,
    to: &BatchKek,
    mode: Mode,
    arena: &mut [u8],
    offs: &[usize],
) -> Result<()> {
    Backend::selected().rewrap_at(from, to, mode, arena, offs)
}

/// The portable path: each op as `aes` backend closures.
fn portable(op: Op<'_>, states: &mut [KeyState]) {
    match op {
        Op::Wrap(kek) => kek.cipher().encrypt_with_backend(PortableWrap { states }),
        Op::Unwrap(kek) => kek.cipher().decrypt_with_backend(PortableUnwrap { states }),
        Op::Rewrap { from, to, iv } => {
            from.cipher().decrypt_with_backend(PortableUnwrap {
                states: &mut *states,
            });
            for s in states.iter_mut() {
                s.check = s.a();
                s.set_a(iv);
            }
            to.cipher().encrypt_with_backend(PortableWrap { states });
        }
    }
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

/// W with the `aes` crate: all 24 steps of every group inside one backend
/// closure, a group being the backend's parallel block count.
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
                        *b = to_block(s.a(), s.r(i)).into();
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
                        s.set_a(a ^ t);
                        s.set_r(i, r);
                    }
                }
            }
        }
        blocks
            .iter_mut()
            .for_each(|b: &mut Block<B>| b.as_mut_slice().zeroize());
    }
}

/// W⁻¹ with the `aes` crate: the inverse of [`PortableWrap`].
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
                        *b = to_block(s.a() ^ t, s.r(i)).into();
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
                        let (a, r) = from_block((*b).into());
                        s.set_a(a);
                        s.set_r(i, r);
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
        enc: [[u64; 2]; 15],
        dec: [[u64; 2]; 15],
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

    /// [`super::Op`] with the round keys the kernels need.
    #[derive(Clone, Copy)]
    pub(super) enum Op<'a> {
        Wrap(&'a [[u64; 2]; 15]),
        Unwrap(&'a [[u64; 2]; 15]),
        Rewrap {
            from: &'a [[u64; 2]; 15],
            to: &'a [[u64; 2]; 15],
            iv: u64,
        },
    }

    impl<'a> Op<'a> {
        /// `None` if a KEK has no x86 round keys (a CPU without AES-NI).
        pub(super) fn of(op: super::Op<'a>) -> Option<Self> {
            Some(match op {
                super::Op::Wrap(k) => Op::Wrap(&k.x86.as_ref()?.enc),
                super::Op::Unwrap(k) => Op::Unwrap(&k.x86.as_ref()?.dec),
                super::Op::Rewrap { from, to, iv } => Op::Rewrap {
                    from: &from.x86.as_ref()?.dec,
                    to: &to.x86.as_ref()?.enc,
                    iv,
                },
            })
        }
    }

    #[inline]
    fn load128(lane: &u128) -> __m128i {
        // SAFETY: `lane` is 16 readable bytes; the unaligned load needs no alignment.
        unsafe { _mm_loadu_si128((lane as *const u128).cast()) }
    }

    #[inline]
    fn store128(v: __m128i, lane: &mut u128) {
        // SAFETY: `lane` is 16 writable bytes; the unaligned store needs no alignment.
        unsafe { _mm_storeu_si128((lane as *mut u128).cast(), v) }
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
    /// register), `detected()`, and `#[inline]` helpers compiled for `$feat`:
    /// `zero`, `splat` (a 128-bit value in every lane), `from_lanes`,
    /// `to_lanes`, `load`, `store`, `blend_hi` (low 64 bits of each lane from
    /// the first argument, high from the second), `xor`, `enc`, `enc_last`,
    /// `dec`, `dec_last`.
    ///
    /// Per register the state is `cur`, the last AES output (its low halves are
    /// `A`), and `slot[i]`, whose high halves are `R[i]`; a step's input is
    /// `blend_hi(cur, slot[i])`. The step counter `t` is folded into the last
    /// round key when wrapping and into the first when unwrapping, so a step
    /// costs the 15 AES instructions and one blend, and `cur` stays in a
    /// register from step to step.
    macro_rules! kernels {
        ($feat:literal, $p_max:literal) => {
            /// Registers in flight per group (`P_MAX * W` keys), chosen by measurement.
            const P_MAX: usize = $p_max;

            // `load` and `store` move exactly one register.
            const _: () = assert!(core::mem::size_of::<V>() == 16 * W);

            /// Runs `op` on every state if this CPU has the kernels' features.
            pub(in crate::crypto::fastkw) fn run<H: super::super::Hints>(
                op: Op<'_>,
                states: &mut [KeyState],
                ahead: &mut H,
            ) -> bool {
                if !detected() {
                    return false;
                }
                // SAFETY: `detected()` just confirmed every target feature `run_detected` is compiled for.
                unsafe { run_detected(op, states, ahead) };
                true
            }

            /// AES-256-encrypts independent blocks (ECB) if this CPU has the
            /// kernels' features: the throughput ceiling of this width.
            pub(in crate::crypto::fastkw) fn encrypt_blocks(
                keys: &RoundKeys,
                blocks: &mut [[u8; 16]],
            ) -> bool {
                if !detected() {
                    return false;
                }
                // SAFETY: `detected()` just confirmed every target feature `ecb_detected` is compiled for.
                unsafe { ecb_detected(&keys.enc, blocks) };
                true
            }

            #[target_feature(enable = $feat)]
            fn run_detected<H: super::super::Hints>(
                op: Op<'_>,
                states: &mut [KeyState],
                ahead: &mut H,
            ) {
                for group in states.chunks_mut(P_MAX * W) {
                    match group.len().div_ceil(W) {
                        1 => run_group::<1, H>(op, group, ahead),
                        2 => run_group::<2, H>(op, group, ahead),
                        3..=4 => run_group::<4, H>(op, group, ahead),
                        _ => run_group::<P_MAX, H>(op, group, ahead),
                    }
                }
            }

            /// `op` on up to `P * W` states.
            #[target_feature(enable = $feat)]
            fn run_group<const P: usize, H: super::super::Hints>(
                op: Op<'_>,
                group: &mut [KeyState],
                ahead: &mut H,
            ) {
                let mut cur = [zero(); P];
                let mut slot = [[zero(); N]; P];
                gather(group, &mut cur, &mut slot);
                match op {
                    Op::Wrap(keys) => wrap_steps(keys, &mut cur, &mut slot, ahead),
                    Op::Unwrap(keys) => unwrap_steps(keys, &mut cur, &mut slot, ahead),
                    Op::Rewrap { from, to, iv } => {
                        unwrap_steps(from, &mut cur, &mut slot, ahead);
                        for (p, cur) in cur.iter().enumerate() {
                            let lanes = to_lanes(*cur);
                            for (s, lane) in group.iter_mut().skip(p * W).take(W).zip(lanes) {
                                s.check = _mm_cvtsi128_si64(lane) as u64;
                            }
                        }
                        let start = splat([iv, 0]);
                        cur.fill(start);
                        wrap_steps(to, &mut cur, &mut slot, ahead);
                    }
                }
                scatter(group, &cur, &slot);
                cur.zeroize();
                slot.zeroize();
            }

            /// Loads up to `P * W` states (missing lanes are zero): lane `l` of
            /// `slot[p][i]` is `lanes[i]` of state `p * W + l`, whose high half is
            /// `R[i + 1]`; `cur` starts as `slot[0]`, whose low half is `A`.
            /// (`lanes` is not zeroized: that would force it from registers onto
            /// the stack; the key material lives on in `slot`, zeroized by
            /// `run_group`.)
            #[inline]
            #[target_feature(enable = $feat)]
            fn gather<const P: usize>(
                group: &[KeyState],
                cur: &mut [V; P],
                slot: &mut [[V; N]; P],
            ) {
                for (p, (cur, slot)) in cur.iter_mut().zip(slot.iter_mut()).enumerate() {
                    let mut lanes = [[_mm_setzero_si128(); W]; N];
                    for (l, s) in group.iter().skip(p * W).take(W).enumerate() {
                        for (lanes, lane) in lanes.iter_mut().zip(&s.lanes) {
                            lanes[l] = load128(lane);
                        }
                    }
                    for (slot, lanes) in slot.iter_mut().zip(&lanes) {
                        *slot = from_lanes(*lanes);
                    }
                    *cur = slot[0];
                }
            }

            /// Stores `A` (low halves of `cur`) and `R[i + 1]` (high halves of
            /// `slot[i]`) back into the states they came from.
            #[inline]
            #[target_feature(enable = $feat)]
            fn scatter<const P: usize>(group: &mut [KeyState], cur: &[V; P], slot: &[[V; N]; P]) {
                for (p, (cur, slot)) in cur.iter().zip(slot.iter()).enumerate() {
                    let mut lanes = [[_mm_setzero_si128(); W]; N];
                    for (lanes, slot) in lanes.iter_mut().zip(slot) {
                        *lanes = to_lanes(*slot);
                    }
                    lanes[0] = to_lanes(blend_hi(*cur, slot[0]));
                    for (l, s) in group.iter_mut().skip(p * W).take(W).enumerate() {
                        for (lane, lanes) in s.lanes.iter_mut().zip(&lanes) {
                            store128(lanes[l], lane);
                        }
                    }
                }
            }

            /// W: step `(j, i)` encrypts `A | R[i]`.
            #[inline]
            #[target_feature(enable = $feat)]
            fn wrap_steps<const P: usize, H: super::super::Hints>(
                keys: &[[u64; 2]; 15],
                cur: &mut [V; P],
                slot: &mut [[V; N]; P],
                ahead: &mut H,
            ) {
                let mut rk = [zero(); 15];
                for (rk, k) in rk.iter_mut().zip(keys) {
                    *rk = splat(*k);
                }
                for j in 0..6 {
                    ahead.step();
                    for i in 0..N {
                        // The last round key XOR t: the AES output is then
                        // already (MSB64(B) ^ t) | LSB64(B) = A | R[i].
                        let last = xor(rk[14], splat([step_word(j, i), 0]));
                        for (x, slot) in cur.iter_mut().zip(slot.iter()) {
                            *x = xor(blend_hi(*x, slot[i]), rk[0]);
                        }
                        for k in &rk[1..14] {
                            for x in cur.iter_mut() {
                                *x = enc(*x, *k);
                            }
                        }
                        for (x, slot) in cur.iter_mut().zip(slot.iter_mut()) {
                            *x = enc_last(*x, last);
                            slot[i] = *x;
                        }
                    }
                }
                rk.zeroize();
            }

            /// W⁻¹: step `(j, i)` decrypts `(A ^ t) | R[i]`.
            #[inline]
            #[target_feature(enable = $feat)]
            fn unwrap_steps<const P: usize, H: super::super::Hints>(
                keys: &[[u64; 2]; 15],
                cur: &mut [V; P],
                slot: &mut [[V; N]; P],
                ahead: &mut H,
            ) {
                let mut rk = [zero(); 15];
                for (rk, k) in rk.iter_mut().zip(keys) {
                    *rk = splat(*k);
                }
                for j in (0..6).rev() {
                    ahead.step();
                    for i in (0..N).rev() {
                        // The first round key XOR t: AES⁻¹ of (A ^ t) | R[i].
                        let first = xor(rk[0], splat([step_word(j, i), 0]));
                        for (x, slot) in cur.iter_mut().zip(slot.iter()) {
                            *x = xor(blend_hi(*x, slot[i]), first);
                        }
                        for k in &rk[1..14] {
                            for x in cur.iter_mut() {
                                *x = dec(*x, *k);
                            }
                        }
                        for (x, slot) in cur.iter_mut().zip(slot.iter_mut()) {
                            *x = dec_last(*x, rk[14]);
                            slot[i] = *x;
                        }
                    }
                }
                rk.zeroize();
            }

            #[target_feature(enable = $feat)]
            fn ecb_detected(keys: &[[u64; 2]; 15], blocks: &mut [[u8; 16]]) {
                let mut rk = [zero(); 15];
                for (rk, k) in rk.iter_mut().zip(keys) {
                    *rk = splat(*k);
                }
                let (regs, tail) = blocks.as_chunks_mut::<W>();
                let (groups, rest) = regs.as_chunks_mut::<P_MAX>();
                for group in groups {
                    ecb_regs(&rk, group);
                }
                for reg in rest {
                    ecb_regs(&rk, core::array::from_mut(reg));
                }
                if !tail.is_empty() {
                    let mut reg = [[0u8; 16]; W];
                    for (d, s) in reg.iter_mut().zip(tail.iter()) {
                        *d = *s;
                    }
                    ecb_regs(&rk, core::array::from_mut(&mut reg));
                    for (d, s) in tail.iter_mut().zip(reg.iter()) {
                        *d = *s;
                    }
                }
                rk.zeroize();
            }

            #[inline]
            #[target_feature(enable = $feat)]
            fn ecb_regs<const P: usize>(rk: &[V; 15], regs: &mut [[[u8; 16]; W]; P]) {
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
        use super::{Op, RoundKeys, load128, store128};

        type V = __m128i;
        const W: usize = 1;

        /// Whether the CPU has every feature the kernels are compiled for.
        pub(in crate::crypto::fastkw) fn detected() -> bool {
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
    }

    /// VAES on 256-bit registers: two keys per register.
    pub(super) mod vaes256 {
        use core::arch::x86_64::*;

        use zeroize::Zeroize;

        use super::super::{KeyState, N, step_word};
        use super::{Op, RoundKeys, load128, store128};

        type V = __m256i;
        const W: usize = 2;

        /// Whether the CPU has every feature the kernels are compiled for.
        pub(in crate::crypto::fastkw) fn detected() -> bool {
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
    }

    /// VAES on 512-bit registers: four keys per register.
    pub(super) mod vaes512 {
        use core::arch::x86_64::*;

        use zeroize::Zeroize;

        use super::super::{KeyState, N, step_word};
        use super::{Op, RoundKeys, load128, store128};

        type V = __m512i;
        const W: usize = 4;

        /// Whether the CPU has every feature the kernels are compiled for.
        pub(in crate::crypto::fastkw) fn detected() -> bool {
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
        #[cfg(target_arch = "x86_64")]
        if let Some(keys) = kek.x86.as_ref() {
            use super::x86::{aesni, vaes256, vaes512};
            let done = match backend {
                Backend::AesNi => aesni::encrypt_blocks(keys, blocks),
                Backend::Vaes256 => vaes256::encrypt_blocks(keys, blocks),
                Backend::Vaes512 => vaes512::encrypt_blocks(keys, blocks),
                Backend::Portable => false,
            };
            if done {
                return Ok(());
            }
        }
        kek.cipher()
            .encrypt_blocks(Array::cast_slice_from_core_mut(blocks));
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
        let stride_pad = input.byte() % 48;
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

            // The same wraps in an arena (the engines' path): same keys and
            // verdicts; rewritten in place chunk by chunk, up to the first
            // chunk holding a bad wrap, which stays as it was.
            let stride = WRAPPED_LEN + usize::from(stride_pad);
            let offs: Vec<usize> = (0..n).map(|i| i * stride).collect();
            let mut arena = vec![0x5A; n * stride];
            for (w, &o) in wrapped.iter().zip(&offs) {
                arena[o..o + WRAPPED_LEN].copy_from_slice(w);
            }
            let mut got = vec![([0xEE; KEY_LEN], false); n];
            backend
                .unwrap_at(&a, mode, &arena, &offs, &mut |first, keys, flags| {
                    for (j, (k, f)) in keys.iter().zip(flags).enumerate() {
                        got[first + j] = (*k, *f);
                    }
                    Ok(())
                })
                .expect("offsets in range");
            for (i, ((k, f), (o, ok))) in got.iter().zip(opened.iter().zip(&ok)).enumerate() {
                assert!(k == o && f == ok, "{name}: unwrap_at key {i} differs");
            }
            let res = backend.rewrap_at(&a, &b, mode, &mut arena, &offs);
            let done = ok
                .iter()
                .position(|&o| !o)
                .map_or(n, |i| i / super::CHUNK * super::CHUNK);
            assert_eq!(res.is_err(), done < n, "{name}: rewrap_at verdict");
            for (i, &o) in offs.iter().enumerate() {
                let want = if i < done { &rewrapped[i] } else { &wrapped[i] };
                assert!(
                    arena[o..o + WRAPPED_LEN] == want[..],
                    "{name}: rewrap_at slot {i} ({mode:?}, n = {n})"
                );
            }
        }
    }
}
