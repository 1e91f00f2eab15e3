//! Wycheproof JSON files under the key-wrap and AEAD schemas: which schemas
//! and algorithms map to which scheme, reading the test groups, and turning
//! each test (`valid`, `invalid`, `acceptable`) into a case, AEAD ones as
//! `iv‖ct‖tag` under the test's nonce and associated data. Parameters no
//! scheme takes are skipped with the reason. It must not judge a case
//! itself: `case` does.

use std::path::Path;

use serde_json::{Map, Value};

use super::case::{
    Case, Expect, Verdict, array_field, hex_field, judge, kek_or_skip, malformed, object, str_field,
};
use super::report::{FileReport, Format};
use crate::crypto::scheme::{MAX_AEAD_KEY_DATA, NONCE_LEN, SchemeId, TAG_LEN};
use crate::crypto::secret::SecretBytes;
use crate::error::Result;

pub(crate) const KEYWRAP_SCHEMAS: [&str; 2] =
    ["keywrap_test_schema_v1.json", "keywrap_test_schema.json"];
pub(crate) const AEAD_SCHEMAS: [&str; 2] = ["aead_test_schema_v1.json", "aead_test_schema.json"];

pub(crate) fn run_wycheproof(
    path: &Path,
    name: String,
    doc: &Map<String, Value>,
) -> Result<FileReport> {
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
