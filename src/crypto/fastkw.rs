//! Batched AES-256 Key Wrap (RFC 3394 KW) and Key Wrap with Padding (RFC 5649
//! KWP) of 32-byte keys under one KEK at a time: keyhier's adapter over the
//! kernel crate `batchwrap` (`crates/batchwrap`).
//!
//! The kernels interleave many keys so the AES units stay busy; their output
//! is byte-identical to `aes-kw` for every key. This module re-exports their
//! types under the names keyhier has always used, maps the crate's errors into
//! [`crate::Error`] (the same variants and messages as before the kernels moved
//! out), and keeps the differential fuzz body, which checks every backend
//! against `aes-kw`. It adds no cryptography of its own and, like the rest of
//! keyhier, no `core::arch` code: all of that lives in the kernel crate.
//!
//! It supports only what hierarchies use (AES-256 KEKs, 32-byte keys, 40-byte
//! wraps); [`crate::crypto::scheme`] stays the reference for everything else.
//!
//! # Backends
//!
//! [`Backend::Portable`] is safe code over the `aes` crate; [`Backend::AesNi`],
//! [`Backend::Vaes256`] and [`Backend::Vaes512`] use x86_64 intrinsics and run
//! only where run-time detection finds the instructions. [`Backend::selected`]
//! picks the fastest available one; the environment variable [`BACKEND_ENV`]
//! forces any available backend by name. Calling a [`Backend`]'s methods
//! directly returns the crate's own `batchwrap::Error`, which converts into
//! [`crate::Error`] with `?`.

pub use batchwrap::{BACKEND_ENV, Backend, BatchKek, KEY_LEN, Mode, WRAPPED_LEN};

use crate::error::{Error, Result};

/// Receives unwrapped keys chunk by chunk: `(first, keys, ok)` for items
/// `first..first + keys.len()`, a failed key zeroed and its `ok` false.
pub type KeySink<'a> = dyn FnMut(usize, &[[u8; KEY_LEN]], &[bool]) -> Result<()> + 'a;

impl From<batchwrap::Error> for Error {
    fn from(e: batchwrap::Error) -> Self {
        match e {
            batchwrap::Error::UnwrapFailed => Error::UnwrapFailed,
            batchwrap::Error::Unavailable(b) => Error::invalid(
                "fastkw backend",
                format!("{} is not available on this CPU", b.name()),
            ),
            batchwrap::Error::Lengths { what, batch, slots } => {
                Error::invalid(what, format!("{slots} slots for a batch of {batch}"))
            }
            batchwrap::Error::Truncated { needed, got } => Error::Truncated {
                what: "wrap in arena",
                needed,
                got,
            },
            // `batchwrap::Error` is non-exhaustive; a variant added there
            // reads as a refused field until it gets its own mapping here
            other => Error::invalid("fastkw", other.to_string()),
        }
    }
}

/// The name of the backend the plain functions use ([`Backend::selected`]).
#[inline]
pub fn backend_name() -> &'static str {
    batchwrap::backend_name()
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
) -> Result<()> {
    Ok(batchwrap::wrap_batch(kek, mode, keys, out)?)
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
) -> Result<()> {
    Ok(batchwrap::unwrap_batch(kek, mode, wrapped, out, ok)?)
}

/// Unwraps every wrap of `wrapped_in` under `from` and wraps the key under
/// `to` into the same slot of `wrapped_out`, as [`unwrap_batch`] then
/// [`wrap_batch`] would, with the same per-key `ok` flags; a failed key leaves
/// its output slot zeroed. The plaintext keys never reach the caller (they
/// stay in the kernel crate's zeroized buffers). Length errors are as for
/// [`unwrap_batch`].
#[inline]
pub fn rewrap_batch(
    from: &BatchKek,
    to: &BatchKek,
    mode: Mode,
    wrapped_in: &[[u8; WRAPPED_LEN]],
    wrapped_out: &mut [[u8; WRAPPED_LEN]],
    ok: &mut [bool],
) -> Result<()> {
    Ok(batchwrap::rewrap_batch(
        from,
        to,
        mode,
        wrapped_in,
        wrapped_out,
        ok,
    )?)
}

/// Unwraps the wraps at byte offsets `offs` of `arena` under `kek` on the
/// selected backend ([`Backend::unwrap_at`]), calling `sink(first, keys, ok)`
/// once per chunk of [`batchwrap::CHUNK`] keys. An error from `sink` stops the
/// run and is returned as it is; an offset whose wrap runs past the end of
/// `arena` is an error before its chunk runs.
#[inline]
pub fn unwrap_at(
    kek: &BatchKek,
    mode: Mode,
    arena: &[u8],
    offs: &[usize],
    sink: &mut KeySink<'_>,
) -> Result<()> {
    // The crate's sink speaks the crate's error: keep the caller's error
    // here and stop the run with any crate error (it is never returned).
    let mut stopped = None;
    let res = batchwrap::unwrap_at(kek, mode, arena, offs, &mut |first, keys, ok| {
        sink(first, keys, ok).map_err(|e| {
            stopped = Some(e);
            batchwrap::Error::UnwrapFailed
        })
    });
    match stopped {
        Some(e) => Err(e),
        None => Ok(res?),
    }
}

/// Rewraps, in place, the wraps at byte offsets `offs` of `arena` from
/// `from` to `to` on the selected backend ([`Backend::rewrap_at`]): all or
/// nothing per chunk, `UnwrapFailed` at the first chunk holding a wrap that
/// does not authenticate (chunks before it stay rewrapped).
#[inline]
pub fn rewrap_at(
    from: &BatchKek,
    to: &BatchKek,
    mode: Mode,
    arena: &mut [u8],
    offs: &[usize],
) -> Result<()> {
    Ok(batchwrap::rewrap_at(from, to, mode, arena, offs)?)
}

/// Hooks for `benches/primitives.rs`; not part of the API.
#[doc(hidden)]
pub mod bench_support {
    use super::{Backend, BatchKek, Result};

    /// AES-256-encrypts independent blocks in place (ECB) on `backend`: the
    /// hardware ceiling a batched rewrap (48 blocks per key) is compared with.
    #[inline]
    pub fn encrypt_blocks(kek: &BatchKek, backend: Backend, blocks: &mut [[u8; 16]]) -> Result<()> {
        Ok(batchwrap::bench_support::encrypt_blocks(
            kek, backend, blocks,
        )?)
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
                .map_or(n, |i| i / batchwrap::CHUNK * batchwrap::CHUNK);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The kernel crate's errors arrive as the variants and messages keyhier
    /// has always returned.
    #[test]
    fn errors_map_to_the_library_error() {
        let kek = BatchKek::new(&[3; 32]);
        let mut out = [[0; WRAPPED_LEN]; 2];
        let err = wrap_batch(&kek, Mode::Kw, &[[1; KEY_LEN]; 3], &mut out).unwrap_err();
        assert_eq!(
            err,
            Error::invalid("wrap_batch output", "2 slots for a batch of 3")
        );
        assert_eq!(
            err.to_string(),
            "wrap_batch output: 2 slots for a batch of 3"
        );

        let arena = [0; 50];
        let err = unwrap_at(&kek, Mode::Kw, &arena, &[20], &mut |_, _, _| Ok(())).unwrap_err();
        assert_eq!(
            err,
            Error::Truncated {
                what: "wrap in arena",
                needed: 60,
                got: 50
            }
        );

        let mut arena = [0; 40];
        let err = rewrap_at(&kek, &kek, Mode::Kw, &mut arena, &[0]).unwrap_err();
        assert_eq!(err, Error::UnwrapFailed);

        let err = Error::from(batchwrap::Error::Unavailable(Backend::Vaes512));
        assert_eq!(
            err,
            Error::invalid("fastkw backend", "vaes512 is not available on this CPU")
        );
    }

    /// An error from the sink comes back as it is, not as the crate's.
    #[test]
    fn a_sink_error_is_returned_unchanged() {
        let kek = BatchKek::new(&[3; 32]);
        let mut wrapped = [[0; WRAPPED_LEN]; 1];
        wrap_batch(&kek, Mode::Kw, &[[9; KEY_LEN]], &mut wrapped).expect("lengths match");
        let mut calls = 0;
        let err = unwrap_at(
            &kek,
            Mode::Kw,
            wrapped.as_flattened(),
            &[0],
            &mut |_, keys, ok| {
                calls += 1;
                assert_eq!((keys, ok), (&[[9; KEY_LEN]][..], &[true][..]));
                Err(Error::Shares("stop"))
            },
        )
        .unwrap_err();
        assert_eq!((err, calls), (Error::Shares("stop"), 1));
    }
}
