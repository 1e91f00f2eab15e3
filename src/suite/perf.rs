//! `keyhier perf`: the key-wrap primitives and two bulk workloads measured
//! side by side in one run, as ratios.
//!
//! Implementations are measured in rounds: every round times each of them
//! once, in turn, so a load that comes and goes on a shared machine hits them
//! alike; the figure kept is the median over rounds. Each timing wraps,
//! unwraps or rewraps the same 4,096 keys (32-byte keys under AES-256 KEKs).
//! The peers (`aws-lc-rs`, OpenSSL) are measured when built with
//! `--features peers`. The hardware ceiling is AES-256 block encryption with
//! many independent blocks in flight, times 48 blocks (one RFC 3394 rewrap).

use std::time::Instant;

use aes_kw::{KeyInit, KwAes256};

use crate::crypto::fastkw::{self, Backend, BatchKek, Mode};
use crate::engine::workload::WorkloadKind;
use crate::error::Result;

/// Keys per timing.
pub const KEYS: usize = 4096;

/// Bytes from one wrap to the next in a packed arena.
pub const PACKED_STRIDE: usize = 40;
/// Bytes from one leaf's wrap to the next as `flat` lays them out (a leaf's
/// three slots, one touched).
pub const FLAT_STRIDE: usize = 120;

/// A key-wrap primitive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Wrap a key.
    Wrap,
    /// Unwrap a key.
    Unwrap,
    /// Unwrap under one KEK, wrap under another.
    Rewrap,
}

impl Op {
    /// `wrap`, `unwrap` or `rewrap`.
    pub fn name(self) -> &'static str {
        match self {
            Op::Wrap => "wrap",
            Op::Unwrap => "unwrap",
            Op::Rewrap => "rewrap",
        }
    }
}

/// What a [`PerfRow`] measured. Written (to `raw.csv` and the summary) as
/// `rewrap`, `ceiling`, `beside unwrap`, `arena rewrap`, `flat medium:
/// unwrap-all` and so on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Measured {
    /// The primitive on the [`KEYS`] keys of the fixture.
    Primitive(Op),
    /// 48 independent AES-256 blocks (one rewrap's worth), fully pipelined.
    Ceiling,
    /// The batched primitive on [`KEYS`] keys in cache, beside the workloads.
    Beside(Op),
    /// The same calls on a 1M-key arena, wraps `stride` bytes apart.
    Arena {
        /// The primitive.
        op: Op,
        /// Bytes from one wrap to the next.
        stride: usize,
    },
    /// A workload through `keyhier run`.
    Workload {
        /// The design it ran on.
        design: String,
        /// The shape preset.
        preset: String,
        /// What it does.
        kind: WorkloadKind,
        /// Its label (`rotate-root ck1 all`).
        label: String,
    },
}

impl Measured {
    /// For a workload, the batched primitive that does its work (rewrap for a
    /// rotation, unwrap for the rest); `None` for the other rows.
    pub fn primitive_of_workload(&self) -> Option<Op> {
        match self {
            Measured::Workload {
                kind: WorkloadKind::RotateRoot,
                ..
            } => Some(Op::Rewrap),
            Measured::Workload { .. } => Some(Op::Unwrap),
            _ => None,
        }
    }
}

impl std::fmt::Display for Measured {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Measured::Primitive(op) => f.write_str(op.name()),
            Measured::Ceiling => f.write_str("ceiling"),
            Measured::Beside(op) => write!(f, "beside {}", op.name()),
            Measured::Arena { op, .. } => write!(f, "arena {}", op.name()),
            Measured::Workload {
                design,
                preset,
                label,
                ..
            } => write!(f, "{design} {preset}: {label}"),
        }
    }
}

impl serde::Serialize for Measured {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One measured implementation.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PerfRow {
    /// What was measured.
    pub what: Measured,
    /// The implementation.
    pub implementation: String,
    /// Keys per call (batch size), 1 for one-at-a-time loops.
    pub batch: usize,
    /// Threads.
    pub threads: usize,
    /// Median nanoseconds per key (per rewrap for the ceiling).
    pub ns_per_key: f64,
    /// Keys per second per thread.
    pub keys_per_s_per_thread: f64,
    /// All round times, ns per key.
    pub rounds: Vec<f64>,
}

struct Fixture {
    kek_a: [u8; 32],
    kek_b: [u8; 32],
    keys: Vec<[u8; 32]>,
    wrapped: Vec<[u8; 40]>,
}

impl Fixture {
    fn new() -> Fixture {
        let prf = crate::crypto::prf::Prf::new(0xfeed);
        let kek_a = *prf.node_key(1, 1).expose();
        let kek_b = *prf.node_key(2, 1).expose();
        let keys: Vec<[u8; 32]> = (0..KEYS as u32)
            .map(|i| *prf.node_key(100 + i, 1).expose())
            .collect();
        let kw = KwAes256::new(&kek_a.into());
        let wrapped = keys
            .iter()
            .map(|k| {
                let mut w = [0u8; 40];
                let _ = kw.wrap_key(k, &mut w);
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

/// A job timed from outside: it returns the keys it did.
type Job<'a> = Box<dyn FnMut() -> usize + 'a>;

/// One row to measure: what, implementation, batch, threads, and the job,
/// which returns its own time per key (per thread, for a workload).
type Timed<'a> = (
    Measured,
    String,
    usize,
    usize,
    Box<dyn FnMut() -> Result<f64> + 'a>,
);

/// A one-thread row for a job timed from outside.
fn timed<'a>((what, imp, batch, mut job): (Measured, String, usize, Job<'a>)) -> Timed<'a> {
    let run = move || {
        let start = Instant::now();
        let keys = job();
        Ok(start.elapsed().as_nanos() as f64 / keys.max(1) as f64)
    };
    (what, imp, batch, 1, Box::new(run))
}

/// Times every job once per round, in turn; each row keeps every round and
/// their median.
fn rounds(jobs: &mut [Timed<'_>], n: usize) -> Result<Vec<PerfRow>> {
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); jobs.len()];
    for _ in 0..n {
        for (job, t) in jobs.iter_mut().zip(&mut times) {
            t.push((job.4)()?);
        }
    }
    Ok(jobs
        .iter()
        .zip(times)
        .map(|((what, imp, batch, threads, _), t)| {
            let ns = crate::stats::median(&t).unwrap_or(f64::NAN);
            PerfRow {
                what: what.clone(),
                implementation: imp.clone(),
                batch: *batch,
                threads: *threads,
                ns_per_key: ns,
                keys_per_s_per_thread: 1e9 / ns,
                rounds: t,
            }
        })
        .collect())
}

/// Batch sizes of the sweep.
pub const BATCHES: [usize; 10] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 1024];

/// Measures the primitives: the `aes-kw` loop, every available fastkw
/// backend at every batch size, the peers if built in, and the ceiling.
pub fn primitives(round_count: usize) -> Result<Vec<PerfRow>> {
    let f = Fixture::new();
    let kw_a = KwAes256::new(&f.kek_a.into());
    let kw_b = KwAes256::new(&f.kek_b.into());
    let (bk_a, bk_b) = (BatchKek::new(&f.kek_a), BatchKek::new(&f.kek_b));
    let mut jobs: Vec<(Measured, String, usize, Job<'_>)> = Vec::new();
    // aes-kw one key at a time
    let (kw_a, kw_b) = (&kw_a, &kw_b);
    let fx = &f;
    jobs.push((
        Measured::Primitive(Op::Rewrap),
        "aes-kw loop".into(),
        1,
        Box::new(move || {
            let (mut key, mut out) = ([0u8; 32], [0u8; 40]);
            for w in &fx.wrapped {
                let _ = kw_a.unwrap_key(core::hint::black_box(w), &mut key);
                let _ = kw_b.wrap_key(&key, &mut out);
                core::hint::black_box(&out);
            }
            fx.wrapped.len()
        }),
    ));
    jobs.push((
        Measured::Primitive(Op::Wrap),
        "aes-kw loop".into(),
        1,
        Box::new(move || {
            let mut out = [0u8; 40];
            for k in &fx.keys {
                let _ = kw_a.wrap_key(core::hint::black_box(k), &mut out);
                core::hint::black_box(&out);
            }
            fx.keys.len()
        }),
    ));
    jobs.push((
        Measured::Primitive(Op::Unwrap),
        "aes-kw loop".into(),
        1,
        Box::new(move || {
            let mut key = [0u8; 32];
            for w in &fx.wrapped {
                let _ = kw_a.unwrap_key(core::hint::black_box(w), &mut key);
                core::hint::black_box(&key);
            }
            fx.wrapped.len()
        }),
    ));
    let (bk_a, bk_b) = (&bk_a, &bk_b);
    for backend in Backend::available() {
        for &batch in &BATCHES {
            jobs.push((
                Measured::Primitive(Op::Rewrap),
                format!("fastkw {}", backend.name()),
                batch,
                Box::new(move || {
                    let mut out = vec![[0u8; 40]; batch];
                    let mut ok = vec![false; batch];
                    for w in fx.wrapped.chunks(batch) {
                        let n = w.len();
                        let _ = backend.rewrap_batch(
                            bk_a,
                            bk_b,
                            Mode::Kw,
                            w,
                            &mut out[..n],
                            &mut ok[..n],
                        );
                    }
                    core::hint::black_box(&out);
                    fx.wrapped.len()
                }),
            ));
        }
        for op in [Op::Wrap, Op::Unwrap] {
            jobs.push((
                Measured::Primitive(op),
                format!("fastkw {}", backend.name()),
                256,
                Box::new(move || {
                    let mut out = vec![[0u8; 40]; 256];
                    let mut keys = vec![[0u8; 32]; 256];
                    let mut ok = vec![false; 256];
                    if op == Op::Wrap {
                        for k in fx.keys.chunks(256) {
                            let _ = backend.wrap_batch(bk_a, Mode::Kw, k, &mut out[..k.len()]);
                        }
                    } else {
                        for w in fx.wrapped.chunks(256) {
                            let n = w.len();
                            let _ = backend.unwrap_batch(
                                bk_a,
                                Mode::Kw,
                                w,
                                &mut keys[..n],
                                &mut ok[..n],
                            );
                        }
                    }
                    core::hint::black_box((&out, &keys));
                    fx.keys.len()
                }),
            ));
        }
        // the ceiling: 48 independent AES-256 blocks per rewrap
        jobs.push((
            Measured::Ceiling,
            format!("AES-256 blocks, {}", backend.name()),
            4096,
            Box::new(move || {
                let mut blocks = vec![[7u8; 16]; 48 * 256];
                for _ in 0..16 {
                    let _ = fastkw::bench_support::encrypt_blocks(bk_a, backend, &mut blocks);
                }
                core::hint::black_box(&blocks);
                16 * 256
            }),
        ));
    }
    #[cfg(feature = "peers")]
    peers(&mut jobs, fx);
    let mut jobs: Vec<Timed<'_>> = jobs.into_iter().map(timed).collect();
    rounds(&mut jobs, round_count)
}

#[cfg(feature = "peers")]
fn peers<'a>(jobs: &mut Vec<(Measured, String, usize, Job<'a>)>, fx: &'a Fixture) {
    use aws_lc_rs::key_wrap::{AES_256, AesKek, KeyWrap};
    jobs.push((
        Measured::Primitive(Op::Rewrap),
        "aws-lc-rs AesKek".into(),
        1,
        Box::new(move || {
            let (mut key, mut out) = ([0u8; 32], [0u8; 40]);
            for w in &fx.wrapped {
                // AesKek::unwrap/wrap consume the KEK: each call builds it, as a user must
                let _ = AesKek::new(&AES_256, &fx.kek_a)
                    .and_then(|k| k.unwrap(core::hint::black_box(w), &mut key).map(|_| ()));
                let _ = AesKek::new(&AES_256, &fx.kek_b)
                    .and_then(|k| k.wrap(&key, &mut out).map(|_| ()));
            }
            fx.wrapped.len()
        }),
    ));
    let dec = openssl::aes::AesKey::new_decrypt(&fx.kek_a).ok();
    let enc = openssl::aes::AesKey::new_encrypt(&fx.kek_b).ok();
    if let (Some(dec), Some(enc)) = (dec, enc) {
        jobs.push((
            Measured::Primitive(Op::Rewrap),
            "OpenSSL AES_wrap_key".into(),
            1,
            Box::new(move || {
                let (mut key, mut out) = ([0u8; 32], [0u8; 40]);
                for w in &fx.wrapped {
                    let _ =
                        openssl::aes::unwrap_key(&dec, None, &mut key, core::hint::black_box(w));
                    let _ = openssl::aes::wrap_key(&enc, None, &mut out, &key);
                }
                fx.wrapped.len()
            }),
        ));
    }
}

/// Keys of the arena measurement (as many as `flat medium` has leaves).
const ARENA_KEYS: usize = 1 << 20;
/// Keys per call there: what one tenant's run hands the batch layer at most.
const ARENA_CALL: usize = 4096;
/// Passes over the [`KEYS`] keys per timing of the primitive beside the
/// workloads (after one to warm up), so that it lasts tens of milliseconds
/// like the rows it is compared with, not one.
const BESIDE_PASSES: usize = 64;

/// The bulk workloads of the issue and what they are compared with, all in
/// the same rounds (each round times each of them once, in turn, so a load
/// that comes and goes hits them alike; the report takes ratios round by
/// round):
///
/// - `beside rewrap` / `beside unwrap`: the batched primitive on
///   [`KEYS`] keys in cache (256 keys a call, in place), the selected
///   backend;
/// - `arena rewrap` / `arena unwrap`: the same calls ([`ARENA_CALL`] keys
///   each) on a 1M-key arena in place, wraps packed ([`PACKED_STRIDE`]) and
///   spaced as `flat` lays them out ([`FLAT_STRIDE`]);
/// - `flat PRESET: rotate-root ROOT all` (`ROOT` the first customer root,
///   `ck1`) and `unwrap-all` through `keyhier run` (verification off), at 1
///   and 2 threads: ns per key per thread.
pub fn workloads(preset: &str, runs: usize) -> Result<Vec<PerfRow>> {
    use crate::engine::generate::{GenSpec, generate};
    use crate::engine::workload::{RolePick, RunOptions, State, Workload, run};
    use crate::graph::design::{Design, Owner};
    use crate::graph::reach::Extent;
    let design = Design::by_name("flat")?;
    let spec = GenSpec {
        design,
        shape: crate::graph::shape::Shape::preset(preset)?,
        scheme: crate::crypto::scheme::SchemeId::Kw,
        seed: 1,
    };
    let (h, ring) = generate(&spec, &|_| {})?;
    let opts = RunOptions {
        verify: false,
        reference: false,
        ..RunOptions::default()
    };
    let pools = [1usize, 2]
        .into_iter()
        .map(|threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .map(|p| (threads, p))
                .map_err(|e| crate::error::Error::InvalidShape(e.to_string()))
        })
        .collect::<Result<Vec<_>>>()?;
    let f = Fixture::new();
    let (a, b) = (BatchKek::new(&f.kek_a), BatchKek::new(&f.kek_b));
    let backend = Backend::selected();
    let name = backend.name();
    // the primitive in cache: in-place calls on the fixture's KEYS wraps
    // (160 KB, in L2), 256 keys a call; then the same calls on a large arena,
    // the wraps packed and spaced as `flat` lays them out
    let arena = |stride: usize, keys: usize| {
        let offs: Vec<usize> = (0..keys).map(|i| i * stride).collect();
        let mut ar = vec![0u8; keys * stride];
        for (i, &o) in offs.iter().enumerate() {
            if let Some(w) = f.wrapped.get(i % KEYS) {
                ar[o..o + 40].copy_from_slice(w);
            }
        }
        (core::cell::RefCell::new(ar), offs)
    };
    let small = arena(PACKED_STRIDE, KEYS);
    let large = [PACKED_STRIDE, FLAT_STRIDE].map(|stride| (stride, arena(stride, ARENA_KEYS)));
    let mut jobs: Vec<Timed<'_>> = Vec::new();
    let keks = (&a, &b);
    in_place_jobs(
        &mut jobs,
        Measured::Beside,
        format!("fastkw {name}"),
        backend,
        keks,
        (&small.0, &small.1),
        256,
        (2, BESIDE_PASSES),
    );
    for (stride, (ar, offs)) in &large {
        let imp = format!("fastkw {name} stride {stride}");
        in_place_jobs(
            &mut jobs,
            |op| Measured::Arena {
                op,
                stride: *stride,
            },
            imp,
            backend,
            keks,
            (ar, offs),
            ARENA_CALL,
            (0, 2),
        );
    }

    // the workloads, at 1 and 2 threads
    let (h, ring, opts) = (&h, &ring, &opts);
    for w in [
        Workload::RotateRoot {
            role: RolePick::FirstOf(Owner::Customer).resolve(&spec.design)?,
            extent: Extent::All,
            lazy: false,
        },
        Workload::UnwrapAll { cold: false },
    ] {
        for (threads, pool) in &pools {
            let w = w.clone();
            let threads = *threads;
            jobs.push((
                Measured::Workload {
                    design: h.design.name.clone(),
                    preset: preset.to_string(),
                    kind: w.kind(),
                    label: w.label(&spec.design),
                },
                "keyhier run".into(),
                h.leaves() as usize,
                threads,
                Box::new(move || {
                    let mut st = State {
                        h: h.clone(),
                        ring: ring.clone(),
                        gen_seed: Some(1),
                    };
                    let row = pool.install(|| run(&mut st, &w, opts))?;
                    Ok(row.seconds * 1e9 / row.items.max(1) as f64 * threads as f64)
                }),
            ));
        }
    }

    rounds(&mut jobs, runs)
}

/// `what(Op::Rewrap)` and `what(Op::Unwrap)` rows: the wraps at `offs` in `arena`
/// (under `a`), rewrapped in place and unwrapped, `call` keys a call;
/// `passes.1` passes a timing after `passes.0` untimed ones. Rewraps go
/// from `a` to `b` and back, so the arena ends each timing as it began
/// (both counts are even).
#[allow(clippy::too_many_arguments)]
fn in_place_jobs<'a>(
    jobs: &mut Vec<Timed<'a>>,
    what: impl Fn(Op) -> Measured,
    imp: String,
    backend: Backend,
    (a, b): (&'a BatchKek, &'a BatchKek),
    (arena, offs): (&'a core::cell::RefCell<Vec<u8>>, &'a [usize]),
    call: usize,
    (warm, passes): (usize, usize),
) {
    let keys = (passes * offs.len()).max(1) as f64;
    jobs.push((
        what(Op::Rewrap),
        imp.clone(),
        call,
        1,
        Box::new(move || {
            let mut ar = arena.borrow_mut();
            let mut pass = |i: usize| -> Result<()> {
                let (from, to) = if i.is_multiple_of(2) { (a, b) } else { (b, a) };
                for c in offs.chunks(call) {
                    backend.rewrap_at(from, to, Mode::Kw, &mut ar, c)?;
                }
                Ok(())
            };
            (0..warm).try_for_each(&mut pass)?;
            let start = Instant::now();
            (0..passes).try_for_each(&mut pass)?;
            Ok(start.elapsed().as_nanos() as f64 / keys)
        }),
    ));
    jobs.push((
        what(Op::Unwrap),
        imp,
        call,
        1,
        Box::new(move || {
            let ar = arena.borrow();
            let mut sum = 0u64;
            let mut pass = |_| -> Result<()> {
                for c in offs.chunks(call) {
                    backend.unwrap_at(a, Mode::Kw, &ar, c, &mut |_, keys, ok| {
                        // consume every key, as a caller would
                        sum = keys.iter().zip(ok).fold(sum, |s, (k, &ok)| {
                            s.wrapping_add(u64::from(k[0]) + u64::from(ok))
                        });
                        Ok(())
                    })?;
                }
                Ok(())
            };
            (0..warm).try_for_each(&mut pass)?;
            let start = Instant::now();
            (0..passes).try_for_each(&mut pass)?;
            core::hint::black_box(sum);
            Ok(start.elapsed().as_nanos() as f64 / keys)
        }),
    ));
}
