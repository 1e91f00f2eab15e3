//! `keyhier risk`: compromise and loss events with annual probabilities (the
//! defaults are assumptions, and say so), turned into each design's
//! probability of exposure and loss within a year beside the baseline of
//! provider-managed keys, with a sensitivity table and plot. On the skeleton
//! of each design (no cryptography needed).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use keyhier::Design;
use keyhier::internal::analysis::risk::{RiskEvent, RiskReport, Scenario};
use keyhier::internal::graph::skeleton::skeleton;
use keyhier::internal::report::risk::{risk_markdown, sensitivity_svg};
use keyhier::internal::store::atomic::{check_output, write_atomic};

use super::common::{ShapeArgs, designs_arg, pool};

/// Arguments of `keyhier risk`.
#[derive(Args, Debug)]
pub struct RiskArgs {
    /// Designs (space-separated), or `all` (`--design` is the same flag). The baseline
    /// (`provider`: provider-managed keys only) is always added to set the others against.
    #[arg(long = "designs", visible_alias = "design", num_args = 1.., default_value = "all")]
    design: Vec<String>,
    #[command(flatten)]
    shape: ShapeArgs,
    /// A compromise event, NAME=PROBABILITY:ROLE[,ROLE...][:EXTENT]: each instance happens
    /// within a year with PROBABILITY (0 to 1) and leaks the ROLEs' keys (a root's name, or
    /// `customer` / `provider` for every root of that owner) at EXTENT: all (default: one event,
    /// the roles everywhere), tenant (each tenant independently), key (each key independently),
    /// one (the key above the most leaves). Repeat it; any given replaces the default compromises.
    /// Example: --event admins=0.01:ck1,ck2:tenant
    #[arg(long = "event", value_name = "EVENT")]
    events: Vec<RiskEvent>,
    /// A loss event, in the same form: the keys are gone. Any given replaces the default losses.
    #[arg(long = "loss", value_name = "EVENT")]
    losses: Vec<RiskEvent>,
    /// Also write the sensitivity plot (SVG) to this file.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Computes and prints the report (and writes the plot).
pub fn run(a: RiskArgs) -> anyhow::Result<ExitCode> {
    let mut designs = super::common::with_forests(designs_arg(&a.design)?, a.shape.forests)?;
    let baseline = Design::baseline();
    if let Some(b) = &baseline
        && !designs.iter().any(|d| d.name == b.name)
    {
        designs.push(b.clone());
    }
    let scenario = Scenario::given(a.events.clone(), a.losses.clone());
    if let Some(p) = &a.plot {
        check_output(p)?;
    }
    let shape = a.shape.shape()?;
    let pool = pool(a.threads)?;
    let hs = designs
        .iter()
        .map(|d| pool.install(|| skeleton(d, &shape, a.shape.scheme, a.shape.seed)))
        .collect::<Result<Vec<_>, _>>()?;
    let report = pool
        .install(|| RiskReport::of(&hs, baseline.as_ref().map(|b| b.name.as_str()), &scenario))?;
    if let Some(p) = &a.plot {
        write_atomic(p, sensitivity_svg(&report.sensitivity)?.as_bytes(), false)?;
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", risk_markdown(&report));
        if let Some(p) = &a.plot {
            println!("\nwrote {}", p.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
