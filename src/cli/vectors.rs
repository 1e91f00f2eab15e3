//! `keyhier vectors`: known-answer vector files run against the schemes.

use std::path::PathBuf;
use std::process::ExitCode;

/// Runs every vector file under `paths` and prints the report; fails if no case ran or any failed.
pub fn run(paths: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let report = keyhier::internal::crypto::vectors::run_paths(paths)?;
    print!("{report}");
    Ok(if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
