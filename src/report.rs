//! Turning typed rows into what people read: Markdown tables (and, for
//! `compare`, CSV, JSON and SVG). Nothing here computes a measurement.

use std::fmt::Write;

use crate::analysis::Blast;

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// Exposure and availability as two Markdown tables.
pub fn blast_markdown(b: &Blast) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "## Exposure: an attacker holds these keys and a copy of every stored wrap\n");
    let _ = writeln!(s, "| design | keys held | extent | keys | leaves exposed | of all leaves | tenants affected | of their leaves | keys with leaked shares below threshold |");
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
    let _ = writeln!(s, "| design | keys lost | extent | keys | leaves still recoverable | of all leaves | leaves lost |");
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
