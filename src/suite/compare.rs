//! `compare`: the matrix of designs × workloads on one shape, blast
//! (exposure and availability) for every design, and optionally a sweep of
//! cost against hierarchy size. Returns typed rows; [`crate::report`] writes
//! them out.

use crate::analysis::exposure::{Blast, blast};
use crate::analysis::reference::leaves_to_rekey;
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
use crate::graph::design::{DESIGN_NAMES, Design};
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
    /// Where the roots live (none: in process); the scheme must then be `kwp`.
    pub roots: Option<SharedRoots>,
}

/// The default workload matrix: provision, unwrap-all (cached and cold),
/// rotation and revocation of each design's first customer root and first
/// provider root ([`RolePick::DEFAULTS`]) at every extent, lazy rotation of
/// the first customer root, and shredding the largest tenant.
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
            let mut row = run(&mut st, &w, &plan.opts)?;
            row.shape = format!("{} ({})", plan.preset.name, plan.preset.shape);
            progress.advance(1);
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
    Ok(out)
}
