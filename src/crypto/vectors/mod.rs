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
//!
//! This file holds the public entry ([`run_paths`]), the folder walk, format
//! detection and the dispatch of each file to its reader: `cavp`, `wycheproof`
//! and `rfc` read one format each, `report` counts the verdicts into the
//! [`Report`] and formats it, and `case` judges one case and reads its
//! fields. Imports run one way, from here down to `case`, which imports none
//! of its siblings.
//!
//! [`Kek::wrap_raw`]: crate::crypto::scheme::Kek::wrap_raw
//! [`Kek::unwrap_raw`]: crate::crypto::scheme::Kek::unwrap_raw

mod case;
mod cavp;
mod report;
mod rfc;
mod wycheproof;

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::{Error, Result};

use case::malformed;
use cavp::{CavpKind, cavp_kind, run_cavp};
pub use report::{FileReport, Format, Report};
use rfc::run_rfc;
use wycheproof::{AEAD_SCHEMAS, KEYWRAP_SCHEMAS, run_wycheproof};

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
