//! "What your keys bought you": the first section of `compare`'s summary.
//! Per design, beside the baseline of provider-managed keys, the four parts
//! of the answer (confidentiality, availability, control, recovery cost),
//! each figure taken from a row the same compare produced. Rows in, text out.

use std::fmt::Write;

use crate::analysis::risk::Scenario;
use crate::report::markdown::human_secs;
use crate::report::risk::{prob, times};
use crate::report::states::pct;
use crate::suite::compare::BoughtRow;

/// The section as Markdown (empty when there are no rows).
pub fn bought_markdown(rows: &[BoughtRow], scenario: Option<&Scenario>) -> String {
    let mut s = String::new();
    if rows.is_empty() {
        return s;
    }
    let base = rows.iter().find(|r| r.baseline);
    let _ = writeln!(s, "## What your keys bought you\n");
    let _ = writeln!(
        s,
        "Each design against {}: what its customer-held roots change in **confidentiality** (how likely a leaf is exposed within a year, and what the worst single leak exposes), **availability** (how likely a leaf is lost for good, and what survives the worst single loss), **control** (what the customer can do alone) and **recovery cost** (revoking its first root everywhere). Every figure is from a section below or from `raw.csv`.\n",
        base.map_or_else(
            || "no baseline (add `--designs provider` for one)".to_owned(),
            |b| format!("the baseline `{}` (provider-managed keys only)", b.design)
        )
    );
    if let Some(sc) = scenario {
        let names = |evs: &[crate::analysis::risk::RiskEvent]| {
            evs.iter()
                .map(|e| format!("{} {}", e.name, e.probability))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            s,
            "The probabilities rest on these annual events ({}): compromises {}; losses {}. `keyhier risk` gives their sensitivity; `--event` / `--loss` replace them.\n",
            if sc.compromises_assumed || sc.losses_assumed {
                "**ASSUMPTIONS, not facts**: illustrative defaults, the provider's isolated availability-key infrastructure taken as a hundred times less likely to be compromised than a tenant's key-vault administrators"
            } else {
                "given on the command line"
            },
            names(&sc.compromises),
            names(&sc.losses)
        );
    }
    let _ = writeln!(s, "### Confidentiality and availability\n");
    let _ = writeln!(
        s,
        "| design | P(leaf exposed) / year | × baseline | worst single leak, everywhere | P(leaf lost) / year | × baseline | worst single loss: still recoverable |"
    );
    let _ = writeln!(s, "|---|---:|---:|---|---:|---:|---|");
    let vs = |ratio: Option<f64>, baseline: bool| match ratio {
        Some(f) => times(f),
        None if baseline => "1x".to_owned(),
        None => "—".to_owned(),
    };
    for r in rows {
        let pair = |x: &Option<(String, f64)>| {
            x.as_ref()
                .map_or_else(|| "—".to_owned(), |(n, v)| format!("{n}: {}", pct(*v)))
        };
        let _ = writeln!(
            s,
            "| {}{} | {} | {} | {} | {} | {} | {} |",
            r.design,
            if r.baseline { " (baseline)" } else { "" },
            prob(r.p_leaf_exposed),
            vs(r.exposed_vs_baseline, r.baseline),
            pair(&r.worst_single_leak),
            prob(r.p_loss),
            vs(r.loss_vs_baseline, r.baseline),
            pair(&r.worst_single_loss),
        );
    }
    let _ = writeln!(s, "\n### Control and recovery cost\n");
    let _ = writeln!(
        s,
        "After the customer revokes every root it holds above its largest tenant: the share its users still read, the share the provider's services still decrypt on their own, and the share the provider can recover on request. Then the data purge path, whether the customer alone crypto-shreds the tenant, and the cost of revoking the first root everywhere (root operations in the customer's vaults; the time simulated at Azure Key Vault HSM RSA-2048, one vault per tenant).\n"
    );
    let _ = writeln!(
        s,
        "| design | customer revokes its roots: users / provider services / on request | data purge | customer shreds alone | revocation | who | leaves re-keyed | root ops (customer vaults) | Azure Key Vault | verified |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---:|---:|---:|---|");
    for r in rows {
        let revoke = match (&r.after_customer_revokes, r.customer_roots.is_empty()) {
            (_, true) => "nothing to revoke: the customer holds no key".to_owned(),
            (Some([u, p, q]), false) => format!(
                "{}: {} / {} / {}",
                r.customer_roots.join("+"),
                pct(*u),
                pct(*p),
                pct(*q)
            ),
            (None, false) => "—".to_owned(),
        };
        let purge = match &r.purge {
            Some(Ok((h, left))) => format!("provider decrypts for {h} h; {left} leaves left after"),
            Some(Err(_)) => "not offered".to_owned(),
            None => "—".to_owned(),
        };
        let shred = r.customer_shreds.map_or_else(
            || "—".to_owned(),
            |b| if b { "yes" } else { "no" }.to_owned(),
        );
        let (label, who, rekeyed, ops, akv, verified) = match &r.recovery {
            Some(c) => (
                c.workload.clone(),
                c.controller.unwrap_or("—").to_owned(),
                c.leaves_rekeyed.to_string(),
                format!(
                    "{} ({})",
                    c.customer_root_ops + c.provider_root_ops,
                    c.customer_root_ops
                ),
                c.akv_seconds.map_or_else(|| "—".to_owned(), human_secs),
                c.verified.to_string(),
            ),
            None => Default::default(),
        };
        let _ = writeln!(
            s,
            "| {} | {revoke} | {purge} | {shred} | {label} | {who} | {rekeyed} | {ops} | {akv} | {verified} |",
            r.design
        );
    }
    let _ = writeln!(s, "\nIn words, from the rows above:\n");
    for r in rows.iter().filter(|r| !r.baseline) {
        let _ = writeln!(s, "- {}", in_words(r, base));
    }
    s.push('\n');
    s
}

/// One design's line: the ratios to the baseline, then what revocation and purge leave.
fn in_words(r: &BoughtRow, base: Option<&BoughtRow>) -> String {
    let mut parts = Vec::new();
    if base.is_some() {
        let ratio = |x: Option<f64>| x.map_or_else(|| "—".to_owned(), times);
        parts.push(format!(
            "its leaves are {} as likely to be exposed within a year as the baseline's and {} as likely to be lost",
            ratio(r.exposed_vs_baseline),
            ratio(r.loss_vs_baseline)
        ));
    }
    if let Some((roles, share)) = &r.worst_single_leak {
        parts.push(if *share > 0.0 {
            let which = if roles.contains(',') {
                "any one of "
            } else {
                ""
            };
            format!(
                "one leak of {which}{roles} everywhere exposes {}",
                pct(*share)
            )
        } else {
            "no single root's leak exposes anything".to_owned()
        });
    }
    if let Some([users, services, on_request]) = r.after_customer_revokes {
        let who = r.customer_roots.join(" and ");
        parts.push(if services > 0.0 {
            format!(
                "when the customer revokes {who}, users lose {} but the provider's services still decrypt {} until the provider deletes its key",
                pct(1.0 - users),
                pct(services)
            )
        } else if on_request > 0.0 {
            format!(
                "when the customer revokes {who}, nobody decrypts on their own, but the provider can recover {} if the customer asks",
                pct(on_request)
            )
        } else {
            format!("when the customer revokes {who}, nobody decrypts any more")
        });
    }
    match &r.purge {
        Some(Ok((h, 0))) => parts.push(format!(
            "a purge leaves nothing decryptable after a {h} h window"
        )),
        Some(Ok((h, left))) => parts.push(format!(
            "a purge leaves {left} leaves decryptable after its {h} h window"
        )),
        Some(Err(why)) => parts.push(format!("no purge: {why}")),
        None => {}
    }
    format!("**{}**: {}.", r.design, parts.join("; "))
}
