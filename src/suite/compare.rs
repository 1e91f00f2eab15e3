//! `compare`: the matrix of designs × workloads on one shape, blast
//! (exposure and availability) for every design, and optionally a sweep of
//! cost against hierarchy size. Returns typed rows; [`crate::report`] writes
//! them out.

use crate::analysis::exposure::{Blast, blast};

use crate::crypto::scheme::SchemeId;
use crate::engine::generate::{GenSpec, generate};
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
}

/// Number of runs `plan` makes (for a progress bar).
pub fn run_count(plan: &ComparePlan) -> u64 {
    let matrix: usize = plan.workloads.iter().map(|w| w.expand().len()).sum();
    (plan.designs.len() * (matrix + plan.sweep.len() * sweep_workloads().len())) as u64
}

/// Each of `specs`, expanded, built against `design`: the workload, or `None`
/// when it names a role the design lacks (with the spec).
fn matrix(design: &Design, specs: &[WorkloadSpec]) -> Result<Vec<Option<Workload>>> {
    specs
        .iter()
        .flat_map(WorkloadSpec::expand)
        .map(|spec| match spec.resolve(design) {
            Ok(w) => Ok(Some(w)),
            // A role picked by owner that the design lacks: nothing to run.
            Err(Error::UnknownRole { .. }) if !spec.names_a_role() => Ok(None),
            // A role named on purpose: say which design cannot run it.
            Err(e) => Err(Error::InvalidArgument(format!(
                "workload {spec} cannot run on design {}: {e} (leave out the design or the workload)",
                design.name
            ))),
        })
        .collect()
}

/// Runs the matrix. `progress` is told what is being done
/// ([`Progress::doing`]: a generation, a blast analysis, a run's label) and
/// advanced by one after each run and each skipped one ([`run_count`] in all).
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
        let (h, ring) = generate(&spec, &|_| {})?;
        progress.doing(&format!("{}: exposure and availability", design.name));
        let b = blast(&h);
        out.blast.exposure.extend(b.exposure);
        out.blast.availability.extend(b.availability);
        for w in matrix(design, &plan.workloads)? {
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
            out.rows.push(row);
        }
        for preset in &plan.sweep {
            let spec = GenSpec {
                design: design.clone(),
                shape: preset.shape,
                scheme: plan.scheme,
                seed: plan.opts.seed,
            };
            progress.doing(&format!("sweep {}: generate {}", preset.name, design.name));
            let (h, ring) = generate(&spec, &|_| {})?;
            for w in matrix(design, &sweep_workloads())? {
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
