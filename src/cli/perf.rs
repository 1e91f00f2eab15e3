//! `keyhier perf`: key-wrap speed side by side, and bulk workloads beside the
//! primitive, written into a results folder.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use keyhier::internal::report::{env_json, write_perf};
use keyhier::internal::store::atomic::StagedDir;
use keyhier::internal::suite::perf;
use keyhier::{PRESETS, Preset};

use keyhier::internal::engine::progress::Progress;

use super::common::{Phases, command_line, results_dir};

/// Arguments of `keyhier perf`.
#[derive(Args, Debug)]
pub struct PerfArgs {
    /// Rounds (each implementation timed once per round).
    #[arg(long, default_value_t = 31)]
    rounds: usize,
    /// Preset of the workload part (flat design), or `none` to skip it.
    #[arg(long, default_value = "medium", value_parser = workload_part())]
    preset: WorkloadPart,
    /// Runs of each workload at each thread count, 1 and 2 threads alternating (median kept).
    #[arg(long, default_value_t = 9)]
    runs: usize,
    /// Output folder (default results/<date>-<host>-perf/).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Replace the output folder if it exists (it is replaced whole, only once the run is complete).
    #[arg(long)]
    force: bool,
}

/// The workload part of `perf`: a preset, or none.
#[derive(Clone, Copy, Debug)]
struct WorkloadPart(Option<Preset>);

impl WorkloadPart {
    fn name(self) -> &'static str {
        self.0.map_or("none", |p| p.name)
    }
}

/// `--preset`: a preset's name or `none`.
fn workload_part() -> impl TypedValueParser<Value = WorkloadPart> {
    PossibleValuesParser::new(PRESETS.iter().map(|p| p.name).chain(["none"]))
        .map(|name| WorkloadPart(PRESETS.iter().copied().find(|p| p.name == name)))
}

/// Times the primitives (and the workloads, unless `--preset none`) and writes the folder.
pub fn run(a: PerfArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        a.rounds >= 1 && a.runs >= 1,
        "--rounds and --runs must be at least 1"
    );
    let dir = a.out.clone().unwrap_or_else(|| results_dir("perf"));
    // Checked and staged before the run (see `compare`).
    let staged = StagedDir::create(&dir, a.force)?;
    let phases = Phases::new();
    phases.phase(
        &format!("primitives side by side ({} rounds)", a.rounds),
        None,
    );
    let prims = perf::primitives(a.rounds)?;
    let works = match a.preset.0 {
        None => Vec::new(),
        Some(preset) => {
            phases.phase(
                &format!(
                    "workloads on flat {} beside the primitive ({} rounds)",
                    preset.name, a.runs
                ),
                None,
            );
            perf::workloads(preset.name, a.runs)?
        }
    };
    phases.phase("write results", None);
    let command = command_line();
    // what each backend's AES runs on here (the portable one: the aes crate's own pick)
    let instructions: serde_json::Map<String, serde_json::Value> =
        keyhier::internal::crypto::fastkw::Backend::available()
            .map(|b| (b.name().to_owned(), b.instructions().into()))
            .collect();
    let env = env_json(
        1,
        1,
        &command,
        serde_json::json!({ "rounds": a.rounds, "preset": a.preset.name(), "runs": a.runs, "peers": cfg!(feature = "peers"), "fastkw_selected": keyhier::internal::crypto::fastkw::backend_name(), "fastkw_instructions": instructions }),
    );
    let files = write_perf(staged.path(), &prims, &works, &command, &env)?;
    staged.commit()?;
    phases.finish();
    println!("wrote {}: {}", dir.display(), files.join(", "));
    Ok(ExitCode::SUCCESS)
}
