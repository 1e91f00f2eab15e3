//! The RFC 3394 / RFC 5649 example list (`{"vectors": [{rfc, section, mode,
//! kek, key_data, ciphertext}]}`): every entry is a valid KW or KWP case. It
//! must not judge a case itself: `case` does.

use std::path::Path;

use serde_json::{Map, Value};

use super::case::{
    Case, Expect, Verdict, array_field, hex_field, judge, kek_or_skip, malformed, object, str_field,
};
use super::report::{FileReport, Format};
use crate::crypto::scheme::{NONCE_LEN, SchemeId};
use crate::crypto::secret::SecretBytes;
use crate::error::Result;

pub(crate) fn run_rfc(path: &Path, name: String, doc: &Map<String, Value>) -> Result<FileReport> {
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
