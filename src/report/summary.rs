//! Turning typed rows into what people read: Markdown tables (and, for
//! `compare`, CSV, JSON and SVG). Nothing here computes a measurement.

use std::fmt::Write;

use crate::analysis::exposure::Blast;
use crate::engine::cost::ProfileId;

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// Exposure and availability as two Markdown tables.
pub fn blast_markdown(b: &Blast) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "## Exposure: an attacker holds these keys and a copy of every stored wrap\n"
    );
    let _ = writeln!(
        s,
        "| design | keys held | extent | keys | leaves exposed | of all leaves | tenants affected | of their leaves | keys with leaked shares below threshold |"
    );
    let _ = writeln!(s, "|---|---|---|---:|---:|---:|---:|---:|---:|");
    for r in &b.exposure {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.design,
            r.roles,
            r.extent.name(),
            r.keys_held,
            r.leaves_exposed,
            pct(r.share_of_all),
            r.affected_tenants,
            pct(r.share_of_affected),
            r.partial_share_keys
        );
    }
    let _ = writeln!(s, "\n## Availability: the owner has lost these keys\n");
    let _ = writeln!(
        s,
        "| design | keys lost | extent | keys | leaves still recoverable | of all leaves | leaves lost |"
    );
    let _ = writeln!(s, "|---|---|---|---:|---:|---:|---:|");
    for r in &b.availability {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.design,
            r.roles,
            r.extent.name(),
            r.keys_lost,
            r.leaves_recoverable,
            pct(r.share_recoverable),
            r.leaves_lost
        );
    }
    s
}

/// A run as text for a terminal: counts measured beside the model's, times, verification.
pub fn run_text(r: &crate::engine::workload::RunRow) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} on {} ({}, {} threads)",
        r.workload, r.design, r.scheme, r.threads
    );
    let _ = writeln!(s, "shape: {}", r.shape);
    let _ = writeln!(
        s,
        "tenants {}  groups {}  leaves {}  keys {}  stored wraps {}",
        r.tenants, r.groups, r.leaves, r.keys, r.stored_wraps
    );
    let _ = writeln!(s, "\n{:<20} {:>14} {:>14}", "count", "measured", "analytic");
    let rows: [(&str, u64, u64); 9] = [
        ("wraps", r.measured.wraps, r.analytic.wraps),
        ("unwraps", r.measured.unwraps, r.analytic.unwraps),
        ("root operations", r.measured.root_ops, r.analytic.root_ops),
        (
            "keys re-keyed",
            r.measured.keys_rekeyed,
            r.analytic.keys_rekeyed,
        ),
        (
            "leaves re-keyed",
            r.measured.leaves_rekeyed,
            r.analytic.leaves_rekeyed,
        ),
        (
            "keys re-shared",
            r.measured.keys_reshared,
            r.analytic.keys_reshared,
        ),
        (
            "roots replaced",
            r.measured.roots_replaced,
            r.analytic.roots_replaced,
        ),
        (
            "wraps rewritten",
            r.measured.wraps_rewritten,
            r.analytic.wraps_rewritten,
        ),
        (
            "bytes rewritten",
            r.measured.bytes_rewritten,
            r.analytic.bytes_rewritten,
        ),
    ];
    for (name, m, a) in rows {
        let _ = writeln!(
            s,
            "{name:<20} {m:>14} {a:>14}{}",
            if m == a { "" } else { "  MISMATCH" }
        );
    }
    let _ = writeln!(s, "counts match the model: {}", r.counts_match);
    if let (Some(d), Some(secs)) = (&r.deferred, r.deferred_seconds) {
        let _ = writeln!(
            s,
            "\nlazy: at once {:.6} s (new root versions only); deferred to first access: {} wraps, {} unwraps, {:.3} s",
            r.seconds, d.wraps, d.unwraps, secs
        );
    }
    let _ = writeln!(
        s,
        "\nwall {:.3} s  {:.0} items/s  {:.0} wrap+unwrap/s",
        r.seconds, r.items_per_s, r.ops_per_s
    );
    if let Some(r) = &r.reference {
        let _ = writeln!(
            s,
            "side by side: aes-kw one key at a time does {:.0} {}s/s on one thread; this run did {:.1}x that per thread",
            r.aes_kw_loop_per_s, r.primitive, r.speedup_per_thread
        );
    }
    let _ = writeln!(
        s,
        "per-tenant latency: p50 {:.3} ms  p99 {:.3} ms  max {:.3} ms",
        r.tenant_p50_ms, r.tenant_p99_ms, r.tenant_max_ms
    );
    if let Some(p) = r.peak_rss_bytes {
        let _ = writeln!(s, "peak memory {:.1} MiB", p as f64 / (1u64 << 20) as f64);
    }
    let roots: Vec<String> = r
        .root_seconds
        .iter()
        .map(|(n, t)| format!("{n} {}", human_secs(*t)))
        .collect();
    let _ = writeln!(s, "root operations alone would take: {}", roots.join(", "));
    if r.data.mode != crate::engine::workload::DataMode::None {
        let _ = writeln!(
            s,
            "data re-encryption: {} bytes, {} ({:.3} s at {:.2} GB/s)",
            r.data.bytes, r.data.mode, r.data.seconds, r.data.gb_per_s
        );
    }
    if let Some(alt) = &r.rewrap_only {
        let _ = writeln!(
            s,
            "rewrap-only alternative: {} wraps, {} unwraps, {} root ops; leaves it leaves behind a single key: {}",
            alt.counts.wraps, alt.counts.unwraps, alt.counts.root_ops, alt.leaves_left_single_key
        );
    }
    if let Some(c) = r.crypto_shred {
        let _ = writeln!(
            s,
            "cryptographic shred: {c}; stored wraps to delete instead: {}",
            r.wraps_to_delete.unwrap_or(0)
        );
    }
    let v = &r.verification;
    let _ = writeln!(
        s,
        "\nverified: {}  ({} leaves checked, {} wrong, {} hostile attempts, {} opened; {} unwraps, {:.3} s)",
        v.verified,
        v.leaves_checked,
        v.leaves_wrong,
        v.hostile_attempts,
        v.hostile_opened,
        v.unwraps,
        v.seconds
    );
    for n in &v.notes {
        let _ = writeln!(s, "  - {n}");
    }
    s
}

/// Seconds as a short human figure.
pub fn human_secs(t: f64) -> String {
    if t < 1.0 {
        format!("{:.0} ms", t * 1e3)
    } else if t < 120.0 {
        format!("{t:.1} s")
    } else if t < 7200.0 {
        format!("{:.1} min", t / 60.0)
    } else if t < 172_800.0 {
        format!("{:.1} h", t / 3600.0)
    } else {
        format!("{:.1} days", t / 86400.0)
    }
}

/// CSV header and rows, one row per run.
pub fn runs_csv(rows: &[crate::engine::workload::RunRow]) -> String {
    let mut s = String::new();
    let counts = [
        "wraps",
        "unwraps",
        "root_ops",
        "keys_rekeyed",
        "leaves_rekeyed",
        "keys_reshared",
        "roots_replaced",
        "wraps_rewritten",
        "bytes_rewritten",
    ];
    let profiles: Vec<String> = rows
        .first()
        .map(|r| r.root_seconds.iter().map(|(n, _)| n.clone()).collect())
        .unwrap_or_default();
    let mut head: Vec<String> = [
        "design",
        "workload",
        "kind",
        "role",
        "extent",
        "scheme",
        "shape",
        "threads",
        "tenants",
        "groups",
        "leaves",
        "keys",
        "stored_wraps",
    ]
    .iter()
    .map(|x| x.to_string())
    .collect();
    head.extend(counts.iter().map(|c| format!("measured_{c}")));
    head.extend(counts.iter().map(|c| format!("analytic_{c}")));
    head.extend(
        [
            "counts_match",
            "deferred_wraps",
            "deferred_seconds",
            "seconds",
            "items",
            "items_per_s",
            "ops_per_s",
            "tenant_p50_ms",
            "tenant_p99_ms",
            "tenant_max_ms",
            "peak_rss_bytes",
        ]
        .iter()
        .map(|x| x.to_string()),
    );
    head.extend(profiles.iter().map(|p| format!("root_seconds_{p}")));
    head.extend(
        [
            "data_bytes",
            "data_mode",
            "data_seconds",
            "data_gb_per_s",
            "rewrap_only_wraps",
            "rewrap_only_root_ops",
            "rewrap_only_leaves_single_key",
            "crypto_shred",
            "wraps_to_delete",
            "verified",
            "verify_leaves_checked",
            "verify_leaves_wrong",
            "verify_hostile_attempts",
            "verify_hostile_opened",
            "verify_unwraps",
            "verify_seconds",
        ]
        .iter()
        .map(|x| x.to_string()),
    );
    let _ = writeln!(s, "{}", head.join(","));
    for r in rows {
        let c = |x: &crate::graph::counts::Counts| -> Vec<String> {
            [
                x.wraps,
                x.unwraps,
                x.root_ops,
                x.keys_rekeyed,
                x.leaves_rekeyed,
                x.keys_reshared,
                x.roots_replaced,
                x.wraps_rewritten,
                x.bytes_rewritten,
            ]
            .iter()
            .map(u64::to_string)
            .collect()
        };
        let opt = |o: Option<String>| o.unwrap_or_default();
        let mut f: Vec<String> = vec![
            r.design.clone(),
            r.workload.clone(),
            r.kind.to_string(),
            opt(r.role.clone()),
            opt(r.extent.map(|e| e.name().to_string())),
            r.scheme.to_string(),
            r.shape.clone(),
            r.threads.to_string(),
            r.tenants.to_string(),
            r.groups.to_string(),
            r.leaves.to_string(),
            r.keys.to_string(),
            r.stored_wraps.to_string(),
        ];
        f.extend(c(&r.measured));
        f.extend(c(&r.analytic));
        f.extend([
            r.counts_match.to_string(),
            opt(r.deferred.map(|d| d.wraps.to_string())),
            opt(r.deferred_seconds.map(|d| format!("{d:.6}"))),
            format!("{:.6}", r.seconds),
            r.items.to_string(),
            format!("{:.1}", r.items_per_s),
            format!("{:.1}", r.ops_per_s),
            format!("{:.3}", r.tenant_p50_ms),
            format!("{:.3}", r.tenant_p99_ms),
            format!("{:.3}", r.tenant_max_ms),
            opt(r.peak_rss_bytes.map(|p| p.to_string())),
        ]);
        f.extend(r.root_seconds.iter().map(|(_, t)| format!("{t:.3}")));
        f.extend([
            r.data.bytes.to_string(),
            r.data.mode.to_string(),
            format!("{:.6}", r.data.seconds),
            format!("{:.3}", r.data.gb_per_s),
            opt(r.rewrap_only.as_ref().map(|a| a.counts.wraps.to_string())),
            opt(r
                .rewrap_only
                .as_ref()
                .map(|a| a.counts.root_ops.to_string())),
            opt(r
                .rewrap_only
                .as_ref()
                .map(|a| a.leaves_left_single_key.to_string())),
            opt(r.crypto_shred.map(|c| c.to_string())),
            opt(r.wraps_to_delete.map(|c| c.to_string())),
            r.verification.verified.to_string(),
            r.verification.leaves_checked.to_string(),
            r.verification.leaves_wrong.to_string(),
            r.verification.hostile_attempts.to_string(),
            r.verification.hostile_opened.to_string(),
            r.verification.unwraps.to_string(),
            format!("{:.6}", r.verification.seconds),
        ]);
        let f: Vec<String> = f.into_iter().map(csv_field).collect();
        let _ = writeln!(s, "{}", f.join(","));
    }
    s
}

fn csv_field(x: String) -> String {
    if x.contains([',', '"', '\n']) {
        format!("\"{}\"", x.replace('"', "\"\""))
    } else {
        x
    }
}

fn find<'a>(
    rows: &'a [crate::engine::workload::RunRow],
    design: &str,
    label: &str,
) -> Option<&'a crate::engine::workload::RunRow> {
    rows.iter()
        .find(|r| r.design == design && r.workload == label)
}

fn root_time(r: &crate::engine::workload::RunRow, profile: ProfileId) -> String {
    r.root_seconds
        .iter()
        .find(|(n, _)| n == profile.name())
        .map(|(_, t)| human_secs(*t))
        .unwrap_or_default()
}

/// The largest (or smallest) share among `rows`, with every role set that reaches it.
fn extreme<'a>(rows: impl Iterator<Item = (&'a str, f64)>, largest: bool) -> String {
    let rows: Vec<(&str, f64)> = rows.collect();
    let pick = if largest { f64::max } else { f64::min };
    let best = rows.iter().map(|r| r.1).fold(f64::NAN, pick);
    let who: Vec<&str> = rows.iter().filter(|r| r.1 == best).map(|r| r.0).collect();
    if who.is_empty() {
        "—".into()
    } else {
        format!("{}: {}", who.join(", "), pct(best))
    }
}

/// Per-tenant latency percentiles, or a dash for workloads that do not run tenant by tenant.
fn latency(r: &crate::engine::workload::RunRow) -> String {
    if r.tenant_max_ms == 0.0 {
        "—".into()
    } else {
        format!(
            "{:.2} / {:.2} / {:.2}",
            r.tenant_p50_ms, r.tenant_p99_ms, r.tenant_max_ms
        )
    }
}

/// The summary a person reads first.
pub fn summary_markdown(
    res: &crate::suite::compare::CompareResult,
    title: &str,
    command: &str,
) -> String {
    let rows = &res.rows;
    let mut designs: Vec<&str> = Vec::new();
    for r in rows {
        if !designs.contains(&r.design.as_str()) {
            designs.push(&r.design);
        }
    }
    let mut s = String::new();
    let _ = writeln!(s, "# {title}\n");
    let _ = writeln!(
        s,
        "Produced by `{command}`. Every figure below is in `raw.csv`; the machine, seed and versions are in `env.json`.\n"
    );
    if let Some(r) = rows.first() {
        let _ = writeln!(
            s,
            "Shape: {} — {} tenants, {} groups, {} leaves; scheme {}; {} threads.\n",
            r.shape, r.tenants, r.groups, r.leaves, r.scheme, r.threads
        );
    }
    // 1. Exposure
    let _ = writeln!(s, "## What one leaked root exposes\n");
    let _ = writeln!(
        s,
        "Share of all leaves an attacker recovers holding one root role (and every stored wrap), at each extent; then the worst pair. With `m365` any single root exposes everything under it; with `threshold` no single root does.\n"
    );
    let _ = writeln!(
        s,
        "| design | ck1: one / tenant / all | ak: one / tenant / all | worst single root, all | worst pair, all |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|");
    for d in &designs {
        let ex = |roles: &str, e: Extent| {
            res.blast
                .exposure
                .iter()
                .find(|x| x.design == *d && x.roles == roles && x.extent == e)
        };
        let trio = |roles: &str| {
            Extent::ALL
                .iter()
                .map(|&e| {
                    ex(roles, e)
                        .map(|x| pct(x.share_of_all))
                        .unwrap_or_else(|| "—".into())
                })
                .collect::<Vec<_>>()
                .join(" / ")
        };
        let worst = |pair: bool| {
            let rows = res.blast.exposure.iter().filter(|x| {
                x.design == *d && x.extent == Extent::All && x.roles.contains('+') == pair
            });
            extreme(rows.map(|x| (x.roles.as_str(), x.share_of_all)), true)
        };
        let _ = writeln!(
            s,
            "| {d} | {} | {} | {} | {} |",
            trio("ck1"),
            trio("ak"),
            worst(false),
            worst(true)
        );
    }
    use crate::graph::reach::Extent;
    // 2. Availability
    let _ = writeln!(s, "\n## What losing roots costs the owner\n");
    let _ = writeln!(
        s,
        "Share of all leaves still recoverable after losing a root role everywhere (extent all), or the worst pair. `dke` has no availability path: losing either key loses everything.\n"
    );
    let _ = writeln!(
        s,
        "| design | lose ck1 | lose ak | worst single loss | worst pair lost |"
    );
    let _ = writeln!(s, "|---|---:|---:|---|---|");
    for d in &designs {
        let av = |roles: &str| {
            res.blast
                .availability
                .iter()
                .find(|x| x.design == *d && x.roles == roles && x.extent == Extent::All)
                .map(|x| pct(x.share_recoverable))
                .unwrap_or_else(|| "—".into())
        };
        let worst = |pair: bool| {
            let rows = res.blast.availability.iter().filter(|x| {
                x.design == *d && x.extent == Extent::All && x.roles.contains('+') == pair
            });
            extreme(rows.map(|x| (x.roles.as_str(), x.share_recoverable)), false)
        };
        let _ = writeln!(
            s,
            "| {d} | {} | {} | {} | {} |",
            av("ck1"),
            av("ak"),
            worst(false),
            worst(true)
        );
    }
    // 3. Routine rotation
    let _ = writeln!(
        s,
        "\n## Routine rotation: a new version of a root, nothing compromised\n"
    );
    let _ = writeln!(
        s,
        "Every stored wrap under the rotated root is peeled and rewrapped; no key below changes. Root operations bound the time on a real key vault (AKV RSA-2048: 200/s; AWS KMS: 10,000/s).\n"
    );
    let _ = writeln!(
        s,
        "| design | workload | wraps rewritten | root ops | AKV RSA-2048 | AWS KMS | measured wall | counts = model |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|---|");
    for d in &designs {
        for label in [
            "rotate-root ck1 all",
            "rotate-root ak all",
            "rotate-root ck1 all lazy",
        ] {
            if let Some(r) = find(rows, d, label) {
                let _ = writeln!(
                    s,
                    "| {d} | {label} | {} | {} | {} | {} | {} | {} |",
                    r.measured.wraps_rewritten,
                    r.measured.root_ops,
                    root_time(r, ProfileId::AkvRsa2048),
                    root_time(r, ProfileId::AwsKms),
                    human_secs(r.seconds + r.deferred_seconds.unwrap_or(0.0)),
                    r.counts_match
                );
            }
        }
    }
    // 4. Compromise
    let _ = writeln!(s, "\n## Recovery from compromise: revoke a root\n");
    let _ = writeln!(
        s,
        "The attacker holds the root and a copy of every stored wrap: everything it reaches gets new material, leaked shares are re-shared, the root is replaced. Leaves re-keyed means data to re-encrypt.\n"
    );
    let _ = writeln!(
        s,
        "| design | workload | keys re-keyed | leaves re-keyed | re-shared | wraps | unwraps | root ops | AKV RSA-2048 | measured wall |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for d in &designs {
        for role in ["ck1", "ak"] {
            for e in Extent::ALL {
                let label = format!("revoke {role} {}", e.name());
                if let Some(r) = find(rows, d, &label) {
                    let _ = writeln!(
                        s,
                        "| {d} | {label} | {} | {} | {} | {} | {} | {} | {} | {} |",
                        r.measured.keys_rekeyed,
                        r.measured.leaves_rekeyed,
                        r.measured.keys_reshared,
                        r.measured.wraps,
                        r.measured.unwraps,
                        r.measured.root_ops,
                        root_time(r, ProfileId::AkvRsa2048),
                        human_secs(r.seconds)
                    );
                }
            }
        }
    }
    let alts: Vec<_> = rows
        .iter()
        .filter_map(|r| r.rewrap_only.as_ref().map(|a| (r, a)))
        .collect();
    if !alts.is_empty() {
        let _ = writeln!(
            s,
            "\nNested slots whose outer layer leaked: the design re-keys the key they guard; the cheaper rewrap-only alternative leaves it guarded by the inner key alone.\n"
        );
        let _ = writeln!(
            s,
            "| design | workload | re-key: wraps / root ops | rewrap only: wraps / root ops | leaves left behind one key |"
        );
        let _ = writeln!(s, "|---|---|---|---|---:|");
        for (r, a) in alts {
            let _ = writeln!(
                s,
                "| {} | {} | {} / {} | {} / {} | {} |",
                r.design,
                r.workload,
                r.measured.wraps,
                r.measured.root_ops,
                a.counts.wraps,
                a.counts.root_ops,
                a.leaves_left_single_key
            );
        }
    }
    // 5. Shred
    let _ = writeln!(s, "\n## Crypto-shredding the largest tenant\n");
    let _ = writeln!(
        s,
        "Destroying the roots a tenant owns is a cryptographic shred only if no shared root still reaches its keys.\n"
    );
    let _ = writeln!(
        s,
        "| design | roots destroyed | cryptographic | stored wraps to delete instead |"
    );
    let _ = writeln!(s, "|---|---:|---|---:|");
    for d in &designs {
        if let Some(r) = rows
            .iter()
            .find(|r| r.design == *d && r.kind == crate::engine::workload::WorkloadKind::Shred)
        {
            let _ = writeln!(
                s,
                "| {d} | {} | {} | {} |",
                r.measured.roots_replaced,
                r.crypto_shred.map_or("—".into(), |c| c.to_string()),
                r.wraps_to_delete.unwrap_or(0)
            );
        }
    }
    // 6. Bulk
    let _ = writeln!(s, "\n## Bulk throughput\n");
    let _ = writeln!(
        s,
        "Provision wraps every key; unwrap-all recovers every leaf (cached: each intermediate once; cold: the whole path per leaf).\n"
    );
    let _ = writeln!(
        s,
        "| design | workload | wraps | unwraps | wall | items/s | tenant p50 / p99 / max (ms) | peak MiB |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---|---:|");
    for d in &designs {
        for label in ["provision", "unwrap-all", "unwrap-all cold"] {
            if let Some(r) = find(rows, d, label) {
                let _ = writeln!(
                    s,
                    "| {d} | {label} | {} | {} | {} | {:.0} | {} | {} |",
                    r.measured.wraps,
                    r.measured.unwraps,
                    human_secs(r.seconds),
                    r.items_per_s,
                    latency(r),
                    r.peak_rss_bytes
                        .map_or("—".into(), |p| format!("{:.0}", p as f64 / 1048576.0))
                );
            }
        }
    }
    // 7. Checks
    let verified = rows.iter().filter(|r| r.verification.verified).count();
    let matched = rows.iter().filter(|r| r.counts_match).count();
    let _ = writeln!(s, "\n## Checks\n");
    let _ = writeln!(
        s,
        "{} runs: {verified} verified (survivors recovered to their keys, hostile keys opened nothing), {matched} with measured counts equal to the analytic model.",
        rows.len()
    );
    if !res.sweep.is_empty() {
        let _ = writeln!(
            s,
            "\nThe size sweep (`sweep.svg`, rows in `sweep.csv`): {} runs, {} verified.",
            res.sweep.len(),
            res.sweep
                .iter()
                .filter(|(_, r)| r.verification.verified)
                .count()
        );
    }
    s
}

const LOCK: &str = include_str!("../../Cargo.lock");

/// Versions of the crates that do the cryptography and the parallelism, from the build's Cargo.lock.
pub fn crate_versions() -> Vec<(&'static str, String)> {
    [
        "aes",
        "aes-kw",
        "aes-gcm",
        "aes-gcm-siv",
        "zeroize",
        "rayon",
        "rand_chacha",
    ]
    .into_iter()
    .map(|name| {
        let needle = format!("name = \"{name}\"\nversion = \"");
        let v = LOCK
            .find(&needle)
            .and_then(|i| LOCK[i + needle.len()..].split('"').next())
            .unwrap_or("unknown");
        (name, v.to_string())
    })
    .collect()
}

fn command_output(cmd: &str, args: &[&str]) -> Option<String> {
    let out = std::process::Command::new(cmd).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The environment of a run, for `env.json`.
pub fn env_json(
    seed: u64,
    threads: usize,
    command: &str,
    extra: serde_json::Value,
) -> serde_json::Value {
    let rev = command_output("git", &["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let dirty = command_output("git", &["status", "--porcelain", "--untracked-files=no"])
        .is_some_and(|s| !s.is_empty());
    serde_json::json!({
        "command": command,
        "seed": seed,
        "threads": threads,
        "git_revision": rev,
        "git_dirty": dirty,
        "host": crate::sysinfo::host_name(),
        "cpu_model": crate::sysinfo::cpu_model(),
        "cpu_flags": crate::sysinfo::cpu_flags(),
        "cpus": crate::sysinfo::cpus(),
        "keyhier_version": env!("CARGO_PKG_VERSION"),
        "rustc": command_output("rustc", &["--version"]),
        "profile": if cfg!(debug_assertions) { "debug" } else { "release" },
        "crates": crate_versions().into_iter().map(|(n, v)| (n.to_string(), serde_json::Value::String(v))).collect::<serde_json::Map<_, _>>(),
        "root_profiles": crate::engine::cost::builtin_profiles(),
        "run": extra,
    })
}

/// Writes a compare result folder: summary.md, raw.csv, sweep.csv, blast.csv, env.json and the plots.
/// Files are written through temporary names and renamed, so an interrupted run leaves no half file.
pub fn write_compare(
    dir: &std::path::Path,
    res: &crate::suite::compare::CompareResult,
    title: &str,
    command: &str,
    env: &serde_json::Value,
) -> crate::Result<Vec<String>> {
    std::fs::create_dir_all(dir)
        .map_err(|e| crate::Error::io(format!("creating {}", dir.display()), e))?;
    let put = |name: &str, body: &str| {
        crate::store::atomic::write_atomic(&dir.join(name), body.as_bytes(), false)
    };
    let mut files = vec![];
    put("raw.csv", &runs_csv(&res.rows))?;
    files.push("raw.csv".to_string());
    if !res.sweep.is_empty() {
        let rows: Vec<crate::engine::workload::RunRow> =
            res.sweep.iter().map(|(_, r)| r.clone()).collect();
        put("sweep.csv", &runs_csv(&rows))?;
        files.push("sweep.csv".into());
    }
    put("blast.csv", &blast_csv(&res.blast))?;
    files.push("blast.csv".into());
    let pretty = serde_json::to_string_pretty(env).unwrap_or_default();
    put("env.json", &pretty)?;
    files.push("env.json".into());
    files.extend(crate::report::plot::cost_plots(&res.rows, dir)?);
    files.extend(crate::report::plot::sweep_plot(&res.sweep, dir)?);
    let mut summary = summary_markdown(res, title, command);
    let _ = writeln!(summary, "\n## Plots\n");
    for f in files.iter().filter(|f| f.ends_with(".svg")) {
        let _ = writeln!(summary, "![{f}]({f})\n");
    }
    put("summary.md", &summary)?;
    files.push("summary.md".into());
    Ok(files)
}

/// Exposure and availability rows as CSV.
pub fn blast_csv(b: &Blast) -> String {
    let mut s = String::from(
        "table,design,roles,extent,keys,leaves,share,affected_tenants,share_of_affected,partial_share_keys\n",
    );
    for r in &b.exposure {
        let _ = writeln!(
            s,
            "exposure,{},{},{},{},{},{:.6},{},{:.6},{}",
            r.design,
            r.roles,
            r.extent.name(),
            r.keys_held,
            r.leaves_exposed,
            r.share_of_all,
            r.affected_tenants,
            r.share_of_affected,
            r.partial_share_keys
        );
    }
    for r in &b.availability {
        let _ = writeln!(
            s,
            "availability,{},{},{},{},{},{:.6},,,",
            r.design,
            r.roles,
            r.extent.name(),
            r.keys_lost,
            r.leaves_recoverable,
            r.share_recoverable
        );
    }
    s
}

/// The perf folder: summary.md, raw.csv, env.json and batch-size.svg.
pub fn write_perf(
    dir: &std::path::Path,
    prims: &[crate::suite::perf::PerfRow],
    works: &[crate::suite::perf::PerfRow],
    command: &str,
    env: &serde_json::Value,
) -> crate::Result<Vec<String>> {
    std::fs::create_dir_all(dir)
        .map_err(|e| crate::Error::io(format!("creating {}", dir.display()), e))?;
    let put = |name: &str, body: &str| {
        crate::store::atomic::write_atomic(&dir.join(name), body.as_bytes(), false)
    };
    let mut csv = String::from(
        "what,implementation,batch,threads,ns_per_key,keys_per_s_per_thread,rounds_ns\n",
    );
    for r in prims.iter().chain(works) {
        let rounds: Vec<String> = r.rounds.iter().map(|x| format!("{x:.2}")).collect();
        let _ = writeln!(
            csv,
            "{},{},{},{},{:.3},{:.1},{}",
            r.what,
            csv_field(r.implementation.clone()),
            r.batch,
            r.threads,
            r.ns_per_key,
            r.keys_per_s_per_thread,
            rounds.join(" ")
        );
    }
    put("raw.csv", &csv)?;
    put(
        "env.json",
        &serde_json::to_string_pretty(env).unwrap_or_default(),
    )?;
    let plot = crate::report::plot::batch_plot(prims, dir)?;
    let find = |what: &str, imp: &str| {
        prims
            .iter()
            .filter(|r| r.what == what && r.implementation.starts_with(imp))
            .min_by(|a, b| a.ns_per_key.total_cmp(&b.ns_per_key))
    };
    let kw = find("rewrap", "aes-kw loop")
        .map(|r| r.ns_per_key)
        .unwrap_or(f64::NAN);
    let aws = find("rewrap", "aws-lc-rs").map(|r| r.ns_per_key);
    let ceiling = find("ceiling", "AES-256")
        .map(|r| r.ns_per_key)
        .unwrap_or(f64::NAN);
    let mut s = String::new();
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
    let mut imps: Vec<String> = Vec::new();
    for r in prims.iter().filter(|r| r.what == "rewrap") {
        if !imps.contains(&r.implementation) {
            imps.push(r.implementation.clone());
        }
    }
    for imp in &imps {
        if let Some(r) = prims
            .iter()
            .filter(|r| r.what == "rewrap" && &r.implementation == imp)
            .min_by(|a, b| a.ns_per_key.total_cmp(&b.ns_per_key))
        {
            let _ = writeln!(
                s,
                "| {imp} | {} | {:.1} | {:.1}× | {} | {:.2} |",
                r.batch,
                r.ns_per_key,
                kw / r.ns_per_key,
                aws.map_or("—".into(), |a| format!("{:.1}×", a / r.ns_per_key)),
                r.ns_per_key / ceiling
            );
        }
    }
    for r in prims.iter().filter(|r| r.what == "ceiling") {
        let _ = writeln!(
            s,
            "| ceiling: {} | — | {:.1} | {:.1}× | {} | 1.00 |",
            r.implementation,
            r.ns_per_key,
            kw / r.ns_per_key,
            aws.map_or("—".into(), |a| format!("{:.1}×", a / r.ns_per_key))
        );
    }
    if aws.is_none() {
        let _ = writeln!(
            s,
            "\n(Peers not built in: rerun with `cargo run --release --features peers -- perf` for aws-lc-rs and OpenSSL.)"
        );
    }
    let _ = writeln!(
        s,
        "\n## Batch size\n\nRewrap ns per key by batch size (`{plot}`):\n"
    );
    let _ = write!(s, "| backend |");
    for b in crate::suite::perf::BATCHES {
        let _ = write!(s, " {b} |");
    }
    let _ = writeln!(
        s,
        "\n|---|{}",
        "---:|".repeat(crate::suite::perf::BATCHES.len())
    );
    for imp in imps.iter().filter(|i| i.starts_with("fastkw")) {
        let _ = write!(s, "| {imp} |");
        for b in crate::suite::perf::BATCHES {
            let v = prims
                .iter()
                .find(|r| r.what == "rewrap" && &r.implementation == imp && r.batch == b)
                .map_or("—".into(), |r| format!("{:.0}", r.ns_per_key));
            let _ = write!(s, " {v} |");
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(
        s,
        "\n## Wrap and unwrap alone (batch 256)\n\n| implementation | wrap ns | unwrap ns |\n|---|---:|---:|"
    );
    let mut wimps: Vec<String> = Vec::new();
    for r in prims.iter().filter(|r| r.what == "wrap") {
        if !wimps.contains(&r.implementation) {
            wimps.push(r.implementation.clone());
        }
    }
    for imp in &wimps {
        let w = prims
            .iter()
            .find(|r| r.what == "wrap" && &r.implementation == imp)
            .map_or(f64::NAN, |r| r.ns_per_key);
        let u = prims
            .iter()
            .find(|r| r.what == "unwrap" && &r.implementation == imp)
            .map_or(f64::NAN, |r| r.ns_per_key);
        let _ = writeln!(s, "| {imp} | {w:.1} | {u:.1} |");
    }
    // Rows of the engine rounds: the primitive beside, the arena, the workloads.
    let beside = |what: &str| works.iter().find(|r| r.what == what);
    let arena: Vec<&crate::suite::perf::PerfRow> = works
        .iter()
        .filter(|r| r.what.starts_with("arena"))
        .collect();
    let runs: Vec<&crate::suite::perf::PerfRow> = works
        .iter()
        .filter(|r| !r.what.starts_with("arena") && !r.what.starts_with("beside"))
        .collect();
    // a / b round by round (the rows were timed in the same rounds), sorted
    let per_round = |a: &crate::suite::perf::PerfRow, b: &crate::suite::perf::PerfRow| {
        let mut v: Vec<f64> = a.rounds.iter().zip(&b.rounds).map(|(x, y)| x / y).collect();
        v.sort_by(f64::total_cmp);
        v
    };
    // their median
    let ratio = |a: &crate::suite::perf::PerfRow, b: &crate::suite::perf::PerfRow| {
        let v = per_round(a, b);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    let primitive_of = |what: &str| {
        beside(if what.contains("rotate") {
            "beside rewrap"
        } else {
            "beside unwrap"
        })
    };
    if !runs.is_empty() {
        let _ = writeln!(s, "\n## The engine around it: bulk workloads on `flat`\n");
        let _ = writeln!(
            s,
            "`keyhier run` with verification off (what is timed is the workload), 1 and 2 threads, in the same rounds as the batched primitive on {KEYS} keys in cache (batch 256, the selected backend: rewrap for rotation, unwrap for unwrap-all) and the arena passes below. Per-thread cost per key (median over rounds); the ratios are taken round by round, then their median.\n",
            KEYS = crate::suite::perf::KEYS
        );
        let _ = writeln!(
            s,
            "| workload | threads | ns per key per thread | keys/s | ÷ batched primitive | × aes-kw loop per thread | 2 threads ÷ 1 |"
        );
        let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|");
        for r in &runs {
            let prim = if r.what.contains("rotate") {
                "rewrap"
            } else {
                "unwrap"
            };
            let loop_ns = find(prim, "aes-kw loop").map_or(f64::NAN, |p| p.ns_per_key);
            let vs_prim = primitive_of(&r.what).map_or(f64::NAN, |p| ratio(r, p));
            let scaling = match runs.iter().find(|o| o.what == r.what && o.threads == 1) {
                Some(one) if r.threads > 1 => {
                    format!("{:.2}×", ratio(one, r) * r.threads as f64)
                }
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
    if !arena.is_empty() {
        let _ = writeln!(
            s,
            "\n## Where the engine's time goes (one thread)\n\nFrom the primitive in cache to the engine, one step at a time, all in the same rounds: the same batched calls ({} keys each) on a 1M-key arena in place, the wraps packed and then spaced as `flat` lays them out; then the workload itself. ns per key, and ÷ the primitive round by round.\n",
            arena[0].batch
        );
        let _ = writeln!(
            s,
            "| stage | rewrap (rotate-root) | ÷ primitive | unwrap (unwrap-all) | ÷ primitive |\n|---|---:|---:|---:|---:|"
        );
        let cell = |r: Option<&crate::suite::perf::PerfRow>,
                    p: Option<&crate::suite::perf::PerfRow>| match (r, p) {
            (Some(r), Some(p)) => format!("{:.1} | {:.2}", r.ns_per_key, ratio(r, p)),
            (Some(r), None) => format!("{:.1} | —", r.ns_per_key),
            _ => "— | —".into(),
        };
        let (pr, pu) = (beside("beside rewrap"), beside("beside unwrap"));
        let _ = writeln!(
            s,
            "| primitive, {} keys in cache, batch 256 | {} | {} |",
            crate::suite::perf::KEYS,
            cell(pr, pr),
            cell(pu, pu)
        );
        let mut strides: Vec<&str> = Vec::new();
        for r in &arena {
            let st = r.implementation.rsplit(' ').next().unwrap_or("");
            if !strides.contains(&st) {
                strides.push(st);
            }
        }
        for st in strides {
            let of = |what: &str| {
                arena
                    .iter()
                    .find(|r| r.what == what && r.implementation.ends_with(&format!(" {st}")))
                    .copied()
            };
            let _ = writeln!(
                s,
                "| on a 1M-key arena, wraps {st} bytes apart | {} | {} |",
                cell(of("arena rewrap"), pr),
                cell(of("arena unwrap"), pu)
            );
        }
        let engine = |w: &str| {
            runs.iter()
                .find(|r| r.threads == 1 && r.what.contains(w))
                .copied()
        };
        let _ = writeln!(
            s,
            "| the workload (`flat`, table above) | {} | {} |",
            cell(engine("rotate-root"), pr),
            cell(engine("unwrap-all"), pu)
        );
        let _ = writeln!(
            s,
            "\nThe arena rows add memory traffic: the arena is far larger than the caches, and at `flat`'s spacing every cache line of the leaves' slots is read (and, for a rewrap, written back) for one wrap in three; the kernels hint the next chunk's wraps during the current one, and the lines past a batch during its last chunk, which hides most of it. The last row adds the engine's own work: per tenant, its batches by KEK and two key schedules; per leaf, finding its slot and (unwrap-all) checking the key against a fingerprint of the expected one; and tenants too small to fill the AES pipeline."
        );
    }
    // What limits it, from the figures above.
    let best = find("rewrap", "fastkw");
    let ceil = prims.iter().filter(|r| r.what == "ceiling").find(|r| {
        best.is_some_and(|b| {
            b.implementation
                .ends_with(r.implementation.rsplit(", ").next().unwrap_or(""))
        })
    });
    if let (Some(b), Some(c)) = (best, ceil) {
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
        beside("beside rewrap"),
        arena
            .iter()
            .find(|r| r.what == "arena rewrap" && r.implementation.ends_with(" 120")),
    ) {
        let _ = writeln!(
            s,
            "- **Memory traffic.** On a 1M-key arena at `flat`'s spacing a rewrap costs {:.2}× the same calls in cache: the kernels hint the next chunk's wraps during the current one, so the lines arrive while the AES units work. What memory still costs shows at the start of each batch, which the engine's many small tenants make frequent.",
            ratio(a, pr)
        );
    }
    // Two threads over one, round by round: the median with its quartiles,
    // and how the 2-thread runs spread in the rounds where one thread ran at
    // its best (a host that takes one core away slows those alone).
    let scalings: Vec<(String, String)> = runs
        .iter()
        .filter(|r| r.threads == 2)
        .filter_map(|r| {
            let one = runs.iter().find(|o| o.what == r.what && o.threads == 1)?;
            let v: Vec<f64> = per_round(one, r).into_iter().map(|x| 2.0 * x).collect();
            let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
            let best = one.rounds.iter().copied().fold(f64::INFINITY, f64::min);
            let two: Vec<f64> = one
                .rounds
                .iter()
                .zip(&r.rounds)
                .filter(|(a, _)| **a <= best * 1.05)
                .map(|(_, b)| *b)
                .collect();
            let lo = two.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = two.iter().copied().fold(0.0, f64::max);
            (!v.is_empty()).then(|| {
                (
                    format!("{} {:.2}× ({:.2}–{:.2})", r.what, q(0.5), q(0.25), q(0.75)),
                    format!(
                        "{}: {:.1} to {:.1} ns (one thread: {:.1} at best)",
                        r.what, lo, hi, best
                    ),
                )
            })
        })
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
    let _ = writeln!(s, "\n![{plot}]({plot})\n");
    put("summary.md", &s)?;
    Ok(vec![
        "summary.md".into(),
        "raw.csv".into(),
        "env.json".into(),
        plot,
    ])
}

#[cfg(test)]
mod tests {
    use crate::suite::perf::PerfRow;

    fn row(what: &str, imp: &str, threads: usize, rounds: &[f64]) -> PerfRow {
        let mut t = rounds.to_vec();
        t.sort_by(f64::total_cmp);
        PerfRow {
            what: what.into(),
            implementation: imp.into(),
            batch: 256,
            threads,
            ns_per_key: t[t.len() / 2],
            keys_per_s_per_thread: 1e9 / t[t.len() / 2],
            rounds: rounds.to_vec(),
        }
    }

    /// Ratios are taken round by round: a machine that halves its speed in
    /// some rounds changes the medians, not the ratios.
    #[test]
    fn perf_summary_takes_ratios_round_by_round() {
        let dir = std::env::temp_dir().join(format!("keyhier-perf-test-{}", std::process::id()));
        let prims = vec![row("rewrap", "aes-kw loop", 1, &[1000.0, 2000.0, 1000.0])];
        // slow rounds (the second) double everything; every ratio stays the same
        let works = vec![
            row("beside rewrap", "fastkw x", 1, &[50.0, 100.0, 50.0]),
            row("beside unwrap", "fastkw x", 1, &[30.0, 60.0, 30.0]),
            row(
                "arena rewrap",
                "fastkw x stride 120",
                1,
                &[55.0, 110.0, 55.0],
            ),
            row(
                "arena unwrap",
                "fastkw x stride 120",
                1,
                &[33.0, 66.0, 33.0],
            ),
            row(
                "flat medium: rotate-root ck1 all",
                "keyhier run",
                1,
                &[70.0, 140.0, 70.0],
            ),
            // the third round took one core away from the 2-thread run alone
            row(
                "flat medium: rotate-root ck1 all",
                "keyhier run",
                2,
                &[80.0, 160.0, 120.0],
            ),
            row(
                "flat medium: unwrap-all",
                "keyhier run",
                1,
                &[45.0, 90.0, 45.0],
            ),
            row(
                "flat medium: unwrap-all",
                "keyhier run",
                2,
                &[50.0, 100.0, 50.0],
            ),
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
