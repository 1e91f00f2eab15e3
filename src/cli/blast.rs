//! `keyhier blast`: exposure and availability of every root role and pair of
//! roles, and who still decrypts when they are lost, revoked by the customer
//! or leaked, on the skeleton of each design (no cryptography needed).

use std::process::ExitCode;

use clap::Args;
use keyhier::Extent;
use keyhier::internal::analysis::exposure::{Blast, blast_with, role_sets};
use keyhier::internal::engine::progress::Progress;
use keyhier::internal::graph::skeleton::skeleton;
use keyhier::internal::report::blast_markdown;

use super::common::{Phases, ShapeArgs, designs_arg, pool};

/// Arguments of `keyhier blast`.
#[derive(Args, Debug)]
pub struct BlastArgs {
    /// Designs (space-separated, e.g. `--designs m365 threshold tree:4,4`), or `all`
    /// (`--design` is the same flag).
    #[arg(long = "designs", visible_alias = "design", num_args = 1.., default_value = "all")]
    design: Vec<String>,
    #[command(flatten)]
    shape: ShapeArgs,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Print the rows as JSON.
    #[arg(long)]
    json: bool,
}

/// Analyses every design named and prints the tables (or JSON).
pub fn run(a: BlastArgs) -> anyhow::Result<ExitCode> {
    let designs = super::common::with_forests(designs_arg(&a.design)?, a.shape.forests)?;
    let shape = a.shape.shape()?;
    let pool = pool(a.threads)?;
    let mut all = Blast::default();
    let phases = Phases::new();
    for design in designs {
        phases.phase(&format!("{}: skeleton", design.name), None);
        let h = pool.install(|| skeleton(&design, &shape, a.shape.scheme, a.shape.seed))?;
        let analyses = (role_sets(&h).len() * Extent::ALL.len()) as u64;
        phases.phase(
            &format!(
                "{}: exposure and availability (role sets × extents)",
                design.name
            ),
            Some(analyses),
        );
        let b = pool.install(|| blast_with(&h, &|n| phases.inc(n)));
        all.exposure.extend(b.exposure);
        all.availability.extend(b.availability);
        all.states.extend(b.states);
    }
    phases.finish();
    if a.json {
        println!("{}", serde_json::to_string_pretty(&all)?);
    } else {
        print!("{}", blast_markdown(&all));
    }
    Ok(ExitCode::SUCCESS)
}
