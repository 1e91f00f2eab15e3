//! `keyhier corpus`: the seed corpus of every fuzz target, written to a folder.

use std::path::Path;
use std::process::ExitCode;

/// Writes the seed corpus under `out`.
pub fn run(out: &Path) -> anyhow::Result<ExitCode> {
    keyhier::internal::fuzzing::write_seed_corpus(out)?;
    Ok(ExitCode::SUCCESS)
}
