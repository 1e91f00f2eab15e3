//! `compare`: the matrix of designs × workloads on one shape, blast
//! (exposure and availability) for every design, and optionally a sweep of
//! cost against hierarchy size. Returns typed rows; [`crate::report::summary`] writes
//! them out.

use crate::analysis::exposure::{Blast, blast};

use crate::crypto::scheme::SchemeId;
use crate::engine::generate::{GenSpec, generate};
use crate::engine::workload::{RunOptions, RunRow, State, Workload, run};
use crate::error::Result;
use crate::graph::design::{DESIGN_NAMES, Design};
use crate::graph::reach::Extent;
use crate::graph::shape::Shape;

/// What to compare.
#[derive(Clone, Debug)]
pub struct ComparePlan {
    /// Designs.
    pub designs: Vec<Design>,
    /// Workloads (roles a design lacks are skipped for it).
    pub workloads: Vec<Workload>,
    /// Preset name and shape.
    pub preset: String,
    /// The shape.
    pub shape: Shape,
    /// Scheme.
    pub scheme: SchemeId,
    /// Run options (seed, data bytes, user root rate).
    pub opts: RunOptions,
    /// Presets of the size sweep (empty: no sweep).
    pub sweep: Vec<String>,
}

/// The default workload matrix: provision, unwrap-all (cached and cold),
/// rotation and revocation of `ck1` and `ak` at every extent, lazy rotation
/// of `ck1`, and shredding the largest tenant.
pub fn default_workloads() -> Vec<Workload> {
    let mut w = vec![
        Workload::Provision,
        Workload::UnwrapAll { cold: false },
        Workload::UnwrapAll { cold: true },
    ];
    for role in ["ck1", "ak"] {
        for extent in Extent::ALL {
            w.push(Workload::RotateRoot {
                role: role.into(),
                extent,
                lazy: false,
            });
        }
    }
    w.push(Workload::RotateRoot {
        role: "ck1".into(),
        extent: Extent::All,
        lazy: true,
    });
    for role in ["ck1", "ak"] {
        for extent in Extent::ALL {
            w.push(Workload::Revoke {
                role: role.into(),
                extent,
            });
        }
    }
    w.push(Workload::Shred { tenant: 0 });
    w
}

/// The workloads of the size sweep.
pub fn sweep_workloads() -> Vec<Workload> {
    vec![
        Workload::RotateRoot {
            role: "ck1".into(),
            extent: Extent::All,
            lazy: false,
        },
        Workload::Revoke {
            role: "ak".into(),
            extent: Extent::All,
        },
    ]
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
    (plan.designs.len() * (plan.workloads.len() + plan.sweep.len() * sweep_workloads().len()))
        as u64
}

fn applies(design: &Design, w: &Workload) -> bool {
    match w {
        Workload::RotateRoot { role, .. } | Workload::Revoke { role, .. } => design
            .role_by_name(role)
            .is_some_and(|r| design.roles[usize::from(r)].is_root()),
        _ => true,
    }
}

/// Runs the matrix. `progress(label)` is called after each run.
pub fn compare(plan: &ComparePlan, progress: &(dyn Fn(&str) + Sync)) -> Result<CompareResult> {
    let mut out = CompareResult::default();
    for design in &plan.designs {
        let spec = GenSpec {
            design: design.clone(),
            shape: plan.shape,
            scheme: plan.scheme,
            seed: plan.opts.seed,
        };
        let (h, ring) = generate(&spec, &|_| {})?;
        let b = blast(&h);
        out.blast.exposure.extend(b.exposure);
        out.blast.availability.extend(b.availability);
        for w in &plan.workloads {
            if !applies(design, w) {
                progress(&format!(
                    "{} {} (no such role: skipped)",
                    design.name,
                    w.label()
                ));
                continue;
            }
            let mut st = State {
                h: h.clone(),
                ring: ring.clone(),
                gen_seed: Some(plan.opts.seed),
            };
            let mut row = run(&mut st, w, &plan.opts)?;
            row.shape = format!("{} ({})", plan.preset, plan.shape);
            progress(&format!("{} {}", design.name, w.label()));
            out.rows.push(row);
        }
        for preset in &plan.sweep {
            let shape = Shape::preset(preset)?;
            let spec = GenSpec {
                design: design.clone(),
                shape,
                scheme: plan.scheme,
                seed: plan.opts.seed,
            };
            let (h, ring) = generate(&spec, &|_| {})?;
            for w in sweep_workloads() {
                if !applies(design, &w) {
                    continue;
                }
                let mut st = State {
                    h: h.clone(),
                    ring: ring.clone(),
                    gen_seed: Some(plan.opts.seed),
                };
                let mut row = run(&mut st, &w, &plan.opts)?;
                row.shape = format!("{preset} ({shape})");
                progress(&format!("sweep {preset} {} {}", design.name, w.label()));
                out.sweep.push((preset.clone(), row));
            }
        }
    }
    Ok(out)
}
