//! The compare results folder: `summary.md` (the tables a person reads
//! first), `raw.csv`, `sweep.csv`, `blast.csv`, `env.json` and the plots.
//! Rows in, files out; nothing is measured here.

use std::fmt::Write;

use super::label_for;
use crate::engine::service::ProfileId;
use crate::engine::workload::RunRow;
use crate::error::Result;
use crate::graph::reach::Extent;
use crate::report::csv::{blast_csv, runs_csv};
use crate::report::folder::Folder;
use crate::report::markdown::{human_secs, pct};
use crate::suite::compare::CompareResult;

/// The run of workload `label` on `design`.
fn find<'a>(rows: &'a [RunRow], design: &str, label: &str) -> Option<&'a RunRow> {
    rows.iter()
        .find(|r| r.design == design && r.workload == label)
}

/// The run's root operations at key service `profile` (simulated), as a short figure.
fn root_time(r: &RunRow, profile: ProfileId) -> String {
    r.root_seconds
        .iter()
        .find(|(n, _)| n == profile.name())
        .map(|(_, t)| human_secs(*t))
        .unwrap_or_default()
}

/// The largest (or smallest) share among `rows`, with every role set that reaches it.
fn extreme<'a>(rows: impl Iterator<Item = (&'a str, f64)>, largest: bool) -> String {
    crate::analysis::exposure::extreme(rows, largest)
        .map_or_else(|| "—".into(), |(who, best)| format!("{who}: {}", pct(best)))
}

/// Per-tenant latency percentiles, or a dash for workloads that do not run tenant by tenant.
fn latency(r: &RunRow) -> String {
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
pub fn summary_markdown(res: &CompareResult, title: &str, command: &str) -> String {
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
    // 0. The answer first
    s.push_str(&crate::report::bought::bought_markdown(
        &res.bought,
        res.risk_scenario.as_ref(),
    ));
    // 1. Exposure
    let _ = writeln!(s, "## What one leaked root exposes\n");
    let _ = writeln!(
        s,
        "Share of all leaves an attacker recovers holding one root role (and every stored wrap), at each extent; then the worst pair. With `m365` any single root exposes everything under it; with `threshold` no single root does. The customer root is each design's first customer-held root, the provider root its first provider-held one (`ck1` and `ak` in every design that has both; `provider` has only its `pk`).\n"
    );
    let _ = writeln!(
        s,
        "| design | customer root: one / tenant / all | provider root: one / tenant / all | worst single root, all | worst pair, all |"
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
            trio(&label_for(d, "{customer}")),
            trio(&label_for(d, "{provider}")),
            worst(false),
            worst(true)
        );
    }
    // 2. Availability
    let _ = writeln!(s, "\n## What losing roots costs the owner\n");
    let _ = writeln!(
        s,
        "Share of all leaves still recoverable after losing a root role everywhere (extent all), or the worst pair. `dke` has no availability path: losing either key loses everything.\n"
    );
    let _ = writeln!(
        s,
        "| design | lose the customer root | lose the provider root | worst single loss | worst pair lost |"
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
            av(&label_for(d, "{customer}")),
            av(&label_for(d, "{provider}")),
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
        "Every stored wrap under the rotated root is peeled and rewrapped; no key below changes. Root operations bound the time on a real key service: the AKV RSA-2048 (HSM, 2,000 per 10 s per vault) and AWS KMS (10,000 per s per account) columns are simulated, one vault or account per tenant working in parallel, with throttling and retries; the provider's own root operations are not in them.\n"
    );
    let _ = writeln!(
        s,
        "| design | workload | wraps rewritten | root ops | AKV RSA-2048 | AWS KMS | measured wall | counts = model |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|---|");
    for d in &designs {
        for template in [
            "rotate-root {customer} all",
            "rotate-root {provider} all",
            "rotate-root {customer} all lazy",
        ] {
            let label = label_for(d, template);
            if let Some(r) = find(rows, d, &label) {
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
        for role in [label_for(d, "{customer}"), label_for(d, "{provider}")] {
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
    let alts: Vec<_> = rows.iter().filter(|r| !r.remedies.is_empty()).collect();
    if !alts.is_empty() {
        let _ = writeln!(
            s,
            "\nWhere a leak leaves keys partly exposed (a threshold share, the outer layer of a dke slot), the remedies side by side. Each is checked against the attacker who kept the copy of the store it took at the leak, plus one more compromise of any root role (current and retained versions): *insufficient* means that history exposes current leaves the last compromise alone would not.\n"
        );
        let _ = writeln!(
            s,
            "| design | workload | remedy | wraps | root ops | leaves re-keyed | against kept copies + one more |"
        );
        let _ = writeln!(s, "|---|---|---|---:|---:|---:|---|");
        for r in alts {
            for m in &r.remedies {
                let verdict = if m.sufficient {
                    "holds".to_string()
                } else {
                    format!(
                        "**insufficient**: {} leaves ({})",
                        m.leaves_exposed,
                        m.broken_by.as_deref().unwrap_or("-")
                    )
                };
                let _ = writeln!(
                    s,
                    "| {} | {} | {}{} | {} | {} | {} | {} |",
                    r.design,
                    r.workload,
                    m.name,
                    if m.chosen { " (run)" } else { "" },
                    m.counts.wraps,
                    m.counts.root_ops,
                    m.counts.leaves_rekeyed,
                    verdict
                );
            }
        }
        let _ = writeln!(s, "\nWhat each remedy demands of the operator:\n");
        for info in &crate::engine::plan::REMEDIES {
            let _ = writeln!(
                s,
                "- **{}**: {}. Demands: {}.",
                info.name, info.summary, info.demands
            );
        }
    }
    // 4b. Histories: what each recovery buys against the attacker who keeps its copies
    if !res.histories.is_empty() {
        let _ = writeln!(
            s,
            "\n## What each recovery really buys: one more leak after it\n"
        );
        let _ = writeln!(
            s,
            "Each root role leaks everywhere (its keys and a copy of the store), the owner revokes it, then another root role leaks everywhere. *After* is what the attacker, keeping the first copy, then holds (current leaves: data still under keys it knows); *alone* is what the second leak gives a fresh attacker. Where *after* exceeds *alone* the recovery was undone by one more compromise. Where a design has several remedies, each is shown (see the remedies table above). `keyhier history` runs any such sequence.\n"
        );
        let _ = writeln!(
            s,
            "| design | revoked (remedy) | root ops | leaves re-keyed | verified | then leaks: after (alone) |"
        );
        let _ = writeln!(s, "|---|---|---:|---:|---|---|");
        let mut i = 0;
        let hs = &res.histories;
        while i < hs.len() {
            let r = &hs[i];
            let same = |x: &crate::suite::compare::HistoryRow| {
                x.design == r.design && x.revoked == r.revoked && x.remedy == r.remedy
            };
            let mut next = Vec::new();
            while i < hs.len() && same(&hs[i]) {
                let x = &hs[i];
                let mark = if x.exposed_after > x.exposed_alone {
                    " **undone**"
                } else {
                    ""
                };
                next.push(format!(
                    "{} {} ({}){mark}",
                    x.then_leaked,
                    pct(x.exposed_after as f64 / x.leaves.max(1) as f64),
                    pct(x.exposed_alone as f64 / x.leaves.max(1) as f64)
                ));
                i += 1;
            }
            let _ = writeln!(
                s,
                "| {} | {} ({}) | {} | {} | {} | {} |",
                r.design,
                r.revoked,
                r.remedy,
                r.root_ops,
                r.leaves_rekeyed,
                r.verified,
                next.join("; ")
            );
        }
    }
    if !res.reference.is_empty() {
        let bad: Vec<_> = res
            .reference
            .iter()
            .filter(|c| c.reference != Some(c.measured))
            .collect();
        let _ = writeln!(
            s,
            "\nIndependent reference (`analysis::reference`, written from each design's promise, not from its plan): of {} revocations, {} re-keyed exactly the leaves the reference says they must{}.\n",
            res.reference.len(),
            res.reference.len() - bad.len(),
            if bad.is_empty() {
                String::new()
            } else {
                format!("; **{} differ**", bad.len())
            }
        );
        for c in bad {
            let _ = writeln!(
                s,
                "- {} {}: re-keyed {}, reference {}",
                c.design,
                c.workload,
                c.measured,
                c.reference.map_or("none".into(), |x| x.to_string())
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
    // 5b. Purge and who still decrypts
    let purges: Vec<&RunRow> = rows
        .iter()
        .filter(|r| r.kind == crate::engine::workload::WorkloadKind::Purge)
        .collect();
    if !purges.is_empty() {
        let _ = writeln!(s, "\n## The data purge path of the largest tenant\n");
        let _ = writeln!(
            s,
            "The customer revokes its roots and asks the provider to purge; the provider deletes its keys of the tenant after a window in which its services still decrypt (`keyhier run --workload purge` gives the steps and the residue).\n"
        );
        let _ = writeln!(
            s,
            "| design | offered | who | provider decrypts for | leaves it decrypts meanwhile | leaves left after | residue |"
        );
        let _ = writeln!(s, "|---|---|---|---:|---:|---:|---|");
        for r in purges {
            let Some(p) = &r.purge else { continue };
            let residue: Vec<String> = p
                .residue
                .iter()
                .map(|x| {
                    format!(
                        "{} through {} ({} leaves, {})",
                        x.holder, x.through, x.leaves, x.until
                    )
                })
                .collect();
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} |",
                r.design,
                if p.supported {
                    "yes".to_owned()
                } else {
                    format!("no: {}", p.reason.as_deref().unwrap_or_default())
                },
                r.controller.map_or("—", |c| c.name()),
                if p.supported {
                    format!("{} h", p.window_hours)
                } else {
                    "—".into()
                },
                p.provider_leaves_in_window,
                p.leaves_left,
                if residue.is_empty() {
                    "none".into()
                } else {
                    residue.join("; ")
                }
            );
        }
    }
    let held: Vec<&RunRow> = rows
        .iter()
        .filter(|r| r.root_backend.as_ref().is_some_and(|b| b.ops > 0))
        .collect();
    if !held.is_empty() {
        let _ = writeln!(s, "\n## Root operations through the root backend\n");
        let _ = writeln!(
            s,
            "Every root operation of these runs went to the backend holding the roots (a PKCS#11 token: `C_GenerateKey`, `C_WrapKey`, `C_UnwrapKey`), counted and timed there; the prediction is those operations at the rates measured in the same process before the run.\n"
        );
        let _ = writeln!(
            s,
            "| design | workload | backend | operations | = model's root ops | ops/s | p50 / p99 µs | took | predicted |"
        );
        let _ = writeln!(s, "|---|---|---|---:|---|---:|---|---:|---:|");
        for r in held {
            let Some(b) = &r.root_backend else { continue };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {:.0} | {:.0} / {:.0} | {} | {} |",
                r.design,
                r.workload,
                b.kind.name(),
                b.ops,
                b.ops == r.measured.root_ops,
                b.ops_per_s,
                b.p50_us,
                b.p99_us,
                human_secs(b.seconds),
                b.predicted_seconds
                    .map_or_else(|| "—".to_owned(), human_secs)
            );
        }
    }
    if let Some(sim) = &res.slowest {
        let r = &sim.result;
        let _ = writeln!(s, "\n## The slowest recovery at a key service, over time\n");
        let _ = writeln!(
            s,
            "{} {} at {} ({}): {} root operations in the customer's vaults take {} simulated, {:.0} operations per second achieved; {} operations were throttled at least once, {} 429 responses in all, each retried after an exponential backoff with jitter; the slowest vault is {}. `slowest-timeline.svg` plots it second by second, `slowest-timeline.csv` has the windows; `keyhier simulate` runs any workload at any profile.",
            sim.design,
            sim.workload,
            sim.profile.name,
            sim.placement,
            sim.customer_root_ops,
            human_secs(r.seconds),
            r.ops_per_s,
            r.throttled,
            r.retries,
            sim.slowest_vault
        );
    }
    if !res.lazy.is_empty() {
        let m = &res.lazy[0].model;
        let _ = writeln!(s, "\n## A lazy roll over time\n");
        let _ = writeln!(
            s,
            "A lazy rotation rewraps a key when a user or system operation touches what is under it (as Exchange rolls mailboxes); until then wraps stay under the old version, and a leak of it still opens what they guard. Access model ({}): {:.0}% of active leaves touched a day, {:.0}% never touched (inactive, disconnected, disabled mailboxes), followed for {} days. `run --lazy --lazy-plot FILE` draws one.\n",
            if res.lazy[0].assumed {
                "ASSUMPTIONS, not facts"
            } else {
                "given"
            },
            m.touched_per_day * 100.0,
            m.never_touched * 100.0,
            m.days
        );
        let _ = writeln!(
            s,
            "| design | rotation | wraps to rewrite | still old after 1 / 7 / 30 days | never rewritten | old version destroyable (99%) | a leak of it on day 30 exposes |"
        );
        let _ = writeln!(s, "|---|---|---:|---|---:|---|---:|");
        for c in &res.lazy {
            let at = |d: u32| {
                c.days
                    .iter()
                    .find(|x| x.day == d)
                    .map_or_else(|| "—".to_owned(), |x| pct(x.old_share))
            };
            let leak30 = c.days.iter().find(|x| x.day == 30).map_or_else(
                || "—".to_owned(),
                |x| format!("{:.0} leaves", x.leak_exposes),
            );
            let _ = writeln!(
                s,
                "| {} | {} {} | {} | {} / {} / {} | {:.0} | {} | {leak30} |",
                c.design,
                c.role,
                c.extent.name(),
                c.wraps,
                at(1),
                at(7),
                at(30),
                c.tail_wraps,
                c.destroy_day_p99.map_or_else(
                    || format!("not within {} days", m.days),
                    |d| format!("day {d}")
                ),
            );
        }
    }
    let new_deps: Vec<&RunRow> = rows
        .iter()
        .filter(|r| r.kind == crate::engine::workload::WorkloadKind::NewDep)
        .collect();
    if !new_deps.is_empty() {
        let _ = writeln!(s, "\n## A new DEP for the largest tenant\n");
        let _ = writeln!(
            s,
            "Where a tenant key is shared by the tenant's DEPs (SharePoint's TIK, rolled when a new DEP is created; the multi-workload DEP key), a new DEP brings new customer keys and rolls that key: every wrap under it is redone, no leaf is re-keyed. Designs where each DEP is its own key are left out: a new DEP there changes no existing key.\n"
        );
        let _ = writeln!(
            s,
            "| design | who | keys rolled | wraps rewritten | root ops (customer vaults) | verified |"
        );
        let _ = writeln!(s, "|---|---|---:|---:|---:|---|");
        for r in new_deps {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} ({}) | {} |",
                r.design,
                r.controller.map_or("—", |c| c.name()),
                r.measured.keys_rekeyed,
                r.measured.wraps_rewritten,
                r.measured.root_ops,
                r.root_service.customer_root_ops,
                r.verification.verified
            );
        }
    }
    let revoked: Vec<crate::analysis::states::StateRow> = res
        .blast
        .states
        .iter()
        .filter(|r| r.state == crate::analysis::states::KeyState::Revoked && r.applies)
        .cloned()
        .collect();
    if !revoked.is_empty() {
        s.push_str(&crate::report::states::states_markdown(&revoked).replace(
            "## Lost, revoked by the customer, leaked: who still decrypts the largest tenant's data",
            "## Revoked by the customer: who still decrypts the largest tenant's data",
        ));
        let _ = writeln!(
            s,
            "\nOnly the revocations the customer can make are shown; `states.csv` has every role set lost, revoked and leaked, and `keyhier blast` prints them."
        );
    }
    // 6. Bulk
    let _ = writeln!(s, "\n## Bulk throughput\n");
    let _ = writeln!(
        s,
        "Provision wraps every key; unwrap-all recovers every leaf (cached: each intermediate once; cold: the whole path per leaf).\n"
    );
    let _ = writeln!(
        s,
        "| design | workload | wraps | unwraps | wall | items/s | tenant p50 / p99 / max (ms) |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---|");
    for d in &designs {
        for label in ["provision", "unwrap-all", "unwrap-all cold"] {
            if let Some(r) = find(rows, d, label) {
                let _ = writeln!(
                    s,
                    "| {d} | {label} | {} | {} | {} | {:.0} | {} |",
                    r.measured.wraps,
                    r.measured.unwraps,
                    human_secs(r.seconds),
                    r.items_per_s,
                    latency(r),
                );
            }
        }
    }
    let _ = writeln!(
        s,
        "\nNo peak memory here: the runs of one `compare` share a process, whose heap keeps what earlier runs freed, so a row's peak would depend on the rows before it. `keyhier run` (one run per process) and `keyhier gen` report it."
    );
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

/// One line of `risk.csv`: a design's risk, flat.
#[derive(serde::Serialize)]
struct RiskLine<'a> {
    design: &'a str,
    leaves: u64,
    largest_tenant_leaves: u64,
    p_leaf_exposed: f64,
    p_leaf_exposed_largest_tenant: f64,
    expected_leaves_exposed: f64,
    p_any_leaf_exposed: Option<f64>,
    p_loss: f64,
    p_loss_largest_tenant: f64,
    expected_leaves_lost: f64,
    p_any_leaf_lost: Option<f64>,
    roles_absent: String,
}

impl<'a> RiskLine<'a> {
    fn of(r: &'a crate::analysis::risk::DesignRisk) -> RiskLine<'a> {
        RiskLine {
            design: &r.design,
            leaves: r.leaves,
            largest_tenant_leaves: r.largest_tenant_leaves,
            p_leaf_exposed: r.p_leaf_exposed,
            p_leaf_exposed_largest_tenant: r.p_leaf_exposed_largest_tenant,
            expected_leaves_exposed: r.expected_leaves_exposed,
            p_any_leaf_exposed: r.p_any_leaf_exposed,
            p_loss: r.p_loss,
            p_loss_largest_tenant: r.p_loss_largest_tenant,
            expected_leaves_lost: r.expected_leaves_lost,
            p_any_leaf_lost: r.p_any_leaf_lost,
            roles_absent: r.roles_absent.join("; "),
        }
    }
}

/// Writes a compare result folder: summary.md, raw.csv, sweep.csv, blast.csv, env.json and the plots.
/// Files are written through temporary names and renamed, so an interrupted run leaves no half file.
pub fn write_compare(
    dir: &std::path::Path,
    res: &CompareResult,
    title: &str,
    command: &str,
    env: &serde_json::Value,
) -> Result<Vec<String>> {
    let folder = Folder::create(dir)?;
    let mut files = vec![];
    folder.put("raw.csv", &runs_csv(&res.rows)?)?;
    files.push("raw.csv".to_string());
    if !res.sweep.is_empty() {
        let rows: Vec<RunRow> = res.sweep.iter().map(|(_, r)| r.clone()).collect();
        folder.put("sweep.csv", &runs_csv(&rows)?)?;
        files.push("sweep.csv".into());
    }
    folder.put("blast.csv", &blast_csv(&res.blast)?)?;
    files.push("blast.csv".into());
    if !res.blast.states.is_empty() {
        folder.put(
            "states.csv",
            &crate::report::csv::serialized("states.csv", res.blast.states.iter())?,
        )?;
        files.push("states.csv".into());
    }
    if !res.risk.is_empty() {
        folder.put(
            "risk.csv",
            &crate::report::csv::serialized("risk.csv", res.risk.iter().map(RiskLine::of))?,
        )?;
        files.push("risk.csv".into());
    }
    if !res.histories.is_empty() {
        folder.put(
            "histories.csv",
            &crate::report::csv::serialized("histories.csv", res.histories.iter())?,
        )?;
        files.push("histories.csv".into());
    }
    folder.put_env(env)?;
    files.push("env.json".into());
    files.extend(crate::report::plot::cost_plots(&res.rows, folder.path())?);
    if let Some(sim) = &res.slowest {
        folder.put(
            "slowest-timeline.csv",
            &crate::report::service::timeline_csv(sim)?,
        )?;
        files.push("slowest-timeline.csv".into());
        crate::report::service::timeline_plot(&folder.path().join("slowest-timeline.svg"), sim)?;
        files.push("slowest-timeline.svg".into());
    }
    if let Some(c) = res.lazy.first() {
        folder.put("lazy.svg", &crate::report::lazy::lazy_svg(c)?)?;
        files.push("lazy.svg".into());
    }
    files.extend(crate::report::plot::sweep_plot(&res.sweep, folder.path())?);
    let mut summary = summary_markdown(res, title, command);
    let _ = writeln!(summary, "\n## Plots\n");
    for f in files.iter().filter(|f| f.ends_with(".svg")) {
        let _ = writeln!(summary, "![{f}]({f})\n");
    }
    folder.put("summary.md", &summary)?;
    files.push("summary.md".into());
    Ok(files)
}
