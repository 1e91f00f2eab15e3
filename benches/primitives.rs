//! Wrap primitives of a key hierarchy, per key: KW wrap, unwrap and rewrap
//! (unwrap under KEK A, wrap under KEK B) of 32-byte keys under AES-256 KEKs.
//!
//! - `aes-kw` one key at a time (`KwAes256`), the reference;
//! - `keyhier::internal::crypto::fastkw` batched, on every backend this CPU has, at batch sizes
//!   1 to 1024;
//! - with `--features peers`: aws-lc-rs (`key_wrap::AesKek`, whose `wrap` and
//!   `unwrap` consume the KEK, so each call pays a key schedule) and OpenSSL
//!   (`AES_wrap_key`, and EVP `aes-256-wrap` with one context per KEK);
//! - AES-256-GCM and AES-256-GCM-SIV seal/open of a 32-byte key with the
//!   36-byte wrap context as AAD, through `keyhier::Kek`;
//! - the hardware ceiling: AES-256 encryption of independent blocks, counted
//!   per 48 blocks (one rewrap's worth).
//!
//! Every figure is `Throughput::Elements(keys)`: criterion's time divided by
//! the element count is ns per key (per 48 blocks for the ceiling). Setup
//! (key schedules, random keys, buffers) is outside the timing.
//!
//! `cargo bench --bench primitives [--features peers] -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use aes_kw::{KeyInit, KwAes256};
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use keyhier::internal::crypto::fastkw::{Backend, BatchKek, Mode, bench_support};
use keyhier::{Kek, SchemeId, WrapContext};
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};

const BATCHES: [usize; 7] = [1, 8, 16, 32, 64, 256, 1024];
/// Keys per iteration of the one-at-a-time loops.
const LOOP: usize = 64;
/// Blocks per iteration of the ceiling (a multiple of 48 and of every group size).
const CEILING_BLOCKS: usize = 48 * 32;

struct Fixture {
    kek_a: [u8; 32],
    kek_b: [u8; 32],
    keys: Vec<[u8; 32]>,
    wrapped: Vec<[u8; 40]>,
}

impl Fixture {
    fn new(n: usize) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(0x5EED_0000 + n as u64);
        let mut kek_a = [0; 32];
        let mut kek_b = [0; 32];
        rng.fill_bytes(&mut kek_a);
        rng.fill_bytes(&mut kek_b);
        let keys: Vec<[u8; 32]> = (0..n)
            .map(|_| {
                let mut k = [0; 32];
                rng.fill_bytes(&mut k);
                k
            })
            .collect();
        let kw = KwAes256::new(&kek_a.into());
        let wrapped = keys
            .iter()
            .map(|k| {
                let mut w = [0; 40];
                kw.wrap_key(k, &mut w).expect("32-byte key");
                w
            })
            .collect();
        Fixture {
            kek_a,
            kek_b,
            keys,
            wrapped,
        }
    }
}

fn aes_kw_loop(c: &mut Criterion) {
    let f = Fixture::new(LOOP);
    let a = KwAes256::new(&f.kek_a.into());
    let b = KwAes256::new(&f.kek_b.into());
    let mut g = c.benchmark_group("aes-kw");
    g.throughput(Throughput::Elements(LOOP as u64));
    g.bench_function("wrap", |bench| {
        bench.iter_batched_ref(
            || vec![[0u8; 40]; LOOP],
            |out| {
                for (k, o) in f.keys.iter().zip(out.iter_mut()) {
                    a.wrap_key(black_box(k), o).expect("wrap");
                }
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("unwrap", |bench| {
        bench.iter_batched_ref(
            || vec![[0u8; 32]; LOOP],
            |out| {
                for (w, o) in f.wrapped.iter().zip(out.iter_mut()) {
                    a.unwrap_key(black_box(w), o).expect("unwrap");
                }
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("rewrap", |bench| {
        bench.iter_batched_ref(
            || vec![[0u8; 40]; LOOP],
            |out| {
                let mut key = [0u8; 32];
                for (w, o) in f.wrapped.iter().zip(out.iter_mut()) {
                    a.unwrap_key(black_box(w), &mut key).expect("unwrap");
                    b.wrap_key(&key, o).expect("wrap");
                }
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn fastkw_batched(c: &mut Criterion) {
    for op in ["wrap", "unwrap", "rewrap"] {
        let mut g = c.benchmark_group(format!("fastkw-{op}"));
        for backend in Backend::available() {
            for n in BATCHES {
                let f = Fixture::new(n);
                let (a, b) = (BatchKek::new(&f.kek_a), BatchKek::new(&f.kek_b));
                g.throughput(Throughput::Elements(n as u64));
                let id = BenchmarkId::new(backend.name(), n);
                match op {
                    "wrap" => g.bench_function(id, |bench| {
                        bench.iter_batched_ref(
                            || vec![[0u8; 40]; n],
                            |out| {
                                backend
                                    .wrap_batch(&a, Mode::Kw, black_box(&f.keys), out)
                                    .expect("wrap")
                            },
                            BatchSize::SmallInput,
                        )
                    }),
                    "unwrap" => g.bench_function(id, |bench| {
                        bench.iter_batched_ref(
                            || (vec![[0u8; 32]; n], vec![false; n]),
                            |(out, ok)| {
                                backend
                                    .unwrap_batch(&a, Mode::Kw, black_box(&f.wrapped), out, ok)
                                    .expect("unwrap")
                            },
                            BatchSize::SmallInput,
                        )
                    }),
                    _ => g.bench_function(id, |bench| {
                        bench.iter_batched_ref(
                            || (vec![[0u8; 40]; n], vec![false; n]),
                            |(out, ok)| {
                                backend
                                    .rewrap_batch(&a, &b, Mode::Kw, black_box(&f.wrapped), out, ok)
                                    .expect("rewrap")
                            },
                            BatchSize::SmallInput,
                        )
                    }),
                };
            }
        }
        g.finish();
    }
}

#[cfg(feature = "peers")]
fn peers(c: &mut Criterion) {
    use aws_lc_rs::key_wrap::{AES_256, AesKek, KeyWrap};
    use openssl::aes::{AesKey, unwrap_key, wrap_key};
    use openssl::cipher::Cipher;
    use openssl::cipher_ctx::{CipherCtx, CipherCtxFlags};

    let f = Fixture::new(LOOP);

    // aws-lc-rs: the KEK is consumed by each call, so each call builds it.
    let aws_wrap = |kek: &[u8; 32], key: &[u8; 32], out: &mut [u8; 40]| {
        AesKek::new(&AES_256, kek)
            .and_then(|k| k.wrap(key, out).map(|_| ()))
            .expect("aws-lc wrap");
    };
    let aws_unwrap = |kek: &[u8; 32], w: &[u8; 40], out: &mut [u8; 32]| {
        AesKek::new(&AES_256, kek)
            .and_then(|k| k.unwrap(w, out).map(|_| ()))
            .expect("aws-lc unwrap");
    };
    // OpenSSL's low-level AES_wrap_key with key schedules built once.
    let ossl_enc_a = AesKey::new_encrypt(&f.kek_a).expect("key");
    let ossl_dec_a = AesKey::new_decrypt(&f.kek_a).expect("key");
    let ossl_enc_b = AesKey::new_encrypt(&f.kek_b).expect("key");
    // OpenSSL EVP aes-256-wrap, one context per KEK; each update is one wrap.
    let evp = |kek: &[u8; 32], encrypt: bool| {
        let mut ctx = CipherCtx::new().expect("ctx");
        ctx.set_flags(CipherCtxFlags::FLAG_WRAP_ALLOW);
        if encrypt {
            ctx.encrypt_init(Some(Cipher::aes_256_wrap()), Some(kek), None)
                .expect("init");
        } else {
            ctx.decrypt_init(Some(Cipher::aes_256_wrap()), Some(kek), None)
                .expect("init");
        }
        ctx
    };
    let evp_run = |ctx: &mut CipherCtx, input: &[u8], out: &mut [u8]| {
        let mut buf = [0u8; 48];
        let n = ctx.cipher_update(input, Some(&mut buf)).expect("evp wrap");
        out.copy_from_slice(&buf[..n]);
    };

    // Every peer must agree with aes-kw before it is timed (the EVP contexts
    // reused across keys, as in the timed loops).
    let (mut evp_enc, mut evp_dec) = (evp(&f.kek_a, true), evp(&f.kek_a, false));
    for (k, w) in f.keys.iter().zip(&f.wrapped) {
        let mut out = [0u8; 40];
        aws_wrap(&f.kek_a, k, &mut out);
        assert_eq!(&out, w, "aws-lc-rs");
        wrap_key(&ossl_enc_a, None, &mut out, k).expect("openssl");
        assert_eq!(&out, w, "openssl");
        evp_run(&mut evp_enc, k, &mut out);
        assert_eq!(&out, w, "openssl evp");
        let mut key = [0u8; 32];
        evp_run(&mut evp_dec, w, &mut key);
        assert_eq!(&key, k, "openssl evp unwrap");
    }

    let mut g = c.benchmark_group("peers");
    g.throughput(Throughput::Elements(LOOP as u64));
    g.bench_function("aws-lc-rs/wrap", |bench| {
        bench.iter_batched_ref(
            || vec![[0u8; 40]; LOOP],
            |out| {
                f.keys
                    .iter()
                    .zip(out.iter_mut())
                    .for_each(|(k, o)| aws_wrap(&f.kek_a, black_box(k), o))
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("aws-lc-rs/unwrap", |bench| {
        bench.iter_batched_ref(
            || vec![[0u8; 32]; LOOP],
            |out| {
                f.wrapped
                    .iter()
                    .zip(out.iter_mut())
                    .for_each(|(w, o)| aws_unwrap(&f.kek_a, black_box(w), o))
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("aws-lc-rs/rewrap", |bench| {
        bench.iter_batched_ref(
            || vec![[0u8; 40]; LOOP],
            |out| {
                let mut key = [0u8; 32];
                for (w, o) in f.wrapped.iter().zip(out.iter_mut()) {
                    aws_unwrap(&f.kek_a, black_box(w), &mut key);
                    aws_wrap(&f.kek_b, &key, o);
                }
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("openssl-aes_wrap_key/wrap", |bench| {
        bench.iter_batched_ref(
            || vec![[0u8; 40]; LOOP],
            |out| {
                for (k, o) in f.keys.iter().zip(out.iter_mut()) {
                    wrap_key(&ossl_enc_a, None, o, black_box(k)).expect("wrap");
                }
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("openssl-aes_wrap_key/unwrap", |bench| {
        bench.iter_batched_ref(
            || vec![[0u8; 32]; LOOP],
            |out| {
                for (w, o) in f.wrapped.iter().zip(out.iter_mut()) {
                    unwrap_key(&ossl_dec_a, None, o, black_box(w)).expect("unwrap");
                }
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("openssl-aes_wrap_key/rewrap", |bench| {
        bench.iter_batched_ref(
            || vec![[0u8; 40]; LOOP],
            |out| {
                let mut key = [0u8; 32];
                for (w, o) in f.wrapped.iter().zip(out.iter_mut()) {
                    unwrap_key(&ossl_dec_a, None, &mut key, black_box(w)).expect("unwrap");
                    wrap_key(&ossl_enc_b, None, o, &key).expect("wrap");
                }
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("openssl-evp/wrap", |bench| {
        let mut ctx = evp(&f.kek_a, true);
        bench.iter_batched_ref(
            || vec![[0u8; 40]; LOOP],
            |out| {
                for (k, o) in f.keys.iter().zip(out.iter_mut()) {
                    evp_run(&mut ctx, black_box(k), o);
                }
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("openssl-evp/unwrap", |bench| {
        let mut ctx = evp(&f.kek_a, false);
        bench.iter_batched_ref(
            || vec![[0u8; 32]; LOOP],
            |out| {
                for (w, o) in f.wrapped.iter().zip(out.iter_mut()) {
                    evp_run(&mut ctx, black_box(w), o);
                }
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("openssl-evp/rewrap", |bench| {
        let mut dec = evp(&f.kek_a, false);
        let mut enc = evp(&f.kek_b, true);
        bench.iter_batched_ref(
            || vec![[0u8; 40]; LOOP],
            |out| {
                let mut key = [0u8; 32];
                for (w, o) in f.wrapped.iter().zip(out.iter_mut()) {
                    evp_run(&mut dec, black_box(w), &mut key);
                    evp_run(&mut enc, &key, o);
                }
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

#[cfg(not(feature = "peers"))]
fn peers(_c: &mut Criterion) {}

fn aead(c: &mut Criterion) {
    let f = Fixture::new(LOOP);
    let ctx = WrapContext {
        tenant: 7,
        key_id: 42,
        key_version: 1,
        kek_id: 3,
        kek_version: 2,
        scheme: SchemeId::Gcm,
        share: 0,
        share_gen: 0,
        layer: 0,
    };
    let mut g = c.benchmark_group("aead");
    g.throughput(Throughput::Elements(LOOP as u64));
    for scheme in [SchemeId::Gcm, SchemeId::GcmSiv] {
        let kek = Kek::new(scheme, &f.kek_a).expect("kek");
        let aad = WrapContext { scheme, ..ctx }.encode();
        let nonce = [9u8; 12];
        let sealed: Vec<[u8; 60]> = f
            .keys
            .iter()
            .map(|k| {
                let mut out = [0u8; 60];
                kek.wrap_raw(k, &aad, &nonce, &mut out).expect("seal");
                out
            })
            .collect();
        g.bench_function(format!("{}/seal", scheme.name()), |bench| {
            bench.iter_batched_ref(
                || vec![[0u8; 60]; LOOP],
                |out| {
                    for (k, o) in f.keys.iter().zip(out.iter_mut()) {
                        kek.wrap_raw(black_box(k), &aad, &nonce, o).expect("seal");
                    }
                },
                BatchSize::SmallInput,
            )
        });
        g.bench_function(format!("{}/open", scheme.name()), |bench| {
            bench.iter_batched_ref(
                || vec![[0u8; 32]; LOOP],
                |out| {
                    for (s, o) in sealed.iter().zip(out.iter_mut()) {
                        kek.unwrap_raw(black_box(s), &aad, o).expect("open");
                    }
                },
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

fn ceiling(c: &mut Criterion) {
    use aes::cipher::{Array, BlockCipherEncrypt, KeyInit as _};
    let f = Fixture::new(1);
    let blocks: Vec<[u8; 16]> = (0..CEILING_BLOCKS)
        .map(|i| (i as u128).to_le_bytes())
        .collect();
    let mut g = c.benchmark_group("ceiling-per-48-blocks");
    g.throughput(Throughput::Elements((CEILING_BLOCKS / 48) as u64));
    let aes = aes::Aes256::new(&f.kek_a.into());
    g.bench_function("aes-crate-encrypt_blocks", |bench| {
        bench.iter_batched_ref(
            || blocks.clone(),
            |b| aes.encrypt_blocks(Array::cast_slice_from_core_mut(black_box(b))),
            BatchSize::SmallInput,
        )
    });
    let kek = BatchKek::new(&f.kek_a);
    for backend in Backend::available() {
        g.bench_function(format!("fastkw-{}", backend.name()), |bench| {
            bench.iter_batched_ref(
                || blocks.clone(),
                |b| bench_support::encrypt_blocks(&kek, backend, black_box(b)).expect("available"),
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, ceiling, fastkw_batched, aes_kw_loop, peers, aead);
criterion_main!(benches);
