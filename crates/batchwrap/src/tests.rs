//! Every available backend against `aes-kw` (KW and KWP; wrap, unwrap,
//! rewrap, on slices and in arenas), tampered wraps, and the typed errors.

use aes_kw::{KeyInit, KwAes256, KwpAes256};

use crate::{Backend, BatchKek, CHUNK, Error, KEY_LEN, Mode, WRAPPED_LEN};

/// SplitMix64: deterministic test bytes without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn key(&mut self) -> [u8; 32] {
        let mut k = [0; 32];
        for c in k.as_chunks_mut::<8>().0 {
            *c = self.next().to_le_bytes();
        }
        k
    }

    fn keys(&mut self, n: usize) -> Vec<[u8; KEY_LEN]> {
        (0..n).map(|_| self.key()).collect()
    }
}

fn aes_kw_wrap(kek: &[u8; 32], mode: Mode, key: &[u8; KEY_LEN]) -> [u8; WRAPPED_LEN] {
    let mut out = [0; WRAPPED_LEN];
    let done = match mode {
        Mode::Kw => KwAes256::new(&(*kek).into())
            .wrap_key(key, &mut out)
            .is_ok(),
        Mode::Kwp => KwpAes256::new(&(*kek).into())
            .wrap_key(key, &mut out)
            .is_ok(),
    };
    assert!(done, "aes-kw wraps 32 bytes");
    out
}

fn aes_kw_opens(kek: &[u8; 32], mode: Mode, wrapped: &[u8; WRAPPED_LEN]) -> bool {
    let mut out = [0; KEY_LEN];
    match mode {
        Mode::Kw => KwAes256::new(&(*kek).into()).unwrap_key(wrapped, &mut out),
        Mode::Kwp => KwpAes256::new(&(*kek).into()).unwrap_key(wrapped, &mut out),
    }
    .is_ok_and(|k| k.len() == KEY_LEN)
}

fn backends() -> Vec<Backend> {
    let all: Vec<Backend> = Backend::available().collect();
    assert!(all.contains(&Backend::Portable));
    all
}

/// Sizes around every group width (1, 2, 4, 8 registers of 1, 2 or 4 keys)
/// and the chunk.
const SIZES: [usize; 11] = [1, 2, 3, 8, 15, 16, 31, 33, 64, 65, 130];

#[test]
fn every_backend_wraps_unwraps_and_rewraps_as_aes_kw() {
    let mut rng = Rng(3394);
    let (kek_a, kek_b) = (rng.key(), rng.key());
    let (a, b) = (BatchKek::new(&kek_a), BatchKek::new(&kek_b));
    for backend in backends() {
        for mode in Mode::ALL {
            for n in SIZES {
                let ctx = format!("{backend:?} {mode:?} n={n}");
                let keys = rng.keys(n);
                let want: Vec<_> = keys.iter().map(|k| aes_kw_wrap(&kek_a, mode, k)).collect();
                let mut wrapped = vec![[0x55; WRAPPED_LEN]; n];
                backend.wrap_batch(&a, mode, &keys, &mut wrapped).unwrap();
                assert!(wrapped == want, "{ctx}: wrap");

                let mut opened = vec![[0x55; KEY_LEN]; n];
                let mut ok = vec![false; n];
                backend
                    .unwrap_batch(&a, mode, &wrapped, &mut opened, &mut ok)
                    .unwrap();
                assert!(ok.iter().all(|&o| o), "{ctx}: verdicts");
                assert!(opened == keys, "{ctx}: unwrap");

                let mut rewrapped = vec![[0x55; WRAPPED_LEN]; n];
                backend
                    .rewrap_batch(&a, &b, mode, &wrapped, &mut rewrapped, &mut ok)
                    .unwrap();
                let want_b: Vec<_> = keys.iter().map(|k| aes_kw_wrap(&kek_b, mode, k)).collect();
                assert!(ok.iter().all(|&o| o), "{ctx}: rewrap verdicts");
                assert!(rewrapped == want_b, "{ctx}: rewrap");
            }
        }
    }
}

#[test]
fn a_tampered_wrap_fails_alone_with_its_output_zeroed() {
    let mut rng = Rng(5649);
    let (kek_a, kek_b) = (rng.key(), rng.key());
    let (a, b) = (BatchKek::new(&kek_a), BatchKek::new(&kek_b));
    for backend in backends() {
        for mode in Mode::ALL {
            for n in SIZES {
                let keys = rng.keys(n);
                let mut wrapped: Vec<_> =
                    keys.iter().map(|k| aes_kw_wrap(&kek_a, mode, k)).collect();
                let bad = rng.below(n);
                let byte = rng.below(WRAPPED_LEN);
                wrapped[bad][byte] ^= 1 << rng.below(8);
                let ctx = format!("{backend:?} {mode:?} n={n}, byte {byte} of wrap {bad}");
                assert!(!aes_kw_opens(&kek_a, mode, &wrapped[bad]), "{ctx}");

                let mut opened = vec![[0x55; KEY_LEN]; n];
                let mut ok = vec![true; n];
                backend
                    .unwrap_batch(&a, mode, &wrapped, &mut opened, &mut ok)
                    .unwrap();
                let mut rewrapped = vec![[0x55; WRAPPED_LEN]; n];
                let mut ok2 = vec![true; n];
                backend
                    .rewrap_batch(&a, &b, mode, &wrapped, &mut rewrapped, &mut ok2)
                    .unwrap();
                for i in 0..n {
                    assert_eq!(ok[i], i != bad, "{ctx}: unwrap verdict {i}");
                    assert_eq!(ok2[i], i != bad, "{ctx}: rewrap verdict {i}");
                    if i == bad {
                        assert_eq!(opened[i], [0; KEY_LEN], "{ctx}: key zeroed");
                        assert_eq!(rewrapped[i], [0; WRAPPED_LEN], "{ctx}: rewrap zeroed");
                    } else {
                        assert_eq!(opened[i], keys[i], "{ctx}: neighbour {i}");
                        assert_eq!(rewrapped[i], aes_kw_wrap(&kek_b, mode, &keys[i]));
                    }
                }

                // Read in the other mode, every wrap fails: the IVs differ.
                let other = if mode == Mode::Kw {
                    Mode::Kwp
                } else {
                    Mode::Kw
                };
                backend
                    .unwrap_batch(&a, other, &wrapped, &mut opened, &mut ok)
                    .unwrap();
                assert!(ok.iter().all(|&o| !o), "{ctx}: other mode");
                assert!(opened.iter().all(|k| *k == [0; KEY_LEN]), "{ctx}");
            }
        }
    }
}

/// An arena of `wraps` at `stride` bytes from byte 3, in shuffled slots.
fn arena_of(rng: &mut Rng, wraps: &[[u8; WRAPPED_LEN]], stride: usize) -> (Vec<u8>, Vec<usize>) {
    let n = wraps.len();
    let mut slots: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        slots.swap(i, rng.below(i + 1));
    }
    let offs: Vec<usize> = slots.iter().map(|&s| 3 + s * stride).collect();
    let mut arena = vec![0xA5; 3 + n * stride];
    for (w, &o) in wraps.iter().zip(&offs) {
        arena[o..o + WRAPPED_LEN].copy_from_slice(w);
    }
    (arena, offs)
}

#[test]
fn arenas_unwrap_and_rewrap_in_place_chunk_by_chunk() {
    let mut rng = Rng(40);
    let (kek_a, kek_b) = (rng.key(), rng.key());
    let (a, b) = (BatchKek::new(&kek_a), BatchKek::new(&kek_b));
    for backend in backends() {
        for mode in Mode::ALL {
            let n = 3 * CHUNK + 5;
            let keys = rng.keys(n);
            let mut wraps: Vec<_> = keys.iter().map(|k| aes_kw_wrap(&kek_a, mode, k)).collect();
            let bad = CHUNK + rng.below(CHUNK);
            wraps[bad][rng.below(WRAPPED_LEN)] ^= 0x10;
            let stride = WRAPPED_LEN + rng.below(90);
            let (mut arena, offs) = arena_of(&mut rng, &wraps, stride);
            let ctx = format!("{backend:?} {mode:?}");

            let mut got = vec![([0x55; KEY_LEN], false); n];
            let mut calls = 0;
            backend
                .unwrap_at(&a, mode, &arena, &offs, &mut |first, keys, ok| {
                    calls += 1;
                    for (j, (k, o)) in keys.iter().zip(ok).enumerate() {
                        got[first + j] = (*k, *o);
                    }
                    Ok(())
                })
                .unwrap();
            assert_eq!(calls, n.div_ceil(CHUNK), "{ctx}: one sink call per chunk");
            for (i, (k, o)) in got.iter().enumerate() {
                let want = if i == bad { [0; KEY_LEN] } else { keys[i] };
                assert_eq!((*k, *o), (want, i != bad), "{ctx}: unwrap_at {i}");
            }

            // All or nothing per chunk: the first chunk rewrapped; the one
            // holding the bad wrap, every later one and the bytes between
            // the slots untouched.
            let mut want = arena.clone();
            for (k, &o) in keys.iter().zip(&offs).take(CHUNK) {
                want[o..o + WRAPPED_LEN].copy_from_slice(&aes_kw_wrap(&kek_b, mode, k));
            }
            let res = backend.rewrap_at(&a, &b, mode, &mut arena, &offs);
            assert_eq!(res, Err(Error::UnwrapFailed), "{ctx}");
            assert!(arena == want, "{ctx}: arena after rewrap_at");
        }
    }
}

#[test]
fn an_offset_past_the_end_is_a_typed_error() {
    let kek = BatchKek::new(&[9; 32]);
    for backend in backends() {
        let mut arena = vec![0; 100];
        let res = backend.unwrap_at(&kek, Mode::Kw, &arena, &[0, 61], &mut |_, _, _| {
            panic!("no chunk runs when an offset is out of range")
        });
        assert_eq!(
            res,
            Err(Error::Truncated {
                needed: 101,
                got: 100
            })
        );
        let res = backend.rewrap_at(&kek, &kek, Mode::Kw, &mut arena, &[usize::MAX]);
        assert_eq!(
            res,
            Err(Error::Truncated {
                needed: usize::MAX,
                got: 100
            })
        );
        assert_eq!(arena, vec![0; 100]);
    }
}

#[test]
fn a_sink_error_stops_the_run_and_is_returned() {
    let mut rng = Rng(7);
    let kek = rng.key();
    let a = BatchKek::new(&kek);
    let wraps: Vec<_> = rng
        .keys(2 * CHUNK)
        .iter()
        .map(|k| aes_kw_wrap(&kek, Mode::Kw, k))
        .collect();
    let (arena, offs) = arena_of(&mut rng, &wraps, WRAPPED_LEN);
    let mut calls = 0;
    let res = crate::unwrap_at(&a, Mode::Kw, &arena, &offs, &mut |_, _, _| {
        calls += 1;
        Err(Error::UnwrapFailed)
    });
    assert_eq!((res, calls), (Err(Error::UnwrapFailed), 1));
}

#[test]
fn mismatched_lengths_fail_closed_with_a_typed_error() {
    let kek = BatchKek::new(&[7; 32]);
    for backend in backends() {
        let keys = [[1; KEY_LEN]; 3];
        let mut out = [[0x55; WRAPPED_LEN]; 2];
        let err = backend.wrap_batch(&kek, Mode::Kw, &keys, &mut out);
        let want = Error::Lengths {
            what: "wrap_batch output",
            batch: 3,
            slots: 2,
        };
        assert_eq!(err, Err(want.clone()));
        assert_eq!(
            want.to_string(),
            "wrap_batch output: 2 slots for a batch of 3"
        );
        assert_eq!(out, [[0x55; WRAPPED_LEN]; 2], "nothing written");

        let wrapped = [[0; WRAPPED_LEN]; 3];
        let mut opened = [[0x55; KEY_LEN]; 3];
        let mut ok = [true; 4];
        let err = backend.unwrap_batch(&kek, Mode::Kw, &wrapped, &mut opened, &mut ok);
        assert!(matches!(err, Err(Error::Lengths { slots: 4, .. })));
        assert_eq!((opened, ok), ([[0; KEY_LEN]; 3], [false; 4]));

        let mut rewrapped = [[0x55; WRAPPED_LEN]; 1];
        let mut ok = [true; 3];
        let err = backend.rewrap_batch(&kek, &kek, Mode::Kw, &wrapped, &mut rewrapped, &mut ok);
        assert!(matches!(err, Err(Error::Lengths { slots: 1, .. })));
        assert_eq!((rewrapped, ok), ([[0; WRAPPED_LEN]; 1], [false; 3]));

        backend.wrap_batch(&kek, Mode::Kw, &[], &mut []).unwrap();
    }
}

#[test]
fn backends_are_detected_named_and_refused_where_missing() {
    let selected = Backend::selected();
    assert!(selected.is_available());
    assert_eq!(crate::backend_name(), selected.name());
    let kek = BatchKek::new(&[0x42; 32]);
    assert_eq!(format!("{kek:?}"), "BatchKek(<redacted>)");
    for backend in Backend::ALL {
        assert_eq!(Backend::from_name(backend.name()), Some(backend));
        if !backend.is_available() {
            let mut out = [[0; WRAPPED_LEN]; 1];
            let err = backend.wrap_batch(&kek, Mode::Kw, &[[0; KEY_LEN]], &mut out);
            assert_eq!(err, Err(Error::Unavailable(backend)));
        }
    }
}

#[test]
fn every_backend_encrypts_blocks_as_the_aes_crate() {
    use aes::cipher::{BlockCipherEncrypt, KeyInit as _};
    let mut rng = Rng(48);
    let kek = rng.key();
    let aes = aes::Aes256::new(&kek.into());
    for n in [1, 3, 7, 48, 130] {
        let blocks: Vec<[u8; 16]> = (0..n)
            .map(|_| (u128::from(rng.next()) << 64 | u128::from(rng.next())).to_le_bytes())
            .collect();
        let want: Vec<[u8; 16]> = blocks
            .iter()
            .map(|b| {
                let mut b = (*b).into();
                aes.encrypt_block(&mut b);
                b.into()
            })
            .collect();
        for backend in backends() {
            let mut got = blocks.clone();
            crate::bench_support::encrypt_blocks(&BatchKek::new(&kek), backend, &mut got).unwrap();
            assert_eq!(got, want, "{backend:?}, {n} blocks");
        }
    }
}
