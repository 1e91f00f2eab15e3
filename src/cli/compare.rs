//! `keyhier compare`: every design × every workload, exposure and
//! availability, written into a results folder.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use keyhier::internal::analysis::risk::{RiskEvent, Scenario};
use keyhier::internal::report::{env_json, write_compare};
use keyhier::internal::store::atomic::StagedDir;
use keyhier::internal::suite::compare::{
    ComparePlan, compare, default_workloads, run_count, sweep_presets,
};
use keyhier::{Preset, RunOptions, SchemeId, WorkloadSpec};

use keyhier::internal::crypto::root::SharedRoots;
use keyhier::internal::engine::progress::Progress;

use super::common::{Phases, command_line, designs_arg, pool, results_dir};

/// Arguments of `keyhier compare`.
#[derive(Args, Debug)]
pub struct CompareArgs {
    /// Preset of the matrix.
    #[arg(long, default_value = "small")]
    preset: Preset,
    /// Designs (space-separated), or `all` (`--design` is the same flag).
    #[arg(long, visible_alias = "design", num_args = 1.., default_value = "all")]
    designs: Vec<String>,
    /// Workloads: NAME, NAME:ROLE or NAME:ROLE:EXTENT with NAME one of provision, unwrap-all,
    /// unwrap-all-cold, rotate-root, rotate-root-lazy, revoke, shred, purge, new-dep (e.g. `revoke:ak:all`);
    /// ROLE a root's name or `customer` / `provider` (the design's first root of that owner);
    /// a bare rotate-root or revoke means the first customer root and the first provider root
    /// (ck1 and ak in the built-in designs) at every extent. Default: the full matrix.
    #[arg(long, num_args = 1..)]
    workloads: Vec<WorkloadSpec>,
    /// Output folder (default results/<date>-<host>-<label>/).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Replace the output folder if it exists (it is replaced whole, only once the run is complete).
    #[arg(long)]
    force: bool,
    /// Label of the default output folder.
    #[arg(long, default_value = "compare")]
    label: String,
    /// Also sweep the rotation of the customer root and the revocation of the provider root
    /// over presets tiny, small and medium (log-scale plot).
    #[arg(long)]
    sweep: bool,
    /// Seed of the hierarchies and of new key material.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[command(flatten)]
    roots: super::common::RootArgs,
    /// Wrap scheme: kw, kwp, gcm, gcm-siv.
    #[arg(long, default_value = "kw")]
    scheme: SchemeId,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Bytes of data under each re-keyed leaf to re-encrypt.
    #[arg(long, default_value_t = 0)]
    data_bytes_per_leaf: u64,
    /// Your own root-operation rate (finite, above 0), beside the built-in profiles.
    #[arg(long, value_parser = super::common::positive_rate)]
    root_ops_per_s: Option<f64>,
    /// Spread the tenants over N forests (tenant t in forest t mod N) for designs with a key
    /// held per forest (sharepoint's availability key). Default: one forest.
    #[arg(long, value_name = "N")]
    forests: Option<u32>,
    /// A compromise event of the risk figures, as in `keyhier risk`:
    /// NAME=PROBABILITY:ROLE[,ROLE...][:EXTENT]. Any given replaces the default compromises
    /// (which are assumptions, and labelled so).
    #[arg(long = "event", value_name = "EVENT")]
    events: Vec<RiskEvent>,
    /// A loss event of the risk figures, in the same form. Any given replaces the default losses.
    #[arg(long = "loss", value_name = "EVENT")]
    losses: Vec<RiskEvent>,
}

/// Runs the matrix, writes the results folder, and fails unless every run
/// verified with counts equal to the model.
pub fn run(a: CompareArgs) -> anyhow::Result<ExitCode> {
    let plan = ComparePlan {
        designs: super::common::with_forests(designs_arg(&a.designs)?, a.forests)?,
        workloads: if a.workloads.is_empty() {
            default_workloads()
        } else {
            a.workloads.clone()
        },
        preset: a.preset,
        scheme: a.roots.scheme(a.scheme),
        opts: RunOptions {
            seed: a.seed,
            data_bytes_per_leaf: a.data_bytes_per_leaf,
            root_ops_per_s: a.root_ops_per_s,
            ..Default::default()
        },
        sweep: if a.sweep { sweep_presets() } else { vec![] },
        risk: Scenario::given(a.events.clone(), a.losses.clone()),
        roots: a.roots.backend()?.map(SharedRoots),
    };
    plan.risk.check(&plan.designs)?;
    let dir = a.out.clone().unwrap_or_else(|| results_dir(&a.label));
    // Checked and staged before the run: an existing folder (without --force)
    // or an unwritable place fails now; a failed run leaves nothing behind.
    let staged = StagedDir::create(&dir, a.force)?;
    let pool = pool(a.threads)?;
    let threads = pool.current_num_threads();
    let phases = Phases::new();
    phases.phase("compare (runs)", Some(run_count(&plan)));
    let start = std::time::Instant::now();
    let res = pool.install(|| compare(&plan, &phases))?;
    phases.phase("write results", None);
    let command = command_line();
    let env = env_json(
        a.seed,
        threads,
        &command,
        serde_json::json!({ "preset": a.preset.name, "scheme": a.scheme, "runs": res.rows.len(), "sweep_runs": res.sweep.len(), "seconds": start.elapsed().as_secs_f64() }),
    );
    let workloads: usize = plan.workloads.iter().map(|w| w.expand().len()).sum();
    let title = format!(
        "keyhier compare: {} designs × {} workloads, preset {}",
        plan.designs.len(),
        workloads,
        a.preset.name
    );
    let files = write_compare(staged.path(), &res, &title, &command, &env)?;
    staged.commit()?;
    phases.finish();
    let all = || res.rows.iter().chain(res.sweep.iter().map(|(_, r)| r));
    let verified = all().filter(|r| r.verification.verified).count();
    let matched = all().filter(|r| r.counts_match).count();
    let total = res.rows.len() + res.sweep.len();
    println!(
        "{total} runs in {:.1} s: {verified} verified, {matched} with counts equal to the model",
        start.elapsed().as_secs_f64()
    );
    println!("wrote {}: {}", dir.display(), files.join(", "));
    Ok(if verified == total && matched == total {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
