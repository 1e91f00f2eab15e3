//! The perf results folder: `summary.md`, `raw.csv` (every round),
//! `env.json` and `batch-size.svg`. The summary is a sequence of sections,
//! one function each: the primitives beside their peers, batch size, wrap
//! and unwrap alone, the bulk workloads beside the primitive, where the
//! engine's time goes, and what limits it. Ratios between rows are taken
//! round by round (the rows were timed in the same rounds), then their
//! median. Rows in, files out; nothing is measured here.

use std::fmt::Write;

use crate::error::Result;
use crate::report::csv::perf_csv;
use crate::report::folder::Folder;
use crate::stats;
use crate::suite::perf::{BATCHES, FLAT_STRIDE, KEYS, Measured, Op, PerfRow};

/// The perf folder: summary.md, raw.csv, env.json and batch-size.svg.
pub fn write_perf(
    dir: &std::path::Path,
    prims: &[PerfRow],
    works: &[PerfRow],
    command: &str,
    env: &serde_json::Value,
) -> Result<Vec<String>> {
    let folder = Folder::create(dir)?;
    folder.put("raw.csv", &perf_csv(prims.iter().chain(works))?)?;
    folder.put_env(env)?;
    let plot = crate::report::plot::batch_plot(prims, folder.path(), env)?;
    let engine = EngineRows::of(works);
    let mut s = String::new();
    rewrap_section(&mut s, prims, command);
    batch_section(&mut s, prims, &plot);
    wrap_unwrap_section(&mut s, prims);
    workloads_section(&mut s, prims, &engine);
    stages_section(&mut s, &engine);
    limits_section(&mut s, prims, &engine);
    portable_note(&mut s, prims, env);
    let _ = writeln!(s, "\n![{plot}]({plot})\n");
    folder.put("summary.md", &s)?;
    Ok(vec![
        "summary.md".into(),
        "raw.csv".into(),
        "env.json".into(),
        plot,
    ])
}

/// The fastest row measuring `what` whose implementation starts with `imp`.
fn best<'a>(rows: &'a [PerfRow], what: &Measured, imp: &str) -> Option<&'a PerfRow> {
    rows.iter()
        .filter(|r| r.what == *what && r.implementation.starts_with(imp))
        .min_by(|a, b| a.ns_per_key.total_cmp(&b.ns_per_key))
}

/// The implementations that measured `what`, in the order first seen.
fn implementations<'a>(rows: &'a [PerfRow], what: &Measured) -> Vec<&'a str> {
    let mut imps: Vec<&str> = Vec::new();
    for r in rows.iter().filter(|r| r.what == *what) {
        if !imps.contains(&r.implementation.as_str()) {
            imps.push(&r.implementation);
        }
    }
    imps
}

/// `a / b` round by round.
fn per_round(a: &PerfRow, b: &PerfRow) -> Vec<f64> {
    a.rounds.iter().zip(&b.rounds).map(|(x, y)| x / y).collect()
}

/// The median of `a / b` round by round.
fn ratio(a: &PerfRow, b: &PerfRow) -> f64 {
    stats::median(&per_round(a, b)).unwrap_or(f64::NAN)
}

const REWRAP: Measured = Measured::Primitive(Op::Rewrap);

/// The primitive table: each rewrap at its best batch, beside the `aes-kw`
/// loop, `aws-lc-rs` and the AES ceiling.
fn rewrap_section(s: &mut String, prims: &[PerfRow], command: &str) {
    let kw = best(prims, &REWRAP, "aes-kw loop").map_or(f64::NAN, |r| r.ns_per_key);
    let aws = best(prims, &REWRAP, "aws-lc-rs").map(|r| r.ns_per_key);
    let ceiling = best(prims, &Measured::Ceiling, "AES-256").map_or(f64::NAN, |r| r.ns_per_key);
    let vs_aws = |ns: f64| aws.map_or("—".into(), |a| format!("{:.1}×", a / ns));
    let _ = writeln!(
        s,
        "# Bulk key wrap on this machine: the batched path beside its peers\n"
    );
    let _ = writeln!(
        s,
        "Produced by `{command}`: every implementation timed once per round, in turn, medians over rounds; one thread; 4,096 32-byte keys under AES-256 KEKs (RFC 3394). Machine, build and versions in `env.json`; every round in `raw.csv`.\n"
    );
    let _ = writeln!(
        s,
        "## Rewrap (unwrap under one KEK, wrap under another: 48 AES-256 blocks)\n"
    );
    let _ = writeln!(
        s,
        "Each implementation at its best batch size. The ceiling is 48 independent AES-256 blocks through the same instructions, fully pipelined.\n"
    );
    let _ = writeln!(
        s,
        "| implementation | best batch | ns per rewrap | × aes-kw loop | × aws-lc-rs | ÷ ceiling |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|");
    for imp in implementations(prims, &REWRAP) {
        if let Some(r) = prims
            .iter()
            .filter(|r| r.what == REWRAP && r.implementation == imp)
            .min_by(|a, b| a.ns_per_key.total_cmp(&b.ns_per_key))
        {
            let _ = writeln!(
                s,
                "| {imp} | {} | {:.1} | {:.1}× | {} | {:.2} |",
                r.batch,
                r.ns_per_key,
                kw / r.ns_per_key,
                vs_aws(r.ns_per_key),
                r.ns_per_key / ceiling
            );
        }
    }
    for r in prims.iter().filter(|r| r.what == Measured::Ceiling) {
        let _ = writeln!(
            s,
            "| ceiling: {} | — | {:.1} | {:.1}× | {} | 1.00 |",
            r.implementation,
            r.ns_per_key,
            kw / r.ns_per_key,
            vs_aws(r.ns_per_key)
        );
    }
    if aws.is_none() {
        let _ = writeln!(
            s,
            "\n(Peers not built in: rerun with `cargo run --release --features peers -- perf` for aws-lc-rs and OpenSSL.)"
        );
    }
}

/// Rewrap ns per key of every fastkw backend at every batch size.
fn batch_section(s: &mut String, prims: &[PerfRow], plot: &str) {
    let _ = writeln!(
        s,
        "\n## Batch size\n\nRewrap ns per key by batch size (`{plot}`):\n"
    );
    let _ = write!(s, "| backend |");
    for b in BATCHES {
        let _ = write!(s, " {b} |");
    }
    let _ = writeln!(s, "\n|---|{}", "---:|".repeat(BATCHES.len()));
    let imps = implementations(prims, &REWRAP);
    for imp in imps.iter().filter(|i| i.starts_with("fastkw")) {
        let _ = write!(s, "| {imp} |");
        for b in BATCHES {
            let v = prims
                .iter()
                .find(|r| r.what == REWRAP && r.implementation == *imp && r.batch == b)
                .map_or("—".into(), |r| format!("{:.0}", r.ns_per_key));
            let _ = write!(s, " {v} |");
        }
        let _ = writeln!(s);
    }
}

/// Wrap and unwrap alone, each implementation that measured a wrap.
fn wrap_unwrap_section(s: &mut String, prims: &[PerfRow]) {
    let _ = writeln!(
        s,
        "\n## Wrap and unwrap alone (batch 256)\n\n| implementation | wrap ns | unwrap ns |\n|---|---:|---:|"
    );
    let ns = |op: Op, imp: &str| {
        prims
            .iter()
            .find(|r| r.what == Measured::Primitive(op) && r.implementation == imp)
            .map_or(f64::NAN, |r| r.ns_per_key)
    };
    for imp in implementations(prims, &Measured::Primitive(Op::Wrap)) {
        let (w, u) = (ns(Op::Wrap, imp), ns(Op::Unwrap, imp));
        let _ = writeln!(s, "| {imp} | {w:.1} | {u:.1} |");
    }
}

/// The rows of the engine rounds: the primitive beside, the arena passes and
/// the workloads.
struct EngineRows<'a> {
    works: &'a [PerfRow],
    arena: Vec<&'a PerfRow>,
    runs: Vec<&'a PerfRow>,
}

impl<'a> EngineRows<'a> {
    fn of(works: &'a [PerfRow]) -> EngineRows<'a> {
        EngineRows {
            works,
            arena: works
                .iter()
                .filter(|r| matches!(r.what, Measured::Arena { .. }))
                .collect(),
            runs: works
                .iter()
                .filter(|r| matches!(r.what, Measured::Workload { .. }))
                .collect(),
        }
    }

    /// The batched primitive in cache doing `op`.
    fn beside(&self, op: Op) -> Option<&'a PerfRow> {
        self.works.iter().find(|r| r.what == Measured::Beside(op))
    }

    /// The batched primitive a workload row is compared with.
    fn primitive_of(&self, run: &PerfRow) -> Option<&'a PerfRow> {
        self.beside(run.what.primitive_of_workload()?)
    }

    /// The same workload as `run` on one thread.
    fn one_thread(&self, run: &PerfRow) -> Option<&'a PerfRow> {
        self.runs
            .iter()
            .find(|o| o.what == run.what && o.threads == 1)
            .copied()
    }

    /// The one-thread workload whose work is `op`.
    fn workload_doing(&self, op: Op) -> Option<&'a PerfRow> {
        self.runs
            .iter()
            .find(|r| r.threads == 1 && r.what.primitive_of_workload() == Some(op))
            .copied()
    }

    /// The arena row doing `op` with wraps `stride` bytes apart.
    fn arena_at(&self, op: Op, stride: usize) -> Option<&'a PerfRow> {
        self.arena
            .iter()
            .find(|r| r.what == Measured::Arena { op, stride })
            .copied()
    }

    /// The arena strides, in the order first seen.
    fn strides(&self) -> Vec<usize> {
        let mut strides = Vec::new();
        for r in &self.arena {
            if let Measured::Arena { stride, .. } = r.what
                && !strides.contains(&stride)
            {
                strides.push(stride);
            }
        }
        strides
    }
}

/// The bulk workloads at 1 and 2 threads beside the batched primitive and
/// the `aes-kw` loop.
fn workloads_section(s: &mut String, prims: &[PerfRow], engine: &EngineRows<'_>) {
    if engine.runs.is_empty() {
        return;
    }
    let _ = writeln!(s, "\n## The engine around it: bulk workloads on `flat`\n");
    let _ = writeln!(
        s,
        "`keyhier run` with verification off (what is timed is the workload), 1 and 2 threads, in the same rounds as the batched primitive on {KEYS} keys in cache (batch 256, the selected backend: rewrap for rotation, unwrap for unwrap-all) and the arena passes below. Per-thread cost per key (median over rounds); the ratios are taken round by round, then their median.\n"
    );
    let _ = writeln!(
        s,
        "| workload | threads | ns per key per thread | keys/s | ÷ batched primitive | × aes-kw loop per thread | 2 threads ÷ 1 |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|");
    for r in &engine.runs {
        let op = r.what.primitive_of_workload().unwrap_or(Op::Unwrap);
        let loop_ns =
            best(prims, &Measured::Primitive(op), "aes-kw loop").map_or(f64::NAN, |p| p.ns_per_key);
        let vs_prim = engine.primitive_of(r).map_or(f64::NAN, |p| ratio(r, p));
        let scaling = match engine.one_thread(r) {
            Some(one) if r.threads > 1 => format!("{:.2}×", ratio(one, r) * r.threads as f64),
            _ => "—".to_string(),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {:.1} | {:.0} | {:.2} | {:.1}× | {scaling} |",
            r.what,
            r.threads,
            r.ns_per_key,
            1e9 / r.ns_per_key * r.threads as f64,
            vs_prim,
            loop_ns / r.ns_per_key
        );
    }
}

/// From the primitive in cache to the workload, one step at a time, on one
/// thread.
fn stages_section(s: &mut String, engine: &EngineRows<'_>) {
    let Some(first) = engine.arena.first() else {
        return;
    };
    let _ = writeln!(
        s,
        "\n## Where the engine's time goes (one thread)\n\nFrom the primitive in cache to the engine, one step at a time, all in the same rounds: the same batched calls ({} keys each) on a 1M-key arena in place, the wraps packed and then spaced as `flat` lays them out; then the workload itself. ns per key, and ÷ the primitive round by round.\n",
        first.batch
    );
    let _ = writeln!(
        s,
        "| stage | rewrap (rotate-root) | ÷ primitive | unwrap (unwrap-all) | ÷ primitive |\n|---|---:|---:|---:|---:|"
    );
    let cell = |r: Option<&PerfRow>, p: Option<&PerfRow>| match (r, p) {
        (Some(r), Some(p)) => format!("{:.1} | {:.2}", r.ns_per_key, ratio(r, p)),
        (Some(r), None) => format!("{:.1} | —", r.ns_per_key),
        _ => "— | —".into(),
    };
    let (pr, pu) = (engine.beside(Op::Rewrap), engine.beside(Op::Unwrap));
    let _ = writeln!(
        s,
        "| primitive, {KEYS} keys in cache, batch 256 | {} | {} |",
        cell(pr, pr),
        cell(pu, pu)
    );
    for st in engine.strides() {
        let _ = writeln!(
            s,
            "| on a 1M-key arena, wraps {st} bytes apart | {} | {} |",
            cell(engine.arena_at(Op::Rewrap, st), pr),
            cell(engine.arena_at(Op::Unwrap, st), pu)
        );
    }
    let _ = writeln!(
        s,
        "| the workload (`flat`, table above) | {} | {} |",
        cell(engine.workload_doing(Op::Rewrap), pr),
        cell(engine.workload_doing(Op::Unwrap), pu)
    );
    let _ = writeln!(
        s,
        "\nThe arena rows add memory traffic: the arena is far larger than the caches, and at `flat`'s spacing every cache line of the leaves' slots is read (and, for a rewrap, written back) for one wrap in three; the kernels hint the next chunk's wraps during the current one, and the lines past a batch during its last chunk, which hides most of it. The last row adds the engine's own work: per tenant, its batches by KEK and two key schedules; per leaf, finding its slot and (unwrap-all) checking the key against a fingerprint of the expected one; and tenants too small to fill the AES pipeline."
    );
}

/// What limits the batched path: the instruction mix, memory traffic and
/// the two cores, each from the figures above.
fn limits_section(s: &mut String, prims: &[PerfRow], engine: &EngineRows<'_>) {
    let best_rewrap = best(prims, &REWRAP, "fastkw");
    // the ceiling of the same backend: "AES-256 blocks, NAME" beside "fastkw NAME"
    let ceil = prims
        .iter()
        .filter(|r| r.what == Measured::Ceiling)
        .find(|r| {
            best_rewrap.is_some_and(|b| {
                b.implementation
                    .ends_with(r.implementation.rsplit(", ").next().unwrap_or(""))
            })
        });
    if let (Some(b), Some(c)) = (best_rewrap, ceil) {
        let _ = writeln!(s, "\n## What limits it\n");
        let _ = writeln!(
            s,
            "- **The instruction mix.** The best batched rewrap ({}, {:.1} ns) is {:.2}× the AES ceiling of its instructions ({:.1} ns for 48 blocks). Besides the 15 AES rounds of each of its 48 steps, a step blends the key's next semiblock into the register and folds the step counter into a round key, and every chunk moves its keys into registers and back, with a constant-time integrity check per key.",
            b.implementation,
            b.ns_per_key,
            b.ns_per_key / c.ns_per_key,
            c.ns_per_key
        );
    }
    if let (Some(pr), Some(a)) = (
        engine.beside(Op::Rewrap),
        engine.arena_at(Op::Rewrap, FLAT_STRIDE),
    ) {
        let _ = writeln!(
            s,
            "- **Memory traffic.** On a 1M-key arena at `flat`'s spacing a rewrap costs {:.2}× the same calls in cache: the kernels hint the next chunk's wraps during the current one, so the lines arrive while the AES units work. What memory still costs shows at the start of each batch, which the engine's many small tenants make frequent.",
            ratio(a, pr)
        );
    }
    let scalings: Vec<(String, String)> = engine
        .runs
        .iter()
        .filter(|r| r.threads == 2)
        .filter_map(|r| two_threads(engine.one_thread(r)?, r))
        .collect();
    if !scalings.is_empty() {
        let (ratios, spread): (Vec<String>, Vec<String>) = scalings.into_iter().unzip();
        let _ = writeln!(
            s,
            "- **The 2 cores.** Two threads over one, median of the rounds (quartiles): {}. Tenants go to threads in pieces of equal work, so no thread waits for the largest tenant; what is left is the serial part of a run (new root versions, cutting the work into pieces), both cores sharing one memory system (a rewrap writes back every line it reads), and the host. In the rounds where one thread ran within 5% of its best, two threads took per key per thread {}: when the host takes one core away for a while, a 1-thread run can go on on the other, a 2-thread run cannot. `raw.csv` has every round.",
            ratios.join(", "),
            spread.join("; ")
        );
    }
}

/// Why `fastkw portable` can beat `fastkw aesni`, when it did: the AES
/// instructions each ran on (`fastkw_instructions` in `env.json`) and the
/// ceilings of both.
fn portable_note(s: &mut String, prims: &[PerfRow], env: &serde_json::Value) {
    let row = |what: &Measured, imp: &str| {
        prims
            .iter()
            .filter(|r| r.what == *what && r.implementation == imp)
            .min_by(|a, b| a.ns_per_key.total_cmp(&b.ns_per_key))
    };
    let (Some(p), Some(a)) = (
        row(&REWRAP, "fastkw portable"),
        row(&REWRAP, "fastkw aesni"),
    ) else {
        return;
    };
    if p.ns_per_key >= a.ns_per_key {
        return;
    }
    let on = |b: &str| {
        env.pointer(&format!("/run/fastkw_instructions/{b}"))
            .and_then(|v| v.as_str())
            .unwrap_or("(not recorded)")
            .to_owned()
    };
    let ceiling = |b: &str| {
        row(&Measured::Ceiling, &format!("AES-256 blocks, {b}")).map_or(f64::NAN, |r| r.ns_per_key)
    };
    let _ = writeln!(
        s,
        "- **Why `fastkw portable` beats `fastkw aesni` here ({:.1} against {:.1} ns a rewrap).** The portable backend is safe code over the `aes` crate's block API, and that crate picks its own instructions at run time: here {}. `aesni` runs {}, one block per instruction, and its ceiling ({:.1} ns for 48 blocks) is already above the portable path's ({:.1} ns): `aesni` runs at {:.2}× its own ceiling, so its kernel is not what is slow, the instructions are. `aesni` is the path for a CPU with AES-NI and no VAES, where the `aes` crate runs AES-NI too; where VAES is present, `vaes512` or `vaes256` is selected ahead of both.",
        p.ns_per_key,
        a.ns_per_key,
        on("portable"),
        on("aesni"),
        ceiling("aesni"),
        ceiling("portable"),
        a.ns_per_key / ceiling("aesni"),
    );
}

/// Two threads (`two`) over one (`one`), round by round: the median with its
/// quartiles; and how the 2-thread runs spread in the rounds where one
/// thread ran within 5% of its best (a host that takes one core away slows
/// those alone). `None` without rounds.
fn two_threads(one: &PerfRow, two: &PerfRow) -> Option<(String, String)> {
    let v: Vec<f64> = per_round(one, two).into_iter().map(|x| 2.0 * x).collect();
    if v.is_empty() {
        return None;
    }
    let v = stats::sorted(&v);
    let q = |p: f64| stats::quantile_of_sorted(&v, p).unwrap_or(f64::NAN);
    let best = one.rounds.iter().copied().fold(f64::INFINITY, f64::min);
    let at_best: Vec<f64> = one
        .rounds
        .iter()
        .zip(&two.rounds)
        .filter(|(a, _)| **a <= best * 1.05)
        .map(|(_, b)| *b)
        .collect();
    let lo = at_best.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = at_best.iter().copied().fold(0.0, f64::max);
    Some((
        format!(
            "{} {:.2}× ({:.2}–{:.2})",
            two.what,
            q(0.5),
            q(0.25),
            q(0.75)
        ),
        format!(
            "{}: {:.1} to {:.1} ns (one thread: {:.1} at best)",
            two.what, lo, hi, best
        ),
    ))
}

#[cfg(test)]
mod tests {
    use crate::suite::perf::{Measured, Op, PerfRow};

    fn row(what: Measured, imp: &str, threads: usize, rounds: &[f64]) -> PerfRow {
        let ns = crate::stats::median(rounds).expect("rounds");
        PerfRow {
            what,
            implementation: imp.into(),
            batch: 256,
            threads,
            ns_per_key: ns,
            keys_per_s_per_thread: 1e9 / ns,
            rounds: rounds.to_vec(),
        }
    }

    fn flat_medium(kind: crate::engine::workload::WorkloadKind, label: &str) -> Measured {
        Measured::Workload {
            design: "flat".into(),
            preset: "medium".into(),
            kind,
            label: label.into(),
        }
    }

    fn rotate() -> Measured {
        flat_medium(
            crate::engine::workload::WorkloadKind::RotateRoot,
            "rotate-root ck1 all",
        )
    }

    fn unwrap_all() -> Measured {
        flat_medium(
            crate::engine::workload::WorkloadKind::UnwrapAll,
            "unwrap-all",
        )
    }

    /// Ratios are taken round by round: a machine that halves its speed in
    /// some rounds changes the medians, not the ratios.
    #[test]
    fn perf_summary_takes_ratios_round_by_round() {
        let dir = std::env::temp_dir().join(format!("keyhier-perf-test-{}", std::process::id()));
        let prims = vec![row(
            Measured::Primitive(Op::Rewrap),
            "aes-kw loop",
            1,
            &[1000.0, 2000.0, 1000.0],
        )];
        // slow rounds (the second) double everything; every ratio stays the same
        let works = vec![
            row(
                Measured::Beside(Op::Rewrap),
                "fastkw x",
                1,
                &[50.0, 100.0, 50.0],
            ),
            row(
                Measured::Beside(Op::Unwrap),
                "fastkw x",
                1,
                &[30.0, 60.0, 30.0],
            ),
            row(
                Measured::Arena {
                    op: Op::Rewrap,
                    stride: 120,
                },
                "fastkw x stride 120",
                1,
                &[55.0, 110.0, 55.0],
            ),
            row(
                Measured::Arena {
                    op: Op::Unwrap,
                    stride: 120,
                },
                "fastkw x stride 120",
                1,
                &[33.0, 66.0, 33.0],
            ),
            row(rotate(), "keyhier run", 1, &[70.0, 140.0, 70.0]),
            // the third round took one core away from the 2-thread run alone
            row(rotate(), "keyhier run", 2, &[80.0, 160.0, 120.0]),
            row(unwrap_all(), "keyhier run", 1, &[45.0, 90.0, 45.0]),
            row(unwrap_all(), "keyhier run", 2, &[50.0, 100.0, 50.0]),
        ];
        let env = serde_json::json!({});
        super::write_perf(&dir, &prims, &works, "keyhier perf", &env).expect("written");
        let s = std::fs::read_to_string(dir.join("summary.md")).expect("summary");
        let _ = std::fs::remove_dir_all(&dir);
        // 70 / 50 = 1.40; 2 threads: 70 / 80 * 2 = 1.75
        assert!(
            s.contains("| flat medium: rotate-root ck1 all | 1 | 70.0 | 14285714 | 1.40 |"),
            "{s}"
        );
        assert!(s.contains("| 1.75× |"), "{s}");
        // the 2-thread ratios with their quartiles, and the 2-thread runs of the
        // rounds where one thread ran at its best
        assert!(
            s.contains("flat medium: unwrap-all 1.80× (1.80–1.80)"),
            "{s}"
        );
        assert!(
            s.contains(
                "flat medium: rotate-root ck1 all: 80.0 to 120.0 ns (one thread: 70.0 at best)"
            ),
            "{s}"
        );
        // 45 / 30 = 1.50; 55 / 50 = 1.10
        assert!(
            s.contains("| flat medium: unwrap-all | 1 | 45.0 | 22222222 | 1.50 |"),
            "{s}"
        );
        assert!(
            s.contains("| on a 1M-key arena, wraps 120 bytes apart | 55.0 | 1.10 | 33.0 | 1.10 |"),
            "{s}"
        );
    }
}
