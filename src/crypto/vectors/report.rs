//! The outcome of a run: a [`FileReport`] per vector file, counting each
//! case's verdict, and the [`Report`] over all of them with the summary its
//! `Display` prints. It must not read files or judge cases (the readers and
//! `case` hand it verdicts), and it never prints by itself: the CLI prints it.

use std::collections::BTreeMap;
use std::fmt;

use super::case::Verdict;
use crate::crypto::scheme::SchemeId;

/// Most failures listed per file, and most file names listed per line, in the
/// report (all are counted).
const MAX_LISTED: usize = 20;

/// The format of a vector file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// NIST CAVP SP 800-38F KW/KWP/TKW text file.
    Cavp,
    /// Wycheproof JSON, key-wrap or AEAD schema.
    Wycheproof,
    /// The RFC 3394 / 5649 example list.
    RfcExamples,
}

/// What happened to the cases of one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileReport {
    /// The file, relative to the directory it was found in (or as named).
    pub name: String,
    /// Its format.
    pub format: Format,
    /// The schemes its cases ran on (empty when every case was skipped).
    pub schemes: Vec<SchemeId>,
    /// Cases that behaved as the file says (including acceptable ones).
    pub passed: usize,
    /// Cases that did not.
    pub failed: usize,
    /// Of the passed cases: those that had to be rejected (`FAIL` records,
    /// Wycheproof `invalid`) and were.
    pub rejected_as_required: usize,
    /// Wycheproof `acceptable` cases our schemes accepted.
    pub acceptable_accepted: usize,
    /// Wycheproof `acceptable` cases our schemes rejected.
    pub acceptable_rejected: usize,
    /// Skipped cases by reason.
    pub skipped: BTreeMap<String, usize>,
    /// The first failures, each naming its case and what went wrong.
    pub failures: Vec<String>,
}

impl FileReport {
    pub(crate) fn new(name: String, format: Format) -> Self {
        FileReport {
            name,
            format,
            schemes: Vec::new(),
            passed: 0,
            failed: 0,
            rejected_as_required: 0,
            acceptable_accepted: 0,
            acceptable_rejected: 0,
            skipped: BTreeMap::new(),
            failures: Vec::new(),
        }
    }

    /// Skipped cases, all reasons.
    pub fn skipped(&self) -> usize {
        self.skipped.values().sum()
    }

    /// Every case of the file.
    pub fn cases(&self) -> usize {
        self.passed + self.failed + self.skipped()
    }

    /// Cases that ran (passed or failed); zero means the file was skipped whole.
    pub fn ran(&self) -> usize {
        self.passed + self.failed
    }

    pub(crate) fn ran_on(&mut self, scheme: SchemeId) {
        if let Err(at) = self.schemes.binary_search(&scheme) {
            self.schemes.insert(at, scheme);
        }
    }

    pub(crate) fn record(&mut self, case: &str, verdict: Verdict) {
        match verdict {
            Verdict::Passed => self.passed += 1,
            Verdict::RejectedAsRequired => {
                self.passed += 1;
                self.rejected_as_required += 1;
            }
            Verdict::Acceptable { accepted } => {
                self.passed += 1;
                if accepted {
                    self.acceptable_accepted += 1;
                } else {
                    self.acceptable_rejected += 1;
                }
            }
            Verdict::Failed(why) => {
                self.failed += 1;
                if self.failures.len() < MAX_LISTED {
                    self.failures.push(format!("{case}: {why}"));
                }
            }
            Verdict::Skipped(why) => *self.skipped.entry(why).or_default() += 1,
        }
    }
}

/// Outcome of running vector files: one [`FileReport`] per vector file, in
/// order, and the other files the directories held.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Per vector file.
    pub files: Vec<FileReport>,
    /// Files found in the directories given that are not vector files this
    /// runner reads, relative to their directory, in order.
    pub ignored: Vec<String>,
}

impl Report {
    /// Whether the run passed: at least one case ran and none failed. Finding
    /// no vector file, or skipping every case, is not a pass.
    pub fn ok(&self) -> bool {
        self.failed() == 0 && self.ran() > 0
    }

    /// Cases that ran (passed or failed), over all files.
    pub fn ran(&self) -> usize {
        self.files.iter().map(FileReport::ran).sum()
    }

    /// The vector files of which no case ran (every case skipped, or none held).
    pub fn skipped_files(&self) -> impl Iterator<Item = &FileReport> {
        self.files.iter().filter(|f| f.ran() == 0)
    }

    /// Cases that passed, over all files.
    pub fn passed(&self) -> usize {
        self.files.iter().map(|f| f.passed).sum()
    }

    /// Cases that failed, over all files.
    pub fn failed(&self) -> usize {
        self.files.iter().map(|f| f.failed).sum()
    }

    /// Cases skipped, over all files.
    pub fn skipped(&self) -> usize {
        self.files.iter().map(FileReport::skipped).sum()
    }

    /// The report of the file named `name`.
    pub fn file(&self, name: &str) -> Option<&FileReport> {
        self.files.iter().find(|f| f.name == name)
    }
}

/// `names` joined by commas, at most [`MAX_LISTED`] of them, then how many more.
fn name_list<S: AsRef<str>>(names: &[S]) -> String {
    let mut listed = names
        .iter()
        .take(MAX_LISTED)
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > MAX_LISTED {
        listed.push_str(&format!(" and {} more", names.len() - MAX_LISTED));
    }
    listed
}

fn scheme_label(schemes: &[SchemeId]) -> String {
    if schemes.is_empty() {
        return "-".to_owned();
    }
    schemes
        .iter()
        .map(|s| s.name())
        .collect::<Vec<_>>()
        .join("+")
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name_width = self.files.iter().map(|r| r.name.len()).max().unwrap_or(0);
        let labels: Vec<String> = self
            .files
            .iter()
            .map(|r| scheme_label(&r.schemes))
            .collect();
        let label_width = labels.iter().map(String::len).max().unwrap_or(0);
        for (r, label) in self.files.iter().zip(&labels) {
            write!(
                f,
                "{:name_width$}  {label:label_width$}  {} passed, {} failed, {} skipped",
                r.name,
                r.passed,
                r.failed,
                r.skipped()
            )?;
            if r.rejected_as_required > 0 {
                write!(f, " ({} rejected as required)", r.rejected_as_required)?;
            }
            if r.acceptable_accepted + r.acceptable_rejected > 0 {
                write!(
                    f,
                    "; acceptable: {} accepted, {} rejected",
                    r.acceptable_accepted, r.acceptable_rejected
                )?;
            }
            writeln!(f)?;
            if r.cases() == 0 {
                writeln!(f, "    holds no case")?;
            }
            for (reason, n) in &r.skipped {
                writeln!(f, "    skipped {n}: {reason}")?;
            }
            for failure in &r.failures {
                writeln!(f, "    FAILED {failure}")?;
            }
            if r.failed > r.failures.len() {
                writeln!(
                    f,
                    "    ... and {} more failures",
                    r.failed - r.failures.len()
                )?;
            }
        }
        if !self.ignored.is_empty() {
            writeln!(
                f,
                "ignored, not vector files ({}): {}",
                self.ignored.len(),
                name_list(&self.ignored)
            )?;
        }
        let skipped_files: Vec<&str> = self.skipped_files().map(|r| r.name.as_str()).collect();
        if !skipped_files.is_empty() {
            writeln!(
                f,
                "skipped whole, no case ran ({}): {}",
                skipped_files.len(),
                name_list(&skipped_files)
            )?;
        }
        write!(f, "{} passed, {} failed", self.passed(), self.failed())?;
        if self.skipped() > 0 {
            write!(f, ", {} skipped", self.skipped())?;
        }
        writeln!(f)?;
        if self.ran() == 0 {
            let why = match (self.files.is_empty(), self.ignored.is_empty()) {
                (true, true) => "no file found",
                (true, false) => "no vector file found, only the ignored files above",
                (false, _) => "every vector file was skipped whole (reasons above)",
            };
            writeln!(f, "FAILED: no case ran: {why}")?;
        }
        Ok(())
    }
}
