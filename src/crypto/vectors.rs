//! Known-answer vector files, run against the wrap schemes.
//!
//! This module owns reading and judging vector files and the [`Report`] of the
//! outcome. It reads three formats:
//!
//! - NIST CAVP SP 800-38F text files (`KW_AE_*`, `KW_AD_*`, `KWP_AE_*`,
//!   `KWP_AD_*`): AE records must wrap `P` under `K` to `C` (and unwrap back);
//!   AD records must unwrap `C` to `P`, or fail where the record says `FAIL`.
//!   Inverse-cipher (`_inv`) and triple-DES (`TKW`) files are read, and every
//!   record is counted as skipped: no scheme here implements them.
//! - Wycheproof JSON, `keywrap_test_schema` (`AES-WRAP` is `kw`, `AES-KWP` is
//!   `kwp`; the older files say `KW`, `KWP`) and `aead_test_schema` (`AES-GCM`
//!   is `gcm`, `AES-GCM-SIV` is `gcm-siv`), `_v1` or not. `valid` cases must
//!   wrap to `ct` and unwrap back, `invalid` ones must not unwrap (nor wrap to
//!   `ct`), `acceptable` ones may go either way, consistently, and are counted
//!   by the way they went. An AEAD case runs through [`Kek::wrap_raw`] with the
//!   case's `iv` as nonce and `aad` as associated data, and must give
//!   `iv‖ct‖tag`. Other algorithms under these schemas are counted as skipped.
//! - The RFC 3394 / RFC 5649 example list (`{"vectors": [{mode, kek,
//!   key_data, ciphertext}]}`), every entry valid.
//!
//! Parameters a scheme does not take (a 64-bit nonce, a 192-bit GCM-SIV KEK,
//! an empty key under an AEAD wrap) are skipped with the reason, never passed.
//! A malformed file is an [`Error`] naming the file and the case, never a panic.
//! A directory means every vector file in it, recursively and sorted; other
//! files there are listed as ignored, while a file named explicitly must be
//! one. A run in which no case ran (nothing found, only other files, or every
//! case skipped) is not a pass: [`Report::ok`] is false and the report says
//! why.
//!
//! It must not print (the CLI prints the [`Report`]) and implements no
//! cryptography: every case goes through [`Kek::wrap_raw`] and
//! [`Kek::unwrap_raw`], the same calls a hierarchy makes.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::crypto::scheme::{Kek, MAX_AEAD_KEY_DATA, NONCE_LEN, SchemeId, TAG_LEN};
use crate::crypto::secret::{SecretBytes, ct_eq};
use crate::error::{Error, Result};

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
    fn new(name: String, format: Format) -> Self {
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

    fn ran_on(&mut self, scheme: SchemeId) {
        if let Err(at) = self.schemes.binary_search(&scheme) {
            self.schemes.insert(at, scheme);
        }
    }

    fn record(&mut self, case: &str, verdict: Verdict) {
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

/// Runs every vector file under `paths`: a file is run as named (and must be
/// a vector file); a directory means every vector file in it, recursively, in
/// sorted order, other files being listed in [`Report::ignored`].
pub fn run_paths(paths: &[PathBuf]) -> Result<Report> {
    let mut report = Report::default();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path.display().to_string(), e))?;
        if meta.is_dir() {
            let mut found = Vec::new();
            collect_files(path, &mut found)?;
            found.sort();
            for file in found {
                let name = file
                    .strip_prefix(path)
                    .unwrap_or(&file)
                    .display()
                    .to_string();
                let loaded = if is_vector_candidate(&file) {
                    load(&file, false)?
                } else {
                    None
                };
                match loaded {
                    Some(loaded) => report.files.push(loaded.run(name)?),
                    None => report.ignored.push(name),
                }
            }
        } else {
            let loaded = load(path, true)?.ok_or_else(|| {
                Error::invalid(
                    "vector file",
                    format!(
                        "{}: not a vector file this runner reads (NIST CAVP KW/KWP .txt, \
                         Wycheproof key-wrap or AEAD .json, RFC example .json)",
                        path.display()
                    ),
                )
            })?;
            report.files.push(loaded.run(path.display().to_string())?);
        }
    }
    Ok(report)
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir.display().to_string(), e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir.display().to_string(), e))?;
        let path = entry.path();
        let kind = entry
            .file_type()
            .map_err(|e| Error::io(path.display().to_string(), e))?;
        if kind.is_dir() {
            collect_files(&path, out)?;
        } else if kind.is_file() || std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
            // A symlink counts if it points at a file; symlinked directories are not
            // followed (no cycles).
            out.push(path);
        }
    }
    Ok(())
}

/// Only `.json` and `.txt` files are read when found in a directory.
fn is_vector_candidate(path: &Path) -> bool {
    has_extension(path, "json") || has_extension(path, "txt")
}

fn has_extension(path: &Path, ext: &str) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case(ext))
}

fn malformed(path: &Path, detail: impl fmt::Display) -> Error {
    Error::invalid("vector file", format!("{}: {detail}", path.display()))
}

/// A vector file read and recognised, not yet run.
enum Loaded<'p> {
    Cavp {
        path: &'p Path,
        kind: CavpKind,
        text: String,
    },
    Wycheproof {
        path: &'p Path,
        doc: Map<String, Value>,
    },
    Rfc {
        path: &'p Path,
        doc: Map<String, Value>,
    },
}

impl Loaded<'_> {
    fn run(self, name: String) -> Result<FileReport> {
        match self {
            Loaded::Cavp { path, kind, text } => run_cavp(path, name, kind, &text),
            Loaded::Wycheproof { path, doc } => run_wycheproof(path, name, &doc),
            Loaded::Rfc { path, doc } => run_rfc(path, name, &doc),
        }
    }
}

/// Reads `path` and recognises its format. `None`: not a vector file (the
/// caller decides whether that is an error). `explicit`: the user named this
/// file, so a syntax error is reported rather than taken as "not ours".
fn load(path: &Path, explicit: bool) -> Result<Option<Loaded<'_>>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path.display().to_string(), e))?;
    let Ok(text) = String::from_utf8(bytes) else {
        return if explicit {
            Err(malformed(path, "not UTF-8 text"))
        } else {
            Ok(None)
        };
    };
    if has_extension(path, "json") {
        return load_json(path, &text, explicit);
    }
    Ok(cavp_kind(path, &text).map(|kind| Loaded::Cavp { path, kind, text }))
}

const KEYWRAP_SCHEMAS: [&str; 2] = ["keywrap_test_schema_v1.json", "keywrap_test_schema.json"];
const AEAD_SCHEMAS: [&str; 2] = ["aead_test_schema_v1.json", "aead_test_schema.json"];

fn load_json<'p>(path: &'p Path, text: &str, explicit: bool) -> Result<Option<Loaded<'p>>> {
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        // In a directory, a broken file that says it is one of our schemas is
        // still an error: a truncated vector file must not vanish silently.
        Err(e)
            if explicit
                || text.contains("keywrap_test_schema")
                || text.contains("aead_test_schema") =>
        {
            return Err(malformed(path, format_args!("not valid JSON: {e}")));
        }
        Err(_) => return Ok(None),
    };
    let Value::Object(doc) = value else {
        return Ok(None);
    };
    match doc.get("schema").and_then(Value::as_str) {
        Some(s) if KEYWRAP_SCHEMAS.contains(&s) || AEAD_SCHEMAS.contains(&s) => {
            Ok(Some(Loaded::Wycheproof { path, doc }))
        }
        Some(_) => Ok(None),
        None if doc.get("vectors").is_some_and(Value::is_array) => {
            Ok(Some(Loaded::Rfc { path, doc }))
        }
        None => Ok(None),
    }
}

// ---------------------------------------------------------------------------
// Judging one case

/// What the file says a case must do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// Wrap gives the wrapped bytes; unwrap gives the key data back.
    Valid,
    /// Unwrap fails (and wrap refuses the key data or gives something else).
    Invalid,
    /// Either outcome, consistently.
    Acceptable,
}

#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Passed,
    RejectedAsRequired,
    Acceptable { accepted: bool },
    Failed(String),
    Skipped(String),
}

/// One case ready to run: `msg` is the key data (absent in a CAVP `FAIL`
/// record), `wrapped` what the wrap is or is claimed to be.
struct Case<'a> {
    kek: &'a Kek,
    msg: Option<&'a [u8]>,
    aad: &'a [u8],
    nonce: [u8; NONCE_LEN],
    wrapped: &'a [u8],
    expect: Expect,
}

fn wrap_once(kek: &Kek, key: &[u8], aad: &[u8], nonce: &[u8; NONCE_LEN]) -> Result<Vec<u8>> {
    let mut out = vec![0; kek.scheme().wrapped_len(key.len())?];
    let n = kek.wrap_raw(key, aad, nonce, &mut out)?;
    out.truncate(n);
    Ok(out)
}

fn unwrap_once(kek: &Kek, wrapped: &[u8], aad: &[u8]) -> Result<SecretBytes> {
    let mut out = SecretBytes::zeroed(wrapped.len());
    let n = kek.unwrap_raw(wrapped, aad, out.expose_mut())?;
    out.truncate(n);
    Ok(out)
}

fn judge(case: &Case<'_>) -> Verdict {
    let wrap = case
        .msg
        .map(|m| wrap_once(case.kek, m, case.aad, &case.nonce));
    let unwrap = unwrap_once(case.kek, case.wrapped, case.aad);
    // A failed unwrap must say only that it failed.
    if let Err(e) = &unwrap
        && *e != Error::UnwrapFailed
    {
        return Verdict::Failed(format!(
            "unwrap returned `{e}`, not the opaque UnwrapFailed"
        ));
    }
    let wrap_matches = matches!(&wrap, Some(Ok(w)) if w == case.wrapped);
    let unwrap_matches = |k: &SecretBytes| case.msg.is_none_or(|m| ct_eq(k.expose(), m));
    match case.expect {
        Expect::Valid => {
            match &wrap {
                Some(Err(e)) => return Verdict::Failed(format!("wrap refused the key data: {e}")),
                Some(Ok(_)) if !wrap_matches => {
                    return Verdict::Failed("wrap gave other bytes".to_owned());
                }
                _ => {}
            }
            match &unwrap {
                Ok(k) if unwrap_matches(k) => Verdict::Passed,
                Ok(_) => Verdict::Failed("unwrap gave other key data".to_owned()),
                Err(_) => Verdict::Failed("unwrap refused a valid wrap".to_owned()),
            }
        }
        Expect::Invalid => {
            if unwrap.is_ok() {
                return Verdict::Failed("unwrap accepted an invalid wrap".to_owned());
            }
            match &wrap {
                Some(Ok(_)) if case.wrapped.is_empty() => {
                    Verdict::Failed("wrap accepted key data it must refuse".to_owned())
                }
                Some(Ok(_)) if wrap_matches => {
                    Verdict::Failed("wrap produced the invalid wrap".to_owned())
                }
                _ => Verdict::RejectedAsRequired,
            }
        }
        Expect::Acceptable => {
            if matches!(&wrap, Some(Ok(_))) && !case.wrapped.is_empty() && !wrap_matches {
                return Verdict::Failed("wrap gave other bytes".to_owned());
            }
            if let Ok(k) = &unwrap
                && !unwrap_matches(k)
            {
                return Verdict::Failed("unwrap gave other key data".to_owned());
            }
            let wrap_ok = matches!(&wrap, Some(Ok(_)));
            // With no wrapped bytes given, only the wrap direction says anything.
            if wrap.is_some() && !case.wrapped.is_empty() && wrap_ok != unwrap.is_ok() {
                let (yes, no) = if wrap_ok {
                    ("wrap", "unwrap")
                } else {
                    ("unwrap", "wrap")
                };
                return Verdict::Failed(format!("{yes} accepted what {no} refused"));
            }
            Verdict::Acceptable {
                accepted: wrap_ok || unwrap.is_ok(),
            }
        }
    }
}

/// Builds the KEK of a case, or the reason to skip it.
fn kek_or_skip(scheme: SchemeId, kek: &SecretBytes) -> Result<Kek, String> {
    Kek::new(scheme, kek.expose())
        .map_err(|_| format!("{}-bit KEK: not taken by {scheme}", kek.len() * 8))
}

fn decode_hex(path: &Path, case: &str, field: &str, text: &str) -> Result<Vec<u8>> {
    hex::decode(text.trim())
        .map_err(|e| malformed(path, format_args!("{case}: field `{field}`: bad hex: {e}")))
}

// ---------------------------------------------------------------------------
// NIST CAVP text files

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CavpFamily {
    Kw,
    Kwp,
    Tkw,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct CavpKind {
    family: CavpFamily,
    /// Authenticated encryption (wrap) rather than decryption (unwrap).
    encrypt: bool,
    /// Uses the AES inverse cipher as its forward function (`_inv` files).
    inverse: bool,
}

/// Recognises a CAVP KW/KWP/TKW file by its header comment
/// (`# 'NIST SP 800-38F KW-AD with AES-128 cipher function' ...`), else by its
/// name (`KW_AD_128.txt`).
fn cavp_kind(path: &Path, text: &str) -> Option<CavpKind> {
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_ascii_uppercase();
    let header: Vec<String> = text
        .lines()
        .map(str::trim)
        .take_while(|l| l.is_empty() || l.starts_with('#'))
        .map(str::to_ascii_uppercase)
        .collect();
    let from_header = header.iter().find_map(|line| {
        line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .find_map(|token| match token {
                "KW-AE" => Some((CavpFamily::Kw, true)),
                "KW-AD" => Some((CavpFamily::Kw, false)),
                "KWP-AE" => Some((CavpFamily::Kwp, true)),
                "KWP-AD" => Some((CavpFamily::Kwp, false)),
                "TKW-AE" => Some((CavpFamily::Tkw, true)),
                "TKW-AD" => Some((CavpFamily::Tkw, false)),
                _ => None,
            })
    });
    let from_name = || {
        let stem = file_name.strip_suffix(".TXT").unwrap_or(&file_name);
        let mut parts = stem.split('_');
        let family = match parts.next()? {
            "KW" => CavpFamily::Kw,
            "KWP" => CavpFamily::Kwp,
            "TKW" => CavpFamily::Tkw,
            _ => return None,
        };
        let encrypt = match parts.next()? {
            "AE" => true,
            "AD" => false,
            _ => return None,
        };
        // Only a file that holds records is a vector file.
        text.lines()
            .any(|l| l.trim_start().starts_with("COUNT"))
            .then_some((family, encrypt))
    };
    let (family, encrypt) = from_header.or_else(from_name)?;
    let inverse = file_name.contains("_INV") || header.iter().any(|l| l.contains("INVERSE"));
    Some(CavpKind {
        family,
        encrypt,
        inverse,
    })
}

/// One record of a CAVP file, fields still hex.
#[derive(Default)]
struct CavpRecord {
    id: String,
    k: Option<String>,
    c: Option<String>,
    p: Option<String>,
    fail: bool,
    plaintext_bits: Option<usize>,
}

fn parse_cavp(path: &Path, text: &str) -> Result<Vec<CavpRecord>> {
    let mut records: Vec<CavpRecord> = Vec::new();
    let mut section = String::new();
    let mut plaintext_bits = None;
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let line = raw.trim();
        let at = |detail: String| malformed(path, format_args!("line {line_no}: {detail}"));
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(inner) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = format!(" [{inner}]");
            plaintext_bits = None;
            if let Some((name, value)) = inner.split_once('=')
                && name.trim().eq_ignore_ascii_case("PLAINTEXT LENGTH")
            {
                let bits = value
                    .trim()
                    .parse::<usize>()
                    .map_err(|_| at(format!("bad plaintext length `{inner}`")))?;
                plaintext_bits = Some(bits);
            }
            continue;
        }
        if line.eq_ignore_ascii_case("FAIL") {
            let record = records
                .last_mut()
                .ok_or_else(|| at("FAIL before any COUNT".to_owned()))?;
            record.fail = true;
            continue;
        }
        let (name, value) = line
            .split_once('=')
            .ok_or_else(|| at(format!("unreadable line `{line}`")))?;
        let (name, value) = (name.trim().to_ascii_uppercase(), value.trim().to_owned());
        if name == "COUNT" {
            records.push(CavpRecord {
                id: format!("COUNT = {value}{section} (line {line_no})"),
                plaintext_bits,
                ..CavpRecord::default()
            });
            continue;
        }
        let record = records
            .last_mut()
            .ok_or_else(|| at(format!("`{name}` before any COUNT")))?;
        let slot = match name.as_str() {
            "K" => &mut record.k,
            "C" => &mut record.c,
            "P" => &mut record.p,
            _ => return Err(at(format!("{}: unexpected field `{name}`", record.id))),
        };
        if slot.replace(value).is_some() {
            return Err(at(format!("{}: field `{name}` given twice", record.id)));
        }
    }
    Ok(records)
}

fn run_cavp(path: &Path, name: String, kind: CavpKind, text: &str) -> Result<FileReport> {
    let records = parse_cavp(path, text)?;
    if records.is_empty() {
        return Err(malformed(path, "no COUNT records"));
    }
    let mut report = FileReport::new(name, Format::Cavp);
    let scheme = match (kind.family, kind.inverse) {
        (CavpFamily::Tkw, _) => None,
        (_, true) => None,
        (CavpFamily::Kw, false) => Some(SchemeId::Kw),
        (CavpFamily::Kwp, false) => Some(SchemeId::Kwp),
    };
    for record in &records {
        let id = &record.id;
        let missing = |field: &str| malformed(path, format_args!("{id}: record without {field}"));
        let k = SecretBytes::new(decode_hex(
            path,
            id,
            "K",
            record.k.as_deref().ok_or_else(|| missing("K"))?,
        )?);
        let c = decode_hex(
            path,
            id,
            "C",
            record.c.as_deref().ok_or_else(|| missing("C"))?,
        )?;
        let p = match (&record.p, record.fail, kind.encrypt) {
            (Some(_), true, _) => {
                return Err(malformed(
                    path,
                    format_args!("{id}: record has both P and FAIL"),
                ));
            }
            (None, true, true) => {
                return Err(malformed(path, format_args!("{id}: FAIL in an AE file")));
            }
            (None, false, _) => return Err(missing("P")),
            (None, true, false) => None,
            (Some(p), false, _) => Some(SecretBytes::new(decode_hex(path, id, "P", p)?)),
        };
        if let (Some(p), Some(bits)) = (&p, record.plaintext_bits)
            && p.len().checked_mul(8) != Some(bits)
        {
            return Err(malformed(
                path,
                format_args!(
                    "{id}: P has {} bits, the section says {bits}",
                    p.len().saturating_mul(8)
                ),
            ));
        }
        let Some(scheme) = scheme else {
            let why = match kind.family {
                CavpFamily::Tkw => "TKW (triple-DES key wrap): not implemented by any scheme",
                _ => "inverse-cipher KW/KWP (`_inv`): not implemented by any scheme",
            };
            report.record(id, Verdict::Skipped(why.to_owned()));
            continue;
        };
        let kek = match kek_or_skip(scheme, &k) {
            Ok(kek) => kek,
            Err(why) => {
                report.record(id, Verdict::Skipped(why));
                continue;
            }
        };
        report.ran_on(scheme);
        let expect = if record.fail {
            Expect::Invalid
        } else {
            Expect::Valid
        };
        let case = Case {
            kek: &kek,
            msg: p.as_ref().map(SecretBytes::expose),
            aad: &[],
            nonce: [0; NONCE_LEN],
            wrapped: &c,
            expect,
        };
        report.record(id, judge(&case));
    }
    Ok(report)
}

// ---------------------------------------------------------------------------
// Wycheproof JSON

fn field<'v>(path: &Path, case: &str, obj: &'v Map<String, Value>, key: &str) -> Result<&'v Value> {
    obj.get(key)
        .ok_or_else(|| malformed(path, format_args!("{case}: missing field `{key}`")))
}

fn str_field<'v>(
    path: &Path,
    case: &str,
    obj: &'v Map<String, Value>,
    key: &str,
) -> Result<&'v str> {
    field(path, case, obj, key)?
        .as_str()
        .ok_or_else(|| malformed(path, format_args!("{case}: field `{key}` is not a string")))
}

fn array_field<'v>(
    path: &Path,
    case: &str,
    obj: &'v Map<String, Value>,
    key: &str,
) -> Result<&'v [Value]> {
    field(path, case, obj, key)?
        .as_array()
        .map(Vec::as_slice)
        .ok_or_else(|| malformed(path, format_args!("{case}: field `{key}` is not an array")))
}

fn hex_field(path: &Path, case: &str, obj: &Map<String, Value>, key: &str) -> Result<Vec<u8>> {
    decode_hex(path, case, key, str_field(path, case, obj, key)?)
}

fn object<'v>(path: &Path, case: &str, value: &'v Value) -> Result<&'v Map<String, Value>> {
    value
        .as_object()
        .ok_or_else(|| malformed(path, format_args!("{case}: not a JSON object")))
}

fn run_wycheproof(path: &Path, name: String, doc: &Map<String, Value>) -> Result<FileReport> {
    let schema = str_field(path, "top level", doc, "schema")?;
    let algorithm = str_field(path, "top level", doc, "algorithm")?;
    let aead = AEAD_SCHEMAS.contains(&schema);
    let scheme = match (aead, algorithm) {
        // `KW` / `KWP`: the names of the older `testvectors/` files (generator 0.7).
        (false, "AES-WRAP" | "KW") => Some(SchemeId::Kw),
        (false, "AES-KWP" | "KWP") => Some(SchemeId::Kwp),
        (true, "AES-GCM") => Some(SchemeId::Gcm),
        (true, "AES-GCM-SIV") => Some(SchemeId::GcmSiv),
        _ => None,
    };
    let mut report = FileReport::new(name, Format::Wycheproof);
    let mut count = 0usize;
    for (g, group) in array_field(path, "top level", doc, "testGroups")?
        .iter()
        .enumerate()
    {
        let group = object(path, &format!("test group {g}"), group)?;
        for test in array_field(path, &format!("test group {g}"), group, "tests")? {
            count += 1;
            let tc_id = match test.get("tcId").and_then(Value::as_u64) {
                Some(id) => format!("tcId {id}"),
                None => {
                    return Err(malformed(
                        path,
                        format_args!("test {count} of group {g}: missing numeric `tcId`"),
                    ));
                }
            };
            let test = object(path, &tc_id, test)?;
            let verdict = match scheme {
                None => Verdict::Skipped(format!(
                    "algorithm {algorithm} ({schema}): not implemented by any scheme"
                )),
                Some(scheme) => {
                    let verdict = wycheproof_case(path, &tc_id, scheme, test)?;
                    if !matches!(verdict, Verdict::Skipped(_)) {
                        report.ran_on(scheme);
                    }
                    verdict
                }
            };
            report.record(&tc_id, verdict);
        }
    }
    if let Some(declared) = doc.get("numberOfTests")
        && declared.as_u64().and_then(|n| usize::try_from(n).ok()) != Some(count)
    {
        return Err(malformed(
            path,
            format_args!("numberOfTests is {declared}, the file holds {count} tests"),
        ));
    }
    Ok(report)
}

fn wycheproof_case(
    path: &Path,
    id: &str,
    scheme: SchemeId,
    test: &Map<String, Value>,
) -> Result<Verdict> {
    let expect = match str_field(path, id, test, "result")? {
        "valid" => Expect::Valid,
        "invalid" => Expect::Invalid,
        "acceptable" => Expect::Acceptable,
        other => {
            return Err(malformed(
                path,
                format_args!("{id}: unknown result `{other}`"),
            ));
        }
    };
    let key = SecretBytes::new(hex_field(path, id, test, "key")?);
    let msg = SecretBytes::new(hex_field(path, id, test, "msg")?);
    let ct = hex_field(path, id, test, "ct")?;
    let (aad, nonce, wrapped) = if scheme.binds_context() {
        let iv = hex_field(path, id, test, "iv")?;
        let aad = hex_field(path, id, test, "aad")?;
        let tag = hex_field(path, id, test, "tag")?;
        let Ok(nonce) = <[u8; NONCE_LEN]>::try_from(iv.as_slice()) else {
            return Ok(Verdict::Skipped(format!(
                "{}-bit nonce: only 96-bit nonces are used",
                iv.len() * 8
            )));
        };
        if tag.len() != TAG_LEN {
            return Ok(Verdict::Skipped(format!(
                "{}-bit tag: only 128-bit tags are used",
                tag.len() * 8
            )));
        }
        if msg.is_empty() || msg.len() > MAX_AEAD_KEY_DATA {
            return Ok(Verdict::Skipped(format!(
                "{}-byte plaintext: {scheme} wraps key data of 1 to {MAX_AEAD_KEY_DATA} bytes",
                msg.len()
            )));
        }
        (aad, nonce, [iv.as_slice(), &ct, &tag].concat())
    } else {
        (Vec::new(), [0; NONCE_LEN], ct)
    };
    let kek = match kek_or_skip(scheme, &key) {
        Ok(kek) => kek,
        Err(why) => return Ok(Verdict::Skipped(why)),
    };
    Ok(judge(&Case {
        kek: &kek,
        msg: Some(msg.expose()),
        aad: &aad,
        nonce,
        wrapped: &wrapped,
        expect,
    }))
}

// ---------------------------------------------------------------------------
// RFC example list

fn run_rfc(path: &Path, name: String, doc: &Map<String, Value>) -> Result<FileReport> {
    let mut report = FileReport::new(name, Format::RfcExamples);
    let vectors = array_field(path, "top level", doc, "vectors")?;
    if vectors.is_empty() {
        return Err(malformed(path, "no vectors"));
    }
    for (i, vector) in vectors.iter().enumerate() {
        let number = format!("vector {}", i + 1);
        let vector = object(path, &number, vector)?;
        let rfc = str_field(path, &number, vector, "rfc")?;
        let section = str_field(path, &number, vector, "section")?;
        let id = format!("{number} (RFC {rfc} section {section})");
        let scheme = match str_field(path, &id, vector, "mode")? {
            "KW" => SchemeId::Kw,
            "KWP" => SchemeId::Kwp,
            other => {
                return Err(malformed(
                    path,
                    format_args!("{id}: unknown mode `{other}` (KW or KWP)"),
                ));
            }
        };
        let kek = SecretBytes::new(hex_field(path, &id, vector, "kek")?);
        let key_data = SecretBytes::new(hex_field(path, &id, vector, "key_data")?);
        let ciphertext = hex_field(path, &id, vector, "ciphertext")?;
        let verdict = match kek_or_skip(scheme, &kek) {
            Err(why) => Verdict::Skipped(why),
            Ok(kek) => {
                report.ran_on(scheme);
                judge(&Case {
                    kek: &kek,
                    msg: Some(key_data.expose()),
                    aad: &[],
                    nonce: [0; NONCE_LEN],
                    wrapped: &ciphertext,
                    expect: Expect::Valid,
                })
            }
        };
        report.record(&id, verdict);
    }
    Ok(report)
}
