//! `compare`: the matrix of designs × workloads on one shape, blast
//! (exposure and availability) for every design, and optionally a sweep of
//! cost against hierarchy size. Returns typed rows; [`crate::report`] writes
//! them out.

use crate::analysis::exposure::{Blast, blast, extreme};
use crate::analysis::reference::leaves_to_rekey;
use crate::analysis::risk::{DesignRisk, RiskModel, Scenario, risk};
use crate::engine::adversary::Adversary;
use crate::engine::plan::{ChangePlan, REMEDIES, Remedy};
use crate::engine::workload::run_against;
use crate::graph::reach::{leaves_below, select_keys};

use crate::crypto::root::SharedRoots;
use crate::crypto::scheme::SchemeId;
use crate::engine::generate::{GenSpec, generate_in};
use crate::engine::progress::Progress;
use crate::engine::workload::{RolePick, RunOptions, RunRow, State, Workload, WorkloadSpec, run};
use crate::error::{Error, Result};
use crate::graph::design::{DESIGN_NAMES, Design, RoleId};
use crate::graph::reach::Extent;
use crate::graph::shape::{PRESETS, Preset};

/// What to compare.
#[derive(Clone, Debug)]
pub struct ComparePlan {
    /// Designs.
    pub designs: Vec<Design>,
    /// Workloads, each standing for the ones [`WorkloadSpec::expand`] gives;
    /// those naming a role a design lacks are skipped for it.
    pub workloads: Vec<WorkloadSpec>,
    /// The preset of the matrix.
    pub preset: Preset,
    /// Scheme.
    pub scheme: SchemeId,
    /// Run options (seed, data bytes, user root rate).
    pub opts: RunOptions,
    /// Presets of the size sweep (empty: no sweep).
    pub sweep: Vec<Preset>,
    /// The compromise and loss events of the risk figures (the defaults,
    /// [`Scenario::assumed`], are assumptions and are labelled so).
    pub risk: Scenario,
    /// Where the roots live (none: in process); the scheme must then be `kwp`.
    pub roots: Option<SharedRoots>,
}

/// The default workload matrix: provision, unwrap-all (cached and cold),
/// rotation and revocation of each design's first customer root and first
/// provider root ([`RolePick::DEFAULTS`]) at every extent, lazy rotation of
/// the first customer root, and shredding, purging and a new DEP for the
/// largest tenant (where a new DEP rolls a key).
pub fn default_workloads() -> Vec<WorkloadSpec> {
    let [customer, _] = RolePick::DEFAULTS;
    vec![
        WorkloadSpec::Provision,
        WorkloadSpec::UnwrapAll { cold: false },
        WorkloadSpec::UnwrapAll { cold: true },
        WorkloadSpec::RotateRoot {
            role: None,
            extent: None,
            lazy: false,
        },
        WorkloadSpec::RotateRoot {
            role: Some(customer),
            extent: Some(Extent::All),
            lazy: true,
        },
        WorkloadSpec::Revoke {
            role: None,
            extent: None,
        },
        WorkloadSpec::Shred { tenant: 0 },
        WorkloadSpec::Purge { tenant: 0 },
        WorkloadSpec::NewDep { tenant: 0 },
    ]
}

/// The workloads of the size sweep: rotation of the first customer root and
/// revocation of the first provider root, everywhere.
pub fn sweep_workloads() -> Vec<WorkloadSpec> {
    let [customer, provider] = RolePick::DEFAULTS;
    vec![
        WorkloadSpec::RotateRoot {
            role: Some(customer),
            extent: Some(Extent::All),
            lazy: false,
        },
        WorkloadSpec::Revoke {
            role: Some(provider),
            extent: Some(Extent::All),
        },
    ]
}

/// The presets of `--sweep`: the three smallest (tiny, small, medium).
pub fn sweep_presets() -> Vec<Preset> {
    PRESETS.iter().take(3).copied().collect()
}

/// All designs.
pub fn all_designs() -> Vec<Design> {
    DESIGN_NAMES
        .iter()
        .filter_map(|n| Design::by_name(n).ok())
        .collect()
}

/// Everything compare measured.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct CompareResult {
    /// One row per (design, workload).
    pub rows: Vec<RunRow>,
    /// Exposure and availability per design.
    pub blast: Blast,
    /// The sweep rows (design, workload, preset).
    pub sweep: Vec<(String, RunRow)>,
    /// Two-event histories: each revocation (with each remedy, where they
    /// differ), then a leak of each other root role.
    pub histories: Vec<HistoryRow>,
    /// Every revocation of the matrix beside the independent reference.
    pub reference: Vec<ReferenceCheck>,
    /// The events the risk figures rest on ([`ComparePlan::risk`]).
    pub risk_scenario: Option<Scenario>,
    /// The risk of each design under them ([`crate::analysis::risk`]).
    pub risk: Vec<DesignRisk>,
    /// The revocation (or rotation) of the matrix that takes longest at Azure
    /// Key Vault (HSM RSA-2048), simulated again with its timeline (none when
    /// every one fits in a window's quota).
    pub slowest: Option<crate::engine::service::Simulation>,
    /// The lazy roll over time of every lazy rotation of the matrix, under
    /// the default access model (assumptions, labelled so).
    pub lazy: Vec<crate::analysis::lazy::LazyCurve>,
    /// What each design's own keys buy the customer beside the baseline
    /// ([`bought`]): filled once every design has run.
    pub bought: Vec<BoughtRow>,
}

/// A revocation, then a leak of another root role, against the attacker who
/// kept the copy of the store it took at the first leak.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct HistoryRow {
    /// Design.
    pub design: String,
    /// The role leaked then revoked (everywhere).
    pub revoked: String,
    /// The remedy.
    pub remedy: &'static str,
    /// Root operations of the revocation.
    pub root_ops: u64,
    /// Wraps written.
    pub wraps: u64,
    /// Leaves re-keyed (their data re-encrypted).
    pub leaves_rekeyed: u64,
    /// Whether the revocation verified (one-more-compromise check included).
    pub verified: bool,
    /// The role that leaks next (everywhere).
    pub then_leaked: String,
    /// Current leaves the attacker then knows.
    pub exposed_after: u64,
    /// Current leaves that second leak alone would expose.
    pub exposed_alone: u64,
    /// Leaves.
    pub leaves: u64,
}

/// One revocation's re-keyed leaves beside the promise's reference
/// ([`crate::analysis::reference`]).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ReferenceCheck {
    /// Design.
    pub design: String,
    /// Workload label.
    pub workload: String,
    /// Leaves the run re-keyed.
    pub measured: u64,
    /// Leaves the reference says it must.
    pub reference: Option<u64>,
}

/// Number of runs `plan` makes (for a progress bar).
pub fn run_count(plan: &ComparePlan) -> u64 {
    let matrix: usize = plan.workloads.iter().map(|w| w.expand().len()).sum();
    let histories: u64 = plan.designs.iter().map(history_count).sum();
    (plan.designs.len() * (matrix + plan.sweep.len() * sweep_workloads().len())) as u64 + histories
}

/// Each of `specs`, expanded, built against `design`: the workload, or `None`
/// when it names a role the design lacks (with the spec, for the progress line).
fn matrix(
    design: &Design,
    specs: &[WorkloadSpec],
) -> Result<Vec<(WorkloadSpec, Option<Workload>)>> {
    specs
        .iter()
        .flat_map(WorkloadSpec::expand)
        .map(|spec| match spec.resolve(design) {
            Ok(w) => Ok((spec, Some(w))),
            // A new DEP rolls nothing where each DEP is its own key: nothing to run.
            Err(_)
                if matches!(spec, WorkloadSpec::NewDep { .. })
                    && design.rolled_on_new_dep().is_empty() =>
            {
                Ok((spec, None))
            }
            // A role picked by owner that the design lacks: nothing to run.
            Err(Error::UnknownRole { .. }) if !spec.names_a_role() => Ok((spec, None)),
            // A role named on purpose: say which design cannot run it.
            Err(e) => Err(Error::InvalidArgument(format!(
                "workload {spec} cannot run on design {}: {e} (leave out the design or the workload)",
                design.name
            ))),
        })
        .collect()
}

/// Keeps in `slowest` the simulation, with its timeline, of `w` (a
/// rotation or revocation) when its time at Azure Key Vault (HSM RSA-2048,
/// the row's figure) is the longest so far and above zero.
fn slowest_at_akv(
    slowest: &mut Option<crate::engine::service::Simulation>,
    h: &crate::graph::hierarchy::Hierarchy,
    w: &Workload,
    row: &RunRow,
    opts: &RunOptions,
) -> Result<()> {
    use crate::engine::service::{
        Placement, ProfileId, SimOptions, profile::profile_by_name, simulate_workload,
    };
    if !matches!(
        w,
        Workload::RotateRoot { lazy: false, .. } | Workload::Revoke { .. }
    ) {
        return Ok(());
    }
    let name = ProfileId::AkvRsa2048.name();
    let Some(&(_, secs)) = row.root_seconds.iter().find(|(n, _)| n == name) else {
        return Ok(());
    };
    if secs <= 0.0 || slowest.as_ref().is_some_and(|s| s.result.seconds >= secs) {
        return Ok(());
    }
    let profile = profile_by_name(name)?;
    *slowest = Some(simulate_workload(
        h,
        w,
        opts.remedy,
        &profile,
        Placement::default(),
        &SimOptions::default(),
    )?);
    Ok(())
}

/// Number of revocations [`two_event_histories`] runs on `design` (for a progress bar).
pub fn history_count(design: &Design) -> u64 {
    let roots = design.root_roles().len() as u64;
    // remedies differ only where a leak can leave a key partly exposed: a
    // share-based key, or a nested slot (structure, not shape)
    let partial = design
        .roles
        .iter()
        .any(|r| r.shares || r.slots.iter().any(|s| s.len() > 1));
    roots * if partial { REMEDIES.len() as u64 } else { 1 }
}

/// For each root role: it leaks everywhere and is revoked (with each remedy
/// where they differ, else the default), then each other root role leaks
/// everywhere; what the attacker who kept its copy then knows, beside what
/// that second leak alone gives.
pub fn two_event_histories(
    st0: &State,
    opts: &RunOptions,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Vec<HistoryRow>> {
    let h0 = &st0.h;
    let below = leaves_below(h0);
    let roots = h0.design.root_roles();
    let mut out = Vec::new();
    for &r1 in &roots {
        let differ = !ChangePlan::revoke_with(h0, r1, Extent::All, Remedy::default())
            .affected
            .is_empty();
        let remedies: Vec<Remedy> = if differ {
            REMEDIES.iter().map(|r| r.id).collect()
        } else {
            vec![Remedy::default()]
        };
        for remedy in remedies {
            let mut st = State {
                h: h0.clone(),
                ring: st0.ring.clone(),
                gen_seed: st0.gen_seed,
            };
            let mut adv = Adversary::new();
            adv.leak(&st.h, &select_keys(&st.h, &below, r1, Extent::All));
            let o = RunOptions {
                remedy,
                reference: false,
                ..opts.clone()
            };
            let w = Workload::Revoke {
                role: r1,
                extent: Extent::All,
            };
            let row = run_against(&mut st, &w, &o, &mut adv)?;
            let name = |r: u8| h0.design.roles[usize::from(r)].name.clone();
            progress(&format!(
                "{} history: revoke {} ({}), then each other root leaks",
                h0.design.name,
                name(r1),
                remedy.name()
            ));
            for &r2 in roots.iter().filter(|&&r| r != r1) {
                let keys = select_keys(&st.h, &below, r2, Extent::All);
                let mut with = adv.clone();
                with.leak(&st.h, &keys);
                let mut alone = Adversary::new();
                alone.leak(&st.h, &keys);
                out.push(HistoryRow {
                    design: h0.design.name.clone(),
                    revoked: name(r1),
                    remedy: remedy.name(),
                    root_ops: row.measured.root_ops,
                    wraps: row.measured.wraps,
                    leaves_rekeyed: row.measured.leaves_rekeyed,
                    verified: row.verification.verified,
                    then_leaked: name(r2),
                    exposed_after: with.exposure(&st.h).current_leaves,
                    exposed_alone: alone.exposure(&st.h).current_leaves,
                    leaves: st.h.leaves(),
                });
            }
        }
    }
    Ok(out)
}

/// Runs the matrix. `progress` is told what is being done
/// ([`Progress::doing`]: a generation, a blast analysis, a run's label) and
/// advanced by one after each run, each skipped one and each history's
/// revocation ([`run_count`] in all).
pub fn compare(plan: &ComparePlan, progress: &dyn Progress) -> Result<CompareResult> {
    let mut out = CompareResult::default();
    for design in &plan.designs {
        let spec = GenSpec {
            design: design.clone(),
            shape: plan.preset.shape,
            scheme: plan.scheme,
            seed: plan.opts.seed,
        };
        progress.doing(&format!("{}: generate ({})", design.name, plan.preset.name));
        let (h, ring) = generate_in(&spec, plan.roots.as_ref().map(|r| r.0.clone()), &|_| {})?;
        progress.doing(&format!("{}: exposure and availability", design.name));
        let b = blast(&h);
        out.blast.exposure.extend(b.exposure);
        out.blast.availability.extend(b.availability);
        out.blast.states.extend(b.states);
        progress.doing(&format!("{}: risk within a year", design.name));
        out.risk.push(risk(&RiskModel::new(&h)?, &plan.risk));
        for (_, w) in matrix(design, &plan.workloads)? {
            let Some(w) = w else {
                progress.advance(1);
                continue;
            };
            progress.doing(&format!("{}: {}", design.name, w.label(design)));
            let mut st = State {
                h: h.clone(),
                ring: ring.clone(),
                gen_seed: Some(plan.opts.seed),
            };
            if let Workload::RotateRoot {
                role,
                extent,
                lazy: true,
            } = w
            {
                out.lazy.push(crate::analysis::lazy::lazy_curve(
                    &h,
                    role,
                    extent,
                    &crate::analysis::lazy::AccessModel::default(),
                    true,
                )?);
            }
            let mut row = run(&mut st, &w, &plan.opts)?;
            row.shape = format!("{} ({})", plan.preset.name, plan.preset.shape);
            progress.advance(1);
            slowest_at_akv(&mut out.slowest, &h, &w, &row, &plan.opts)?;
            if let Workload::Revoke { role, extent } = w {
                let leaked = select_keys(&h, &leaves_below(&h), role, extent);
                out.reference.push(ReferenceCheck {
                    design: design.name.clone(),
                    workload: row.workload.clone(),
                    measured: row.measured.leaves_rekeyed,
                    reference: leaves_to_rekey(&h, &leaked, plan.opts.remedy),
                });
            }
            out.rows.push(row);
        }
        let state = State {
            h,
            ring,
            gen_seed: Some(plan.opts.seed),
        };
        progress.doing(&format!("{}: two-event histories", design.name));
        out.histories
            .extend(two_event_histories(&state, &plan.opts, &|label: &str| {
                progress.advance(1);
                progress.doing(label);
            })?);
        for preset in &plan.sweep {
            let spec = GenSpec {
                design: design.clone(),
                shape: preset.shape,
                scheme: plan.scheme,
                seed: plan.opts.seed,
            };
            progress.doing(&format!("sweep {}: generate {}", preset.name, design.name));
            let (h, ring) = generate_in(&spec, plan.roots.as_ref().map(|r| r.0.clone()), &|_| {})?;
            for (_, w) in matrix(design, &sweep_workloads())? {
                let Some(w) = w else {
                    progress.advance(1);
                    continue;
                };
                progress.doing(&format!(
                    "sweep {}: {} {}",
                    preset.name,
                    design.name,
                    w.label(design)
                ));
                let mut st = State {
                    h: h.clone(),
                    ring: ring.clone(),
                    gen_seed: Some(plan.opts.seed),
                };
                let mut row = run(&mut st, &w, &plan.opts)?;
                row.shape = format!("{} ({})", preset.name, preset.shape);
                progress.advance(1);
                out.sweep.push((preset.name.to_owned(), row));
            }
        }
    }
    out.risk_scenario = Some(plan.risk.clone());
    out.bought = bought(&out);
    Ok(out)
}

/// What one design's own keys buy its customer, beside the baseline of
/// provider-managed keys: the four parts of the answer in one row, each
/// taken from the analyses and runs of the same compare (nothing new is
/// measured here).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct BoughtRow {
    /// Design.
    pub design: String,
    /// Whether this is the baseline (provider-managed keys only).
    pub baseline: bool,
    /// The customer's root roles (empty for the baseline).
    pub customer_roots: Vec<String>,
    /// Confidentiality: P(a leaf is exposed within a year), mean over leaves,
    /// under the risk scenario of the compare (the defaults are assumptions).
    pub p_leaf_exposed: f64,
    /// That, over the baseline's (above 1: more exposed than with provider keys).
    pub exposed_vs_baseline: Option<f64>,
    /// Confidentiality: the single root roles whose leak everywhere exposes
    /// the most (`, `-joined), and the share of all leaves it exposes.
    pub worst_single_leak: Option<(String, f64)>,
    /// Availability: P(a leaf is irrecoverably lost within a year), mean over leaves.
    pub p_loss: f64,
    /// That, over the baseline's.
    pub loss_vs_baseline: Option<f64>,
    /// Availability: the single root roles whose loss everywhere leaves the
    /// least (`, `-joined), and the share still recoverable.
    pub worst_single_loss: Option<(String, f64)>,
    /// Control: after the customer revokes every one of its roots above the
    /// largest tenant, the share its users still read, the share the
    /// provider's services still decrypt on their own, and the share the
    /// provider can recover on request (`None`: no customer root, or more
    /// than two: the states table covers single roles and pairs).
    pub after_customer_revokes: Option<[f64; 3]>,
    /// Control: the data purge path of the largest tenant: `Ok(hours the
    /// provider can still decrypt, leaves left after it)`, or why it is not
    /// offered.
    pub purge: Option<core::result::Result<(f64, u64), String>>,
    /// Control: whether the customer alone crypto-shreds the largest tenant.
    pub customer_shreds: Option<bool>,
    /// Recovery cost: the revocation everywhere of the first customer root
    /// (of the provider root for the baseline).
    pub recovery: Option<RecoveryCost>,
}

/// The cost of one revocation, as the bought table shows it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct RecoveryCost {
    /// The workload label.
    pub workload: String,
    /// Who can perform it.
    pub controller: Option<&'static str>,
    /// Leaves re-keyed (data to re-encrypt).
    pub leaves_rekeyed: u64,
    /// Root operations in the customer's vaults.
    pub customer_root_ops: u64,
    /// Root operations at the provider.
    pub provider_root_ops: u64,
    /// Simulated time at Azure Key Vault (HSM RSA-2048), one vault per tenant.
    pub akv_seconds: Option<f64>,
    /// Whether it verified (against the attacker who keeps everything, plus one more compromise).
    pub verified: bool,
}

/// The bought table: one row per design of `res`, the baseline first.
pub fn bought(res: &CompareResult) -> Vec<BoughtRow> {
    use crate::analysis::states::KeyState;
    use crate::engine::service::ProfileId;
    use crate::engine::workload::WorkloadKind;
    use crate::graph::design::Owner;

    let baseline = Design::baseline().map(|d| d.name);
    let risk_of = |d: &str| res.risk.iter().find(|r| r.design == d);
    let base_risk = baseline.as_deref().and_then(risk_of);
    let ratio = |x: f64, b: Option<f64>| b.filter(|&b| b > 0.0).map(|b| x / b);
    let mut designs: Vec<String> = Vec::new();
    for r in &res.risk {
        if !designs.contains(&r.design) {
            designs.push(r.design.clone());
        }
    }
    designs.sort_by_key(|d| Some(d) != baseline.as_ref());
    let mut out = Vec::new();
    for d in designs {
        let Ok(design) = Design::by_name(&d) else {
            continue;
        };
        let Some(risk) = risk_of(&d) else {
            continue;
        };
        let name = |r: RoleId| design.roles[usize::from(r)].name.clone();
        let customer: Vec<String> = design
            .roots_of(Owner::Customer)
            .into_iter()
            .map(name)
            .collect();
        let single = |x: &str| !x.contains('+');
        let worst_single_leak = extreme(
            res.blast
                .exposure
                .iter()
                .filter(|x| x.design == d && x.extent == Extent::All && single(&x.roles))
                .map(|x| (x.roles.as_str(), x.share_of_all)),
            true,
        );
        let worst_single_loss = extreme(
            res.blast
                .availability
                .iter()
                .filter(|x| x.design == d && x.extent == Extent::All && single(&x.roles))
                .map(|x| (x.roles.as_str(), x.share_recoverable)),
            false,
        );
        let revoked = customer.join("+");
        let after_customer_revokes = res
            .blast
            .states
            .iter()
            .find(|s| {
                s.design == d && s.state == KeyState::Revoked && s.applies && s.roles == revoked
            })
            .map(|s| {
                [
                    s.users.unwrap_or(0.0),
                    s.provider_services.unwrap_or(0.0),
                    s.provider_on_request.unwrap_or(0.0),
                ]
            });
        let row_of = |kind: WorkloadKind| {
            res.rows
                .iter()
                .find(|r| r.design == d && r.kind == kind && r.workload.ends_with(" 0"))
        };
        let purge = row_of(WorkloadKind::Purge)
            .and_then(|r| r.purge.as_ref())
            .map(|p| {
                if p.supported {
                    Ok((p.window_hours, p.leaves_left))
                } else {
                    Err(p.reason.clone().unwrap_or_default())
                }
            });
        let customer_shreds = row_of(WorkloadKind::Shred).map(|r| {
            r.crypto_shred == Some(true)
                && r.controller
                    .is_some_and(|c| c == crate::graph::design::Controller::Customer)
        });
        let role = customer
            .first()
            .cloned()
            .or_else(|| design.roots_of(Owner::Provider).first().map(|&r| name(r)));
        let recovery = role.and_then(|role| {
            res.rows
                .iter()
                .find(|r| {
                    r.design == d
                        && r.kind == WorkloadKind::Revoke
                        && r.extent == Some(Extent::All)
                        && r.role.as_deref() == Some(role.as_str())
                })
                .map(|r| RecoveryCost {
                    workload: r.workload.clone(),
                    controller: r.controller.map(|c| c.name()),
                    leaves_rekeyed: r.measured.leaves_rekeyed,
                    customer_root_ops: r.root_service.customer_root_ops,
                    provider_root_ops: r.root_service.provider_root_ops,
                    akv_seconds: r
                        .root_seconds
                        .iter()
                        .find(|(n, _)| n == ProfileId::AkvRsa2048.name())
                        .map(|(_, t)| *t),
                    verified: r.verification.verified,
                })
        });
        out.push(BoughtRow {
            baseline: Some(&d) == baseline.as_ref(),
            design: d,
            customer_roots: customer,
            p_leaf_exposed: risk.p_leaf_exposed,
            exposed_vs_baseline: ratio(risk.p_leaf_exposed, base_risk.map(|b| b.p_leaf_exposed)),
            worst_single_leak,
            p_loss: risk.p_loss,
            loss_vs_baseline: ratio(risk.p_loss, base_risk.map(|b| b.p_loss)),
            worst_single_loss,
            after_customer_revokes,
            purge,
            customer_shreds,
            recovery,
        });
    }
    out
}
