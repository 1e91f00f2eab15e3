//! `keyhier::internal::crypto::fastkw` against `aes-kw` and known answers, on every backend this
//! CPU has: RFC 3394 §4.6, the NIST CAVP KW/KWP files, an independent KWP
//! vector, random batches of every size 1..=70 and a few large ones with
//! corrupted wraps, and the fuzz body on random inputs.

use aes_kw::{KeyInit, KwAes256, KwpAes256};
use keyhier::internal::crypto::fastkw::{self, Backend, BatchKek, KEY_LEN, Mode, WRAPPED_LEN};
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};

const NIST_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/nist");

fn hex32(s: &str) -> [u8; 32] {
    hex::decode(s).expect("hex").try_into().expect("32 bytes")
}

fn hex40(s: &str) -> [u8; 40] {
    hex::decode(s).expect("hex").try_into().expect("40 bytes")
}

fn backends() -> Vec<Backend> {
    let all: Vec<Backend> = Backend::available().collect();
    assert!(all.contains(&Backend::Portable));
    all
}

fn aes_kw_wrap(kek: &[u8; 32], mode: Mode, key: &[u8; KEY_LEN]) -> [u8; WRAPPED_LEN] {
    let mut out = [0; WRAPPED_LEN];
    match mode {
        Mode::Kw => KwAes256::new(&(*kek).into())
            .wrap_key(key, &mut out)
            .map(|_| ()),
        Mode::Kwp => KwpAes256::new(&(*kek).into())
            .wrap_key(key, &mut out)
            .map(|_| ()),
    }
    .expect("aes-kw wraps 32 bytes");
    out
}

fn aes_kw_unwrap(kek: &[u8; 32], mode: Mode, wrapped: &[u8; WRAPPED_LEN]) -> Option<[u8; KEY_LEN]> {
    let mut out = [0; KEY_LEN];
    let len = match mode {
        Mode::Kw => KwAes256::new(&(*kek).into())
            .unwrap_key(wrapped, &mut out)
            .map(|k| k.len()),
        Mode::Kwp => KwpAes256::new(&(*kek).into())
            .unwrap_key(wrapped, &mut out)
            .map(|k| k.len()),
    };
    (len == Ok(KEY_LEN)).then_some(out)
}

/// Unwraps `wrapped` on `backend`, returning `(keys, ok)`.
fn unwrap_all(
    backend: Backend,
    kek: &BatchKek,
    mode: Mode,
    wrapped: &[[u8; WRAPPED_LEN]],
) -> (Vec<[u8; KEY_LEN]>, Vec<bool>) {
    let mut out = vec![[0x55; KEY_LEN]; wrapped.len()];
    let mut ok = vec![false; wrapped.len()];
    backend
        .unwrap_batch(kek, mode, wrapped, &mut out, &mut ok)
        .expect("lengths match");
    (out, ok)
}

fn wrap_all(
    backend: Backend,
    kek: &BatchKek,
    mode: Mode,
    keys: &[[u8; KEY_LEN]],
) -> Vec<[u8; WRAPPED_LEN]> {
    let mut out = vec![[0x55; WRAPPED_LEN]; keys.len()];
    backend
        .wrap_batch(kek, mode, keys, &mut out)
        .expect("lengths match");
    out
}

/// Batches of `len` random keys with `key` at `at`, so a known answer is
/// checked in every lane position and group shape.
fn batch_around(
    rng: &mut ChaCha20Rng,
    key: [u8; KEY_LEN],
    len: usize,
    at: usize,
) -> Vec<[u8; KEY_LEN]> {
    let mut keys: Vec<[u8; KEY_LEN]> = (0..len).map(|_| random_key(rng)).collect();
    keys[at] = key;
    keys
}

fn random_key(rng: &mut ChaCha20Rng) -> [u8; 32] {
    let mut k = [0; 32];
    rng.fill_bytes(&mut k);
    k
}

#[test]
fn rfc3394_4_6_256_bit_key_with_256_bit_kek() {
    let kek = hex32("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F");
    let key = hex32("00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F");
    let expected =
        hex40("28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21");
    assert_eq!(aes_kw_wrap(&kek, Mode::Kw, &key), expected);
    let batch_kek = BatchKek::new(&kek);
    let mut rng = ChaCha20Rng::seed_from_u64(3394);
    for backend in backends() {
        for len in [1, 2, 7, 8, 9, 16, 17, 33, 64, 65] {
            let at = len / 2;
            let keys = batch_around(&mut rng, key, len, at);
            let wrapped = wrap_all(backend, &batch_kek, Mode::Kw, &keys);
            assert_eq!(wrapped[at], expected, "{backend:?}, batch of {len}");
            let (opened, ok) = unwrap_all(backend, &batch_kek, Mode::Kw, &wrapped);
            assert!(ok.iter().all(|&ok| ok), "{backend:?}");
            assert_eq!(opened, keys, "{backend:?}");
        }
    }
}

/// KWP of a 32-byte key: no CAVP or RFC vector exists, so this one was made
/// once with pyca/cryptography 48 (`aes_key_wrap_with_padding`, OpenSSL 3),
/// an implementation independent of `aes-kw`.
#[test]
fn kwp_32_byte_key_matches_an_independent_implementation() {
    let cases = [
        (
            "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
            "00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F",
            "4a8029243027353b0694cf1bd8fc745bb0ce8a739b19b1960b12426d4c39cfeda926d103ab34e9f6",
        ),
        (
            "291940ce98e6e51687bac64220c28591e4dbcd4bdf9c42b306dec5b2f6358ab3",
            "cd916df44aba691aae16fb9be11c8015b7a474be0048ae1235c38697ba1dabb6",
            "2daacd5475b3a9ac58b2d827579f2d286e7d3e8ad77da72a6c32e2a8eb901dfa307dad646fe6bc0b",
        ),
    ];
    let mut rng = ChaCha20Rng::seed_from_u64(5649);
    for (kek, key, expected) in cases {
        let (kek, key, expected) = (hex32(kek), hex32(key), hex40(expected));
        assert_eq!(aes_kw_wrap(&kek, Mode::Kwp, &key), expected);
        let batch_kek = BatchKek::new(&kek);
        for backend in backends() {
            for len in [1, 5, 16, 31] {
                let keys = batch_around(&mut rng, key, len, len - 1);
                let wrapped = wrap_all(backend, &batch_kek, Mode::Kwp, &keys);
                assert_eq!(wrapped[len - 1], expected, "{backend:?}");
                let (opened, ok) = unwrap_all(backend, &batch_kek, Mode::Kwp, &wrapped);
                assert!(ok.iter().all(|&ok| ok));
                assert_eq!(opened, keys);
                // The same wrap read as KW fails: the IVs differ.
                let (opened, ok) = unwrap_all(backend, &batch_kek, Mode::Kw, &wrapped);
                assert!(ok.iter().all(|&ok| !ok));
                assert!(opened.iter().all(|k| *k == [0; KEY_LEN]));
            }
        }
    }
}

/// One record of a CAVP KW/KWP file.
#[derive(Debug, Default, Clone)]
struct Record {
    plaintext_bits: usize,
    k: Vec<u8>,
    p: Option<Vec<u8>>,
    c: Vec<u8>,
    fail: bool,
}

/// Reads the records of a CAVP file (`[PLAINTEXT LENGTH = n]` sections of
/// `COUNT`, `K`, `P`, `C` and `FAIL` lines).
fn read_cavp(name: &str) -> Vec<Record> {
    let path = format!("{NIST_DIR}/{name}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut records = Vec::new();
    let mut bits = 0;
    let mut current: Option<Record> = None;
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("[PLAINTEXT LENGTH = ") {
            bits = rest.trim_end_matches(']').trim().parse().expect("length");
        } else if line.starts_with("COUNT = ") {
            records.extend(current.take());
            current = Some(Record {
                plaintext_bits: bits,
                ..Record::default()
            });
        } else if let Some(rec) = current.as_mut() {
            match line.split_once(" = ") {
                Some(("K", v)) => rec.k = hex::decode(v).expect("K"),
                Some(("P", v)) => rec.p = Some(hex::decode(v).expect("P")),
                Some(("C", v)) => rec.c = hex::decode(v).expect("C"),
                _ if line == "FAIL" => rec.fail = true,
                _ => {}
            }
        }
    }
    records.extend(current);
    records
}

fn records_256(name: &str, plaintext_bits: usize) -> Vec<Record> {
    let recs: Vec<Record> = read_cavp(name)
        .into_iter()
        .filter(|r| r.plaintext_bits == plaintext_bits)
        .collect();
    assert_eq!(
        recs.len(),
        100,
        "{name}: 100 records of {plaintext_bits} bits expected"
    );
    recs
}

#[test]
fn nist_kw_ae_256() {
    let mut rng = ChaCha20Rng::seed_from_u64(38_001);
    let recs = records_256("KW_AE_256.txt", 256);
    for backend in backends() {
        for (n, rec) in recs.iter().enumerate() {
            let kek: [u8; 32] = rec.k.as_slice().try_into().expect("256-bit KEK");
            let key: [u8; 32] = rec.p.as_deref().expect("P").try_into().expect("256-bit P");
            let len = 1 + n % 40;
            let at = n % len;
            let keys = batch_around(&mut rng, key, len, at);
            let wrapped = wrap_all(backend, &BatchKek::new(&kek), Mode::Kw, &keys);
            assert_eq!(
                wrapped[at].as_slice(),
                rec.c.as_slice(),
                "{backend:?}, record {n}"
            );
            for (k, w) in keys.iter().zip(&wrapped) {
                assert_eq!(*w, aes_kw_wrap(&kek, Mode::Kw, k));
            }
        }
    }
}

#[test]
fn nist_kw_ad_256() {
    let mut rng = ChaCha20Rng::seed_from_u64(38_002);
    let recs = records_256("KW_AD_256.txt", 256);
    assert_eq!(recs.iter().filter(|r| r.fail).count(), 20);
    for backend in backends() {
        for (n, rec) in recs.iter().enumerate() {
            let kek: [u8; 32] = rec.k.as_slice().try_into().expect("256-bit KEK");
            let c: [u8; 40] = rec.c.as_slice().try_into().expect("320-bit C");
            // The record among valid wraps of random keys under the same KEK.
            let len = 1 + n % 40;
            let at = n % len;
            let others: Vec<[u8; 32]> = (0..len).map(|_| random_key(&mut rng)).collect();
            let mut wrapped = wrap_all(Backend::Portable, &BatchKek::new(&kek), Mode::Kw, &others);
            wrapped[at] = c;
            let (opened, ok) = unwrap_all(backend, &BatchKek::new(&kek), Mode::Kw, &wrapped);
            assert_eq!(ok[at], !rec.fail, "{backend:?}, record {n}");
            match &rec.p {
                Some(p) => assert_eq!(opened[at].as_slice(), p.as_slice()),
                None => assert_eq!(opened[at], [0; 32], "a failed unwrap zeroes its slot"),
            }
            assert_eq!(aes_kw_unwrap(&kek, Mode::Kw, &c).is_some(), !rec.fail);
            for (i, (k, ok)) in opened.iter().zip(&ok).enumerate().filter(|(i, _)| *i != at) {
                assert!(*ok, "{backend:?}: key {i} failed next to record {n}");
                assert_eq!(k, &others[i]);
            }
        }
    }
}

/// The KWP files hold no 256-bit plaintexts; their 248-bit records are 40-byte
/// wraps of 31-byte keys, which `aes-kw` opens and the 32-byte batch API must
/// refuse (MLI 31, not 32) without harming its neighbours.
#[test]
fn nist_kwp_ad_256_wraps_of_31_byte_keys_are_refused() {
    let mut rng = ChaCha20Rng::seed_from_u64(56_490);
    let recs = records_256("KWP_AD_256.txt", 248);
    let mut aes_kw_opened = 0;
    for backend in backends() {
        for (n, rec) in recs.iter().enumerate() {
            let kek: [u8; 32] = rec.k.as_slice().try_into().expect("256-bit KEK");
            let c: [u8; 40] = rec.c.as_slice().try_into().expect("320-bit C");
            let mut buf = [0; 40];
            let aes_kw = KwpAes256::new(&kek.into())
                .unwrap_key(&c, &mut buf)
                .map(|k| k.to_vec());
            assert_eq!(
                aes_kw.as_ref().ok(),
                rec.p.as_ref(),
                "record {n}: aes-kw disagrees with CAVP"
            );
            aes_kw_opened += usize::from(aes_kw.is_ok());

            let len = 1 + n % 20;
            let at = n % len;
            let others: Vec<[u8; 32]> = (0..len).map(|_| random_key(&mut rng)).collect();
            let batch_kek = BatchKek::new(&kek);
            let mut wrapped = wrap_all(backend, &batch_kek, Mode::Kwp, &others);
            wrapped[at] = c;
            let (opened, ok) = unwrap_all(backend, &batch_kek, Mode::Kwp, &wrapped);
            assert!(!ok[at], "{backend:?}: record {n} is a 31-byte key");
            assert_eq!(opened[at], [0; 32]);
            for (i, (k, ok)) in opened.iter().zip(&ok).enumerate().filter(|(i, _)| *i != at) {
                assert!(*ok);
                assert_eq!(k, &others[i]);
            }
        }
    }
    assert_eq!(aes_kw_opened, 80 * backends().len());
}

/// Random batches: wrap, unwrap and rewrap on every backend equal `aes-kw`
/// key by key; corrupted wraps fail alone.
fn check_random_batch(rng: &mut ChaCha20Rng, len: usize) {
    let kek_a = random_key(rng);
    let kek_b = random_key(rng);
    let (a, b) = (BatchKek::new(&kek_a), BatchKek::new(&kek_b));
    for mode in Mode::ALL {
        let keys: Vec<[u8; 32]> = (0..len).map(|_| random_key(rng)).collect();
        let expected: Vec<[u8; 40]> = keys.iter().map(|k| aes_kw_wrap(&kek_a, mode, k)).collect();

        // Corrupt some wraps: one always (when len > 1 leave others intact),
        // more at random; by bit flip, wrong KEK or wrong mode.
        let mut wrapped = expected.clone();
        let mut bad = vec![false; len];
        let corruptions = 1 + (rng.next_u32() as usize % len.div_ceil(8));
        for _ in 0..corruptions {
            let i = rng.next_u32() as usize % len;
            let w = &mut wrapped[i];
            match rng.next_u32() % 3 {
                0 => w[rng.next_u32() as usize % 40] ^= 1 << (rng.next_u32() % 8),
                1 => *w = aes_kw_wrap(&kek_b, mode, &keys[i]),
                _ => {
                    let other = if mode == Mode::Kw {
                        Mode::Kwp
                    } else {
                        Mode::Kw
                    };
                    *w = aes_kw_wrap(&kek_a, other, &keys[i]);
                }
            }
            bad[i] = true;
        }

        for backend in backends() {
            let ctx = format!("{backend:?}, {mode:?}, batch of {len}");
            assert!(
                wrap_all(backend, &a, mode, &keys) == expected,
                "{ctx}: wrap"
            );

            let (opened, ok) = unwrap_all(backend, &a, mode, &wrapped);
            for i in 0..len {
                assert_eq!(ok[i], !bad[i], "{ctx}: verdict on key {i}");
                assert_eq!(aes_kw_unwrap(&kek_a, mode, &wrapped[i]).is_some(), !bad[i]);
                let want = if bad[i] { [0; 32] } else { keys[i] };
                assert_eq!(opened[i], want, "{ctx}: key {i}");
            }

            let mut rewrapped = vec![[0x55; 40]; len];
            let mut ok2 = vec![true; len];
            backend
                .rewrap_batch(&a, &b, mode, &wrapped, &mut rewrapped, &mut ok2)
                .expect("lengths match");
            assert_eq!(ok2, ok, "{ctx}: rewrap verdicts");
            for i in 0..len {
                let want = if bad[i] {
                    [0; 40]
                } else {
                    aes_kw_wrap(&kek_b, mode, &keys[i])
                };
                assert_eq!(rewrapped[i], want, "{ctx}: rewrap of key {i}");
            }

            check_arena(
                rng,
                backend,
                (&a, &b),
                mode,
                &wrapped,
                (&opened, &ok),
                &rewrapped,
            );
        }
    }
}

/// The same wraps scattered through an arena at a random stride and order:
/// `unwrap_at` gives the keys and verdicts of `unwrap_batch`, and `rewrap_at`
/// rewrites each chunk of 64 whole or not at all.
fn check_arena(
    rng: &mut ChaCha20Rng,
    backend: Backend,
    (a, b): (&BatchKek, &BatchKek),
    mode: Mode,
    wrapped: &[[u8; 40]],
    (opened, ok): (&[[u8; 32]], &[bool]),
    rewrapped: &[[u8; 40]],
) {
    let len = wrapped.len();
    let ctx = format!("{backend:?}, {mode:?}, arena batch of {len}");
    let stride = 40 + rng.next_u32() as usize % 90;
    let mut slots: Vec<usize> = (0..len).collect();
    for i in (1..len).rev() {
        slots.swap(i, rng.next_u32() as usize % (i + 1));
    }
    let offs: Vec<usize> = slots.iter().map(|&s| 3 + s * stride).collect();
    let mut arena = vec![0xA5u8; 3 + len * stride];
    for (w, &o) in wrapped.iter().zip(&offs) {
        arena[o..o + 40].copy_from_slice(w);
    }

    let mut got = vec![([0xEE; 32], false); len];
    let mut calls = 0;
    backend
        .unwrap_at(a, mode, &arena, &offs, &mut |first, keys, flags| {
            calls += 1;
            for (j, (k, f)) in keys.iter().zip(flags).enumerate() {
                got[first + j] = (*k, *f);
            }
            Ok(())
        })
        .expect("offsets in range");
    assert_eq!(calls, len.div_ceil(64), "{ctx}: one sink call per chunk");
    for i in 0..len {
        assert_eq!(got[i], (opened[i], ok[i]), "{ctx}: unwrap_at key {i}");
    }

    let before = arena.clone();
    let res = backend.rewrap_at(a, b, mode, &mut arena, &offs);
    let first_bad = ok.iter().position(|&o| !o);
    assert_eq!(
        res.is_err(),
        first_bad.is_some(),
        "{ctx}: rewrap_at verdict"
    );
    let done = first_bad.map_or(len, |i| i / 64 * 64);
    for (i, &o) in offs.iter().enumerate() {
        let want: &[u8] = if i < done {
            &rewrapped[i]
        } else {
            &before[o..o + 40]
        };
        assert_eq!(&arena[o..o + 40], want, "{ctx}: rewrap_at slot {i}");
    }
    // bytes between the slots are never touched
    for (x, (p, q)) in arena.iter().zip(&before).enumerate() {
        if !offs.iter().any(|&o| (o..o + 40).contains(&x)) {
            assert_eq!(p, q, "{ctx}: byte {x} outside every slot changed");
        }
    }

    // an offset past the end is an error, not a panic
    let mut short = offs.clone();
    short.push(arena.len() - 39);
    assert!(
        backend
            .unwrap_at(a, mode, &arena, &short, &mut |_, _, _| Ok(()))
            .is_err()
    );
    assert!(
        backend
            .rewrap_at(a, b, mode, &mut arena, &[usize::MAX])
            .is_err()
    );
}

#[test]
fn random_batches_of_every_size_up_to_70() {
    let mut rng = ChaCha20Rng::seed_from_u64(70);
    for len in 1..=70 {
        check_random_batch(&mut rng, len);
    }
}

#[test]
fn random_large_batches() {
    let mut rng = ChaCha20Rng::seed_from_u64(1000);
    for len in [127, 128, 129, 255, 1000, 1031] {
        check_random_batch(&mut rng, len);
    }
}

#[test]
fn the_plain_functions_use_the_selected_backend() {
    let selected = Backend::selected();
    assert!(selected.is_available());
    assert_eq!(fastkw::backend_name(), selected.name());
    assert_eq!(Backend::from_name(selected.name()), Some(selected));

    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let kek_a = random_key(&mut rng);
    let kek_b = random_key(&mut rng);
    let (a, b) = (BatchKek::new(&kek_a), BatchKek::new(&kek_b));
    let keys: Vec<[u8; 32]> = (0..19).map(|_| random_key(&mut rng)).collect();
    let mut wrapped = vec![[0; 40]; 19];
    fastkw::wrap_batch(&a, Mode::Kwp, &keys, &mut wrapped).expect("lengths match");
    wrapped[4][0] ^= 0x80;
    let mut out = vec![[0; 32]; 19];
    let mut ok = vec![false; 19];
    fastkw::unwrap_batch(&a, Mode::Kwp, &wrapped, &mut out, &mut ok).expect("lengths match");
    let mut rewrapped = vec![[0; 40]; 19];
    let mut ok2 = vec![false; 19];
    fastkw::rewrap_batch(&a, &b, Mode::Kwp, &wrapped, &mut rewrapped, &mut ok2)
        .expect("lengths match");
    for i in 0..19 {
        assert_eq!(ok[i], i != 4);
        assert_eq!(ok2[i], i != 4);
        if i == 4 {
            assert_eq!(out[i], [0; 32]);
            assert_eq!(rewrapped[i], [0; 40]);
        } else {
            assert_eq!(out[i], keys[i]);
            assert_eq!(rewrapped[i], aes_kw_wrap(&kek_b, Mode::Kwp, &keys[i]));
        }
    }
}

#[test]
fn mismatched_lengths_are_errors_that_fail_closed() {
    let kek = BatchKek::new(&[7; 32]);
    let keys = [[1; 32]; 3];
    for backend in backends() {
        let mut out = [[0x55; 40]; 2];
        assert!(backend.wrap_batch(&kek, Mode::Kw, &keys, &mut out).is_err());
        assert_eq!(out, [[0x55; 40]; 2], "nothing written");

        let wrapped = wrap_all(backend, &kek, Mode::Kw, &keys);
        let mut opened = [[0x55; 32]; 3];
        let mut ok = [true; 2];
        assert!(
            backend
                .unwrap_batch(&kek, Mode::Kw, &wrapped, &mut opened, &mut ok)
                .is_err()
        );
        assert_eq!(opened, [[0; 32]; 3]);
        assert_eq!(ok, [false; 2]);

        let mut rewrapped = [[0x55; 40]; 4];
        let mut ok = [true; 3];
        assert!(
            backend
                .rewrap_batch(&kek, &kek, Mode::Kw, &wrapped, &mut rewrapped, &mut ok)
                .is_err()
        );
        assert_eq!(rewrapped, [[0; 40]; 4]);
        assert_eq!(ok, [false; 3]);

        // An empty batch is fine.
        backend
            .wrap_batch(&kek, Mode::Kw, &[], &mut [])
            .expect("empty batch");
    }
}

#[test]
fn unavailable_backends_are_refused_and_debug_is_redacted() {
    let kek = BatchKek::new(&[0x42; 32]);
    let debug = format!("{kek:?}");
    assert_eq!(debug, "BatchKek(<redacted>)");
    for backend in Backend::ALL.into_iter().filter(|b| !b.is_available()) {
        let mut out = [[0; 40]; 1];
        assert!(
            backend
                .wrap_batch(&kek, Mode::Kw, &[[0; 32]], &mut out)
                .is_err()
        );
    }
}

#[test]
fn ceiling_kernels_encrypt_like_the_aes_crate() {
    use aes::cipher::{BlockCipherEncrypt, KeyInit as _};
    let mut rng = ChaCha20Rng::seed_from_u64(48);
    let kek = random_key(&mut rng);
    let aes = aes::Aes256::new(&kek.into());
    for len in [1, 3, 48, 1024] {
        let blocks: Vec<[u8; 16]> = (0..len)
            .map(|_| {
                let mut b = [0; 16];
                rng.fill_bytes(&mut b);
                b
            })
            .collect();
        let expected: Vec<[u8; 16]> = blocks
            .iter()
            .map(|b| {
                let mut b = (*b).into();
                aes.encrypt_block(&mut b);
                b.into()
            })
            .collect();
        for backend in backends() {
            let mut got = blocks.clone();
            fastkw::bench_support::encrypt_blocks(&BatchKek::new(&kek), backend, &mut got)
                .expect("available");
            assert_eq!(got, expected, "{backend:?}");
        }
    }
}

#[test]
fn fuzz_differential_on_random_inputs() {
    let mut rng = ChaCha20Rng::seed_from_u64(0xF422);
    fastkw::fuzz_support::differential(&[]);
    fastkw::fuzz_support::differential(&[0xFF; 4]);
    for _ in 0..200 {
        let len = rng.next_u32() as usize % 4000;
        let mut data = vec![0; len];
        rng.fill_bytes(&mut data);
        fastkw::fuzz_support::differential(&data);
    }
}
