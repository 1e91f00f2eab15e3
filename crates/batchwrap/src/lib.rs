//! Batched AES key-wrap kernels: AES-256 Key Wrap (RFC 3394 KW) and Key Wrap
//! with Padding (RFC 5649 KWP) of many 32-byte keys under one KEK at a time.
//! (AES-GCM and AES-GCM-SIV batches are planned; they are not here yet.)
//!
//! One RFC 3394 wrap of a 256-bit key is 24 AES blocks, each depending on the
//! previous one through the integrity register `A`, so a key wrapped alone
//! waits on the AES latency 24 times. This crate wraps, unwraps and rewraps
//! many keys together: step `t` of every key in a group goes through the AES
//! units before step `t + 1` of any, so the pipeline stays full. Output is
//! byte-identical to `aes-kw` (`KwAes256` / `KwpAes256`) for every key.
//!
//! It owns the batched primitive only: it knows nothing of key graphs, wire
//! formats or contexts, and supports only what key hierarchies use (AES-256
//! KEKs, 32-byte keys, 40-byte wraps).
//!
//! The public interface is: [`BatchKek`] (a prepared KEK), [`Mode`], the
//! batch functions ([`wrap_batch`], [`unwrap_batch`], [`rewrap_batch`],
//! [`unwrap_at`], [`rewrap_at`]) on the selected backend, the same on any
//! [`Backend`], and [`Error`].
//!
//! # Backends
//!
//! As the `aes` crate lays them out: a safe portable core and one module per
//! instruction set, chosen by run-time detection in one place.
//! [`Backend::Portable`] is safe code over the `aes` crate (all 24 steps of a
//! group inside one `encrypt_with_backend` closure). The others use
//! `core::arch::x86_64` intrinsics and run only when run-time feature
//! detection finds the instructions: [`Backend::AesNi`] (8 keys in flight),
//! [`Backend::Vaes256`] (2 keys per 256-bit register, 16 in flight) and
//! [`Backend::Vaes512`] (4 keys per 512-bit register, 32 in flight).
//! [`Backend::selected`] picks the fastest available one; the environment
//! variable [`BACKEND_ENV`] forces any available backend by name.
//!
//! # Failing closed
//!
//! Every caller-supplied length and offset is checked in safe code before a
//! kernel runs. A failed unwrap is decided per key in constant time, zeroes
//! that key's output only, and says only that it failed.
//!
//! # Unsafe code
//!
//! Only the private `backends` module (the `#[target_feature]` kernels, called
//! after checking the features at run time, and the moves of 16-, 32- or
//! 64-byte registers to and from arrays of exactly that size) and the chunk
//! driver (a bulk zeroize of plain-integer states) use `unsafe`; every block
//! says why it is sound in a `// SAFETY:` comment. The kernels work on a slice
//! of states and reach it only through iterators and bounds-checked accessors.
#![deny(unsafe_code)]

#[allow(unsafe_code)]
mod backends;
#[allow(unsafe_code)]
mod driver;
mod error;
mod hints;
mod kek;
mod state;
#[cfg(test)]
mod tests;

pub use error::Error;
pub use kek::BatchKek;

use zeroize::Zeroize;

use driver::{Span, check_lens, drive, load_arena, load_slice, wrap_at_mut};
use state::{KeyState, Op, ct_eq_mask};

/// Length of a key this crate wraps: AES-256 key material.
pub const KEY_LEN: usize = 32;
/// Length of the KW or KWP wrap of a [`KEY_LEN`]-byte key.
pub const WRAPPED_LEN: usize = 40;
/// Keys per pass of the kernels: the unit in which [`Backend::unwrap_at`]
/// calls its sink and [`Backend::rewrap_at`] rewrites all or nothing. A
/// multiple of every intrinsic backend's group size.
pub const CHUNK: usize = 64;
/// Environment variable that forces a backend by name (see [`Backend::selected`]).
/// Named for the harness the kernels were written for (keyhier's `fastkw`),
/// whose scripts set it.
pub const BACKEND_ENV: &str = "KEYHIER_FASTKW_BACKEND";

/// Receives unwrapped keys chunk by chunk: `(first, keys, ok)` for items
/// `first..first + keys.len()`, a failed key zeroed and its `ok` false. An
/// error it returns stops the run and is returned as it is.
pub type KeySink<'a> = dyn FnMut(usize, &[[u8; KEY_LEN]], &[bool]) -> Result<(), Error> + 'a;

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
    #[inline]
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

/// An implementation of the batched primitive. Which ones this CPU can run,
/// and which one the plain functions use, is decided at run time
/// ([`Backend::is_available`], [`Backend::selected`]).
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
    #[inline]
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

    /// [`wrap_batch`] on this backend; an error if it is not available here.
    pub fn wrap_batch(
        self,
        kek: &BatchKek,
        mode: Mode,
        keys: &[[u8; KEY_LEN]],
        out: &mut [[u8; WRAPPED_LEN]],
    ) -> Result<(), Error> {
        check_lens("wrap_batch output", keys.len(), &[out.len()])?;
        self.check_available(kek)?;
        let iv = mode.iv_word();
        drive(
            self,
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
    ) -> Result<(), Error> {
        let checked = check_lens("unwrap_batch output", wrapped.len(), &[out.len(), ok.len()])
            .and(self.check_available(kek));
        if let Err(e) = checked {
            out.iter_mut().for_each(Zeroize::zeroize);
            ok.fill(false);
            return Err(e);
        }
        let iv = mode.iv_word();
        drive(
            self,
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
    /// chunks of [`CHUNK`], calling `sink(first, keys, ok)` with the keys and
    /// verdicts of items `first..first + keys.len()` (a failed key is zeroed).
    /// The keys live in a stack buffer zeroized before this returns. An offset
    /// whose wrap runs past the end of `arena` is an error before its chunk
    /// runs; an error from `sink` stops the run.
    pub fn unwrap_at(
        self,
        kek: &BatchKek,
        mode: Mode,
        arena: &[u8],
        offs: &[usize],
        sink: &mut KeySink<'_>,
    ) -> Result<(), Error> {
        self.check_available(kek)?;
        let iv = mode.iv_word();
        let mut keys = [[0u8; KEY_LEN]; CHUNK];
        let mut ok = [false; CHUNK];
        let res = drive(
            self,
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
    ) -> Result<(), Error> {
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
        drive(
            self,
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
    /// `from` to `to`, as [`Backend::rewrap_batch`] would, chunk by chunk
    /// ([`CHUNK`]) and all or nothing per chunk: if a wrap of a chunk does not
    /// authenticate, that chunk is left as it was and [`Error::UnwrapFailed`]
    /// returned (chunks before it stay rewrapped). An offset whose wrap runs
    /// past the end of `arena` is an error before its chunk runs.
    pub fn rewrap_at(
        self,
        from: &BatchKek,
        to: &BatchKek,
        mode: Mode,
        arena: &mut [u8],
        offs: &[usize],
    ) -> Result<(), Error> {
        self.check_available(from)?;
        self.check_available(to)?;
        let iv = mode.iv_word();
        drive(
            self,
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

    /// Whether this backend can run with `kek` here: the CPU has it, and the
    /// KEK holds the round keys it needs.
    fn check_available(self, kek: &BatchKek) -> Result<(), Error> {
        if self.is_available() && kek.has_keys_for(self) {
            Ok(())
        } else {
            Err(Error::Unavailable(self))
        }
    }
}

/// The name of the backend the plain functions use ([`Backend::selected`]).
#[inline]
pub fn backend_name() -> &'static str {
    Backend::selected().name()
}

/// Wraps every key of `keys` under `kek` into the same slot of `out`,
/// byte-identical to `aes-kw`'s `KwAes256::wrap_key` (or `KwpAes256`).
///
/// Any batch size works; 16 keys or more keep the AES units full. Returns an
/// error (and writes nothing) if `out` is not as long as `keys`.
#[inline]
pub fn wrap_batch(
    kek: &BatchKek,
    mode: Mode,
    keys: &[[u8; KEY_LEN]],
    out: &mut [[u8; WRAPPED_LEN]],
) -> Result<(), Error> {
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
#[inline]
pub fn unwrap_batch(
    kek: &BatchKek,
    mode: Mode,
    wrapped: &[[u8; WRAPPED_LEN]],
    out: &mut [[u8; KEY_LEN]],
    ok: &mut [bool],
) -> Result<(), Error> {
    Backend::selected().unwrap_batch(kek, mode, wrapped, out, ok)
}

/// Unwraps every wrap of `wrapped_in` under `from` and wraps the key under
/// `to` into the same slot of `wrapped_out`, as [`unwrap_batch`] then
/// [`wrap_batch`] would, with the same per-key `ok` flags; a failed key leaves
/// its output slot zeroed. The plaintext keys never reach the caller: they
/// live in a stack buffer of this function, zeroized before it returns (and,
/// transiently, in registers and the kernels' spill slots, which Rust cannot
/// clear). Length errors are as for [`unwrap_batch`].
#[inline]
pub fn rewrap_batch(
    from: &BatchKek,
    to: &BatchKek,
    mode: Mode,
    wrapped_in: &[[u8; WRAPPED_LEN]],
    wrapped_out: &mut [[u8; WRAPPED_LEN]],
    ok: &mut [bool],
) -> Result<(), Error> {
    Backend::selected().rewrap_batch(from, to, mode, wrapped_in, wrapped_out, ok)
}

/// [`Backend::unwrap_at`] on the selected backend.
#[inline]
pub fn unwrap_at(
    kek: &BatchKek,
    mode: Mode,
    arena: &[u8],
    offs: &[usize],
    sink: &mut KeySink<'_>,
) -> Result<(), Error> {
    Backend::selected().unwrap_at(kek, mode, arena, offs, sink)
}

/// [`Backend::rewrap_at`] on the selected backend.
#[inline]
pub fn rewrap_at(
    from: &BatchKek,
    to: &BatchKek,
    mode: Mode,
    arena: &mut [u8],
    offs: &[usize],
) -> Result<(), Error> {
    Backend::selected().rewrap_at(from, to, mode, arena, offs)
}

/// Hooks for benchmarks; not part of the API.
#[doc(hidden)]
pub mod bench_support {
    use super::{Backend, BatchKek, Error};

    /// AES-256-encrypts independent blocks in place (ECB) on `backend`: the
    /// hardware ceiling a batched rewrap (48 blocks per key) is compared with.
    pub fn encrypt_blocks(
        kek: &BatchKek,
        backend: Backend,
        blocks: &mut [[u8; 16]],
    ) -> Result<(), Error> {
        backend.check_available(kek)?;
        crate::backends::encrypt_blocks(kek, backend, blocks);
        Ok(())
    }
}
