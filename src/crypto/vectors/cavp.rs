//! NIST CAVP SP 800-38F text files: recognising one (KW, KWP or TKW; AE or
//! AD; forward or inverse cipher) from its header or name, reading its
//! `COUNT` records, and running each as a case. Records of TKW and
//! inverse-cipher files are counted as skipped. It must not judge a case
//! itself: `case` does.

use std::path::Path;

use super::case::{Case, Expect, Verdict, decode_hex, judge, kek_or_skip, malformed};
use super::report::{FileReport, Format};
use crate::crypto::scheme::{NONCE_LEN, SchemeId};
use crate::crypto::secret::SecretBytes;
use crate::error::Result;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CavpFamily {
    Kw,
    Kwp,
    Tkw,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CavpKind {
    family: CavpFamily,
    /// Authenticated encryption (wrap) rather than decryption (unwrap).
    encrypt: bool,
    /// Uses the AES inverse cipher as its forward function (`_inv` files).
    inverse: bool,
}

/// Recognises a CAVP KW/KWP/TKW file by its header comment
/// (`# 'NIST SP 800-38F KW-AD with AES-128 cipher function' ...`), else by its
/// name (`KW_AD_128.txt`).
pub(crate) fn cavp_kind(path: &Path, text: &str) -> Option<CavpKind> {
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

pub(crate) fn run_cavp(
    path: &Path,
    name: String,
    kind: CavpKind,
    text: &str,
) -> Result<FileReport> {
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
