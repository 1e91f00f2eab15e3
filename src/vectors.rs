//! Known-answer vector files: NIST CAVP KW/KWP text files and Wycheproof JSON.
//! (Being written: see the helper task.)
use std::path::PathBuf;

/// Outcome of running vector files.
#[derive(Debug, Default)]
pub struct Report {}

impl Report {
    /// Cases that failed.
    pub fn failed(&self) -> usize {
        0
    }
}

impl core::fmt::Display for Report {
    fn fmt(&self, _f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        Ok(())
    }
}

/// Runs every vector file under `paths`.
pub fn run_paths(_paths: &[PathBuf]) -> crate::Result<Report> {
    Ok(Report::default())
}
