//! Markdown and terminal text of single results: the exposure and
//! availability tables of `keyhier blast`, one run of `keyhier run`, and the
//! figure formats every summary shares (shares as percentages, seconds as a
//! short human figure). Pure functions from rows to text; no files.

use std::fmt::Write;

use crate::analysis::exposure::Blast;
use crate::engine::workload::RunRow;

/// A share (0 to 1) as a percentage with one decimal.
pub(crate) use super::states::pct;

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
    if !b.states.is_empty() {
        s.push_str(&super::states::states_markdown(&b.states));
    }
    s
}

/// A run as text for a terminal: counts measured beside the model's, times, verification.
pub fn run_text(r: &RunRow) -> String {
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
    if let Some(b) = &r.root_backend {
        let _ = writeln!(
            s,
            "roots in {}: {} root operations through it ({} creates, {} wraps, {} unwraps{}), {:.0}/s over {:.3} s, latency p50 {:.1} µs p99 {:.1} µs",
            b.kind,
            b.ops,
            b.creates,
            b.wraps,
            b.unwraps,
            if b.ops == r.measured.root_ops {
                ": all the run's"
            } else {
                ": NOT all the run's"
            },
            b.ops_per_s,
            b.seconds,
            b.p50_us,
            b.p99_us
        );
        if let (Some(p), Some(rt)) = (b.predicted_seconds, &b.rates) {
            let _ = writeln!(
                s,
                "  at the rates measured in this run (wrap {:.0}/s, unwrap {:.0}/s, create {:.1}/s, destroy {:.0}/s) they predict {p:.3} s; took {:.3} s ({:.2}×)",
                rt.wrap_per_s,
                rt.unwrap_per_s,
                rt.create_per_s,
                rt.destroy_per_s,
                b.seconds,
                if p > 0.0 { b.seconds / p } else { 0.0 }
            );
        }
    }
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
    if let Some(rf) = &r.reference {
        let (how, whole) = match rf.keks {
            Some(k) => (
                format!(
                    "building its two KEKs anew every {:.1} keys as this run had to ({} {}s between {k} pairs of root versions)",
                    r.items as f64 / k.max(1) as f64,
                    r.items,
                    rf.primitive
                ),
                " (new root versions, the split by tenant, key schedules, writing the wraps)",
            ),
            None => ("under one KEK throughout".into(), ""),
        };
        let _ = writeln!(
            s,
            "side by side: aes-kw one key at a time, {how}, does {:.0} {}s/s on one thread;\n  this run did {:.1}x that per thread, counting its whole wall{whole}, not the {}s alone",
            rf.aes_kw_loop_per_s, rf.primitive, rf.speedup_per_thread, rf.primitive
        );
        if let Some(k) = rf.keks
            && (r.items as f64) < 4.0 * k as f64
        {
            let _ = writeln!(
                s,
                "  at {:.1} keys per KEK there is little or nothing to batch: each rewrap pays its share of two key schedules and of its tenant's bookkeeping (`keyhier perf` times the batched path by batch size)",
                r.items as f64 / k.max(1) as f64
            );
        }
    }
    let _ = writeln!(
        s,
        "per-tenant latency: p50 {:.3} ms  p99 {:.3} ms  max {:.3} ms",
        r.tenant_p50_ms, r.tenant_p99_ms, r.tenant_max_ms
    );
    if let Some(p) = r.peak_rss_bytes {
        let _ = writeln!(
            s,
            "peak memory during the run {:.1} MiB (the whole process: the hierarchy and keyring included)",
            p as f64 / (1u64 << 20) as f64
        );
    }
    let roots: Vec<String> = r
        .root_seconds
        .iter()
        .map(|(n, t)| format!("{n} {}", human_secs(*t)))
        .collect();
    let rs = &r.root_service;
    let _ = writeln!(
        s,
        "root operations at the key services ({} customer, simulated with {}; {} of the provider's own, not charged to the customer's quotas): {}",
        rs.customer_root_ops,
        rs.placement,
        rs.provider_root_ops,
        roots.join(", ")
    );
    if r.data.mode != crate::engine::workload::DataMode::None {
        let _ = writeln!(
            s,
            "data re-encryption: {} bytes, {} ({:.3} s at {:.2} GB/s)",
            r.data.bytes, r.data.mode, r.data.seconds, r.data.gb_per_s
        );
    }
    if let Some(m) = r.remedy {
        let _ = writeln!(s, "remedy: {} ({})", m.name(), m.info().summary);
    }
    if !r.remedies.is_empty() {
        let _ = writeln!(
            s,
            "\nremedies for the keys the leak left partly exposed (a share, an outer layer), side by side:"
        );
        let _ = writeln!(
            s,
            "  {:<10} {:>9} {:>9} {:>9} {:>15}  against kept copies + one more compromise",
            "remedy", "wraps", "unwraps", "root ops", "leaves re-keyed"
        );
        for m in &r.remedies {
            let verdict = if m.sufficient {
                "holds".to_string()
            } else {
                format!(
                    "INSUFFICIENT: {} current leaves exposed by {}",
                    m.leaves_exposed,
                    m.broken_by.as_deref().unwrap_or("-")
                )
            };
            let _ = writeln!(
                s,
                "  {:<10} {:>9} {:>9} {:>9} {:>15}  {}{}",
                m.name,
                m.counts.wraps,
                m.counts.unwraps,
                m.counts.root_ops,
                m.counts.leaves_rekeyed,
                verdict,
                if m.chosen { "  (this run)" } else { "" }
            );
        }
        if let Some(m) = r.remedies.iter().find(|m| m.chosen) {
            let _ = writeln!(s, "  this remedy demands: {}", m.demands);
        }
    }
    s.push_str(&super::control::control_text(r));
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
