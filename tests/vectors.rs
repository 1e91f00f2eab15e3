//! Known-answer vectors, through the same code as `keyhier vectors`
//! ([`keyhier::internal::crypto::vectors::run_paths`]), and the runner's handling of files that
//! are malformed, deliberately wrong, or of kinds it does not run.
//!
//! The vector files are vendored in `tests/vectors` (its README gives their
//! sources and licences); hand-made files are written to a fresh directory
//! under `std::env::temp_dir()`.

use std::path::{Path, PathBuf};

use keyhier::Error;
use keyhier::internal::crypto::vectors::{FileReport, Format, Report, run_paths};
use keyhier::{Kek, SchemeId};

/// The vendored vectors, found from the crate so that a fresh clone has them.
fn vendored() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors"))
}

/// A fresh, empty directory for one test's files.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("keyhier-vectors-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn run_one(path: &Path) -> Result<Report, Error> {
    run_paths(&[path.to_path_buf()])
}

fn only_file(report: &Report) -> &FileReport {
    assert_eq!(report.files.len(), 1, "{report}");
    &report.files[0]
}

/// The detail of an `InvalidField` error, which must name `needles`.
fn assert_malformed(res: Result<Report, Error>, needles: &[&str]) {
    match res {
        Err(Error::InvalidField {
            what: "vector file",
            detail,
        }) => {
            for needle in needles {
                assert!(
                    detail.contains(needle),
                    "{detail:?} does not name {needle:?}"
                );
            }
        }
        other => panic!("expected a malformed-file error naming {needles:?}, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// The vendored vectors

#[test]
fn every_vendored_vector_passes() {
    let report = run_paths(&[vendored()]).expect("vendored vectors are well formed");
    assert_eq!(report.failed(), 0, "{report}");
    assert!(report.ok(), "{report}");
    // 12 NIST files of 500, the 8 RFC examples, 177 runnable GCM-SIV cases and
    // the 6 + 2 schema examples; the 25 empty-plaintext GCM-SIV cases are skipped.
    assert_eq!((report.ran(), report.skipped()), (6193, 25), "{report}");
    assert_eq!(report.skipped_files().count(), 0, "{report}");

    let nist: Vec<&FileReport> = report
        .files
        .iter()
        .filter(|f| f.name.starts_with("nist/"))
        .collect();
    assert_eq!(nist.len(), 12, "{report}");
    for f in &nist {
        let file_name = f.name.trim_start_matches("nist/");
        let scheme = if file_name.starts_with("KWP_") {
            SchemeId::Kwp
        } else {
            SchemeId::Kw
        };
        assert_eq!(f.format, Format::Cavp, "{}", f.name);
        assert_eq!(f.schemes, [scheme], "{}", f.name);
        assert_eq!((f.passed, f.failed, f.skipped()), (500, 0, 0), "{}", f.name);
        // Each AD file holds 100 FAIL records, and every one was rejected.
        let expected_rejections = if file_name.contains("_AD_") { 100 } else { 0 };
        assert_eq!(f.rejected_as_required, expected_rejections, "{}", f.name);
    }

    let rfc = report
        .file("rfc_vectors.json")
        .expect("rfc_vectors.json is run");
    assert_eq!(rfc.format, Format::RfcExamples);
    assert_eq!(rfc.schemes, [SchemeId::Kw, SchemeId::Kwp]);
    assert_eq!((rfc.passed, rfc.failed, rfc.skipped()), (8, 0, 0));

    let kw = report
        .file("wycheproof/rfc3394_kw_schema_example.json")
        .unwrap();
    assert_eq!(
        (kw.schemes.as_slice(), kw.passed, kw.cases()),
        (&[SchemeId::Kw][..], 6, 6)
    );
    let kwp = report
        .file("wycheproof/rfc5649_kwp_schema_example.json")
        .unwrap();
    assert_eq!(
        (kwp.schemes.as_slice(), kwp.passed, kwp.cases()),
        (&[SchemeId::Kwp][..], 2, 2)
    );

    // README.md, Readme.txt and the licence file are not vector files.
    assert_eq!(report.files.len(), 16, "{report}");
    assert_eq!(
        report.ignored,
        ["README.md", "nist/Readme.txt", "wycheproof/LICENSE"]
    );
    let printed = report.to_string();
    let last = printed.lines().last().unwrap();
    assert!(
        last.starts_with(&format!("{} passed, 0 failed", report.passed())),
        "closing line {last:?}"
    );
}

#[test]
fn gcm_siv_wycheproof_cases_are_all_accounted_for() {
    let path = vendored().join("wycheproof/aes_gcm_siv_test.json");
    let report = run_one(&path).unwrap();
    let f = only_file(&report);
    assert_eq!(f.schemes, [SchemeId::GcmSiv]);
    assert_eq!(f.cases(), 202);
    assert_eq!(f.failed, 0, "{report}");

    // Model: read the file independently. Every case with key data runs and
    // passes (invalid ones by being rejected); only the empty-plaintext cases,
    // which the wrap scheme never produces, are skipped.
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let (mut runnable, mut invalid_runnable, mut empty) = (0, 0, 0);
    for group in doc["testGroups"].as_array().unwrap() {
        for test in group["tests"].as_array().unwrap() {
            if test["msg"].as_str().unwrap().is_empty() {
                empty += 1;
            } else {
                runnable += 1;
                if test["result"] == "invalid" {
                    invalid_runnable += 1;
                }
            }
        }
    }
    assert_eq!(runnable + empty, 202);
    assert_eq!(f.passed, runnable, "{report}");
    assert_eq!(f.rejected_as_required, invalid_runnable, "{report}");
    assert_eq!(f.skipped(), empty, "{report}");
    assert_eq!(f.skipped.len(), 1, "one skip reason: {:?}", f.skipped);
    assert!(
        f.skipped.keys().all(|r| r.contains("0-byte plaintext")),
        "{:?}",
        f.skipped
    );
}

#[test]
fn rfc_examples_unwrap_through_kek_directly() {
    // Independent of the runner: the RFC example list, wrapped and unwrapped
    // through `Kek` as a hierarchy would.
    let text = std::fs::read_to_string(vendored().join("rfc_vectors.json")).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let vectors = doc["vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), 8);
    for v in vectors {
        let hex = |k: &str| hex::decode(v[k].as_str().unwrap()).unwrap();
        let scheme = match v["mode"].as_str().unwrap() {
            "KW" => SchemeId::Kw,
            "KWP" => SchemeId::Kwp,
            other => panic!("mode {other}"),
        };
        let kek = Kek::new(scheme, &hex("kek")).unwrap();
        let (key, ct) = (hex("key_data"), hex("ciphertext"));
        let mut out = vec![0; ct.len()];
        let n = kek.wrap_raw(&key, &[], &[0; 12], &mut out).unwrap();
        assert_eq!(out[..n], ct, "{}", v["section"]);
        let mut back = vec![0; ct.len()];
        let n = kek.unwrap_raw(&ct, &[], &mut back).unwrap();
        assert_eq!(back[..n], key, "{}", v["section"]);
    }
}

// ---------------------------------------------------------------------------
// Deliberately wrong vectors are reported as failures

fn flip_hex_byte(hex_text: &str, byte: usize) -> String {
    let mut bytes = hex::decode(hex_text).unwrap();
    bytes[byte] ^= 0x01;
    hex::encode(bytes)
}

#[test]
fn a_flipped_ct_byte_in_a_valid_wycheproof_case_fails() {
    let dir = scratch("flip-wycheproof");
    let text =
        std::fs::read_to_string(vendored().join("wycheproof/rfc3394_kw_schema_example.json"))
            .unwrap();
    let mut doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let case = &mut doc["testGroups"][0]["tests"][0];
    let tc_id = case["tcId"].as_u64().unwrap();
    let ct = case["ct"].as_str().unwrap().to_owned();
    case["ct"] = serde_json::Value::String(flip_hex_byte(&ct, 5));
    let path = write(&dir, "flipped.json", &doc.to_string());

    let report = run_one(&path).unwrap();
    let f = only_file(&report);
    assert_eq!((f.failed, f.passed), (1, 5), "{report}");
    assert!(
        f.failures[0].starts_with(&format!("tcId {tc_id}:")),
        "{:?}",
        f.failures
    );
    assert!(
        report.to_string().contains("5 passed, 1 failed"),
        "{report}"
    );
}

#[test]
fn a_flipped_tag_byte_in_a_valid_gcm_siv_case_fails() {
    let dir = scratch("flip-gcm-siv");
    let text =
        std::fs::read_to_string(vendored().join("wycheproof/aes_gcm_siv_test.json")).unwrap();
    let mut doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    // tcId 2: a valid case with key data.
    let case = &mut doc["testGroups"][0]["tests"][1];
    assert_eq!(
        (case["tcId"].as_u64(), case["result"].as_str()),
        (Some(2), Some("valid"))
    );
    let tag = case["tag"].as_str().unwrap().to_owned();
    case["tag"] = serde_json::Value::String(flip_hex_byte(&tag, 15));
    let path = write(&dir, "flipped.json", &doc.to_string());

    let report = run_one(&path).unwrap();
    let f = only_file(&report);
    assert_eq!(f.failed, 1, "{report}");
    assert!(f.failures[0].starts_with("tcId 2:"), "{:?}", f.failures);
}

fn nist_text(name: &str) -> String {
    std::fs::read_to_string(vendored().join("nist").join(name)).unwrap()
}

/// `text` with the first `X = value` line after `COUNT = count` changed by `edit`.
fn edit_record(text: &str, count: usize, field: &str, edit: impl Fn(&str) -> String) -> String {
    let mut in_record = false;
    let mut done = false;
    let mut out = String::new();
    for line in text.lines() {
        let mut line = line.to_owned();
        if line.trim() == format!("COUNT = {count}") {
            in_record = !done;
        } else if in_record && let Some(value) = line.trim().strip_prefix(&format!("{field} = ")) {
            line = format!("{field} = {}", edit(value));
            in_record = false;
            done = true;
        }
        out.push_str(&line);
        out.push('\n');
    }
    assert!(done, "no {field} in COUNT = {count}");
    out
}

#[test]
fn a_flipped_byte_in_a_nist_record_fails() {
    let dir = scratch("flip-nist");
    // AE: the expected C no longer matches the wrap of P.
    let ae = edit_record(&nist_text("KW_AE_128.txt"), 3, "C", |c| flip_hex_byte(c, 9));
    let report = run_one(&write(&dir, "KW_AE_128.txt", &ae)).unwrap();
    let f = only_file(&report);
    assert_eq!((f.passed, f.failed), (499, 1), "{report}");
    assert!(f.failures[0].starts_with("COUNT = 3 "), "{:?}", f.failures);

    // AD: a valid record's C is damaged, so unwrap refuses what should open.
    let ad = edit_record(&nist_text("KWP_AD_256.txt"), 0, "C", |c| {
        flip_hex_byte(c, 0)
    });
    let report = run_one(&write(&dir, "KWP_AD_256.txt", &ad)).unwrap();
    let f = only_file(&report);
    assert_eq!((f.passed, f.failed), (499, 1), "{report}");
    assert!(f.failures[0].starts_with("COUNT = 0 "), "{:?}", f.failures);
}

#[test]
fn a_fail_record_whose_wrap_opens_is_a_failure() {
    // Turn the first KW-AD record into a FAIL record: its C is a valid wrap,
    // so the runner must report that unwrap accepted it.
    let dir = scratch("fail-opens");
    let text = nist_text("KW_AD_128.txt");
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let p_line = lines.iter().position(|l| l.starts_with("P = ")).unwrap();
    lines[p_line] = "FAIL".to_owned();
    let path = write(&dir, "KW_AD_128.txt", &(lines.join("\n") + "\n"));
    let report = run_one(&path).unwrap();
    let f = only_file(&report);
    assert_eq!(f.failed, 1, "{report}");
    assert!(
        f.failures[0].contains("unwrap accepted an invalid wrap"),
        "{:?}",
        f.failures
    );
    assert_ne!(report.failed(), 0);
    assert!(!report.ok(), "{report}");
}

// ---------------------------------------------------------------------------
// Malformed files are typed errors naming the file and the case

const GOOD_KW_CASE: &str = r#"{"tcId": 1, "comment": "", "flags": [], "key": "000102030405060708090a0b0c0d0e0f",
  "msg": "00112233445566778899aabbccddeeff", "ct": "1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5", "result": "valid"}"#;

fn keywrap_doc(tests: &str, number: usize) -> String {
    format!(
        r#"{{"algorithm": "AES-WRAP", "schema": "keywrap_test_schema_v1.json", "numberOfTests": {number},
  "testGroups": [{{"type": "KeywrapTest", "keySize": 128, "tests": [{tests}]}}]}}"#
    )
}

#[test]
fn hand_made_keywrap_file_passes() {
    // The control for the malformed variants below.
    let dir = scratch("control");
    let report = run_one(&write(&dir, "good.json", &keywrap_doc(GOOD_KW_CASE, 1))).unwrap();
    assert_eq!(
        (only_file(&report).passed, report.failed()),
        (1, 0),
        "{report}"
    );
    assert!(report.ok(), "{report}");
}

#[test]
fn bad_json_is_a_typed_error() {
    let dir = scratch("bad-json");
    let text = keywrap_doc(GOOD_KW_CASE, 1);
    let path = write(&dir, "truncated.json", &text[..text.len() / 2]);
    assert_malformed(run_one(&path), &["truncated.json", "not valid JSON"]);
    // Inside a directory too: it names one of our schemas, so it must not vanish.
    assert_malformed(run_paths(&[dir]), &["truncated.json"]);
}

#[test]
fn bad_hex_names_the_case_and_field() {
    let dir = scratch("bad-hex");
    let bad = GOOD_KW_CASE
        .replace(r#""tcId": 1"#, r#""tcId": 7"#)
        .replace("1fa68b0a", "1fa68bzz");
    let path = write(
        &dir,
        "hex.json",
        &keywrap_doc(&format!("{GOOD_KW_CASE}, {bad}"), 2),
    );
    assert_malformed(run_one(&path), &["hex.json", "tcId 7", "`ct`", "bad hex"]);
    let odd = GOOD_KW_CASE.replace(
        "000102030405060708090a0b0c0d0e0f",
        "000102030405060708090a0b0c0d0e0",
    );
    let path = write(&dir, "odd.json", &keywrap_doc(&odd, 1));
    assert_malformed(run_one(&path), &["odd.json", "tcId 1", "`key`"]);
}

#[test]
fn missing_field_names_the_case_and_field() {
    let dir = scratch("missing-field");
    let no_msg = GOOD_KW_CASE
        .replace(r#""tcId": 1"#, r#""tcId": 3"#)
        .replace(r#""msg": "00112233445566778899aabbccddeeff", "#, "");
    let path = write(&dir, "nomsg.json", &keywrap_doc(&no_msg, 1));
    assert_malformed(
        run_one(&path),
        &["nomsg.json", "tcId 3", "missing field `msg`"],
    );
    let no_id = GOOD_KW_CASE.replace(r#""tcId": 1, "#, "");
    let path = write(&dir, "noid.json", &keywrap_doc(&no_id, 1));
    assert_malformed(run_one(&path), &["noid.json", "tcId"]);
    let no_groups = r#"{"algorithm": "AES-KWP", "schema": "keywrap_test_schema.json"}"#;
    let path = write(&dir, "nogroups.json", no_groups);
    assert_malformed(run_one(&path), &["nogroups.json", "testGroups"]);
}

#[test]
fn wrong_test_count_is_a_typed_error() {
    let dir = scratch("count");
    let path = write(&dir, "count.json", &keywrap_doc(GOOD_KW_CASE, 2));
    assert_malformed(
        run_one(&path),
        &["count.json", "numberOfTests is 2", "holds 1"],
    );
}

const KW_AD_HEADER: &str = "# CAVS 17.4\n# 'NIST SP 800-38F KW-AD with AES-128 cipher function' information for SP800-38F\n\n[PLAINTEXT LENGTH = 128]\n\n";

#[test]
fn nist_record_without_k_or_c_is_a_typed_error() {
    let dir = scratch("nist-missing");
    let good = "COUNT = 0\nK = 000102030405060708090a0b0c0d0e0f\nC = 1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5\nP = 00112233445566778899aabbccddeeff\n\n";
    let report = run_one(&write(&dir, "good.txt", &format!("{KW_AD_HEADER}{good}"))).unwrap();
    assert_eq!(
        (only_file(&report).passed, report.failed()),
        (1, 0),
        "{report}"
    );

    let no_k = "COUNT = 1\nC = 1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5\nFAIL\n";
    let path = write(&dir, "nok.txt", &format!("{KW_AD_HEADER}{good}{no_k}"));
    assert_malformed(run_one(&path), &["nok.txt", "COUNT = 1", "without K"]);

    let no_c =
        "COUNT = 2\nK = 000102030405060708090a0b0c0d0e0f\nP = 00112233445566778899aabbccddeeff\n";
    let path = write(&dir, "noc.txt", &format!("{KW_AD_HEADER}{good}{no_c}"));
    assert_malformed(run_one(&path), &["noc.txt", "COUNT = 2", "without C"]);

    let neither = "COUNT = 4\nK = 000102030405060708090a0b0c0d0e0f\nC = 1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5\n";
    let path = write(
        &dir,
        "neither.txt",
        &format!("{KW_AD_HEADER}{good}{neither}"),
    );
    assert_malformed(run_one(&path), &["neither.txt", "COUNT = 4", "without P"]);

    let bad_hex = good
        .replace("P = 0011", "P = 00zz")
        .replace("COUNT = 0", "COUNT = 5");
    let path = write(&dir, "badhex.txt", &format!("{KW_AD_HEADER}{bad_hex}"));
    assert_malformed(
        run_one(&path),
        &["badhex.txt", "COUNT = 5", "`P`", "bad hex"],
    );

    let wrong_len = good.replace("COUNT = 0", "COUNT = 6");
    let path = write(
        &dir,
        "len.txt",
        &(KW_AD_HEADER.replace("LENGTH = 128]", "LENGTH = 192]") + &wrong_len),
    );
    assert_malformed(run_one(&path), &["len.txt", "COUNT = 6", "192"]);

    let garbage = write(
        &dir,
        "KW_AE_128.txt",
        "# nothing here\nthis is not a record\n",
    );
    assert!(matches!(run_one(&garbage), Err(Error::InvalidField { .. })));
}

#[test]
fn explicit_non_vector_files_are_errors_but_are_ignored_in_directories() {
    let dir = scratch("non-vector");
    let readme = write(&dir, "README.txt", "Some notes.\n");
    let other_json = write(
        &dir,
        "package.json",
        r#"{"name": "x", "schema": "something_else.json"}"#,
    );
    write(&dir, "notes.md", "# notes\n");
    let vector_dir = dir.join("sub");
    std::fs::create_dir_all(&vector_dir).unwrap();
    write(&vector_dir, "b.json", &keywrap_doc(GOOD_KW_CASE, 1));
    write(&vector_dir, "a.json", &keywrap_doc(GOOD_KW_CASE, 1));

    assert_malformed(run_one(&readme), &["README.txt", "not a vector file"]);
    assert_malformed(run_one(&other_json), &["package.json", "not a vector file"]);
    assert!(matches!(
        run_one(&dir.join("missing.json")),
        Err(Error::Io { .. })
    ));

    let report = run_paths(&[dir]).unwrap();
    let names: Vec<&str> = report.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        ["sub/a.json", "sub/b.json"],
        "sorted, non-vector files ignored"
    );
    assert_eq!(report.ignored, ["README.txt", "notes.md", "package.json"]);
    assert!(report.ok(), "{report}");
    assert!(
        report
            .to_string()
            .contains("ignored, not vector files (3): README.txt, notes.md, package.json\n"),
        "{report}"
    );
}

// ---------------------------------------------------------------------------
// Kinds the runner reads but does not run, and how it tells files apart

#[test]
fn inverse_cipher_and_tkw_files_are_skipped_with_the_reason() {
    let dir = scratch("skipped-kinds");
    let records = "[PLAINTEXT LENGTH = 128]\n\nCOUNT = 0\nK = 000102030405060708090a0b0c0d0e0f\nP = 00112233445566778899aabbccddeeff\nC = 000102030405060708090a0b0c0d0e0f1011121314151617\n\nCOUNT = 1\nK = 000102030405060708090a0b0c0d0e0f\nP = 00112233445566778899aabbccddeeff\nC = 000102030405060708090a0b0c0d0e0f1011121314151617\n";
    let inv_header =
        "# 'NIST SP 800-38F KW-AE with AES-128 inverse cipher function' information\n\n";
    let by_header = write(&dir, "vectors-a.txt", &format!("{inv_header}{records}"));
    let by_name = write(&dir, "KW_AE_128_inv.txt", records);
    let tkw = write(
        &dir,
        "TKW_AE.txt",
        &format!("# 'NIST SP 800-38F TKW-AE with TDEA cipher function'\n\n{records}"),
    );
    for path in [&by_header, &by_name] {
        let report = run_one(path).unwrap();
        let f = only_file(&report);
        assert_eq!((f.passed, f.failed, f.skipped()), (0, 0, 2), "{report}");
        assert!(
            f.skipped.keys().all(|r| r.contains("inverse")),
            "{:?}",
            f.skipped
        );
        assert!(f.schemes.is_empty());
    }
    let report = run_one(&tkw).unwrap();
    assert!(
        only_file(&report).skipped.keys().all(|r| r.contains("TKW")),
        "{report}"
    );
    let printed = report.to_string();
    let closing: Vec<&str> = printed.lines().rev().take(3).collect();
    assert_eq!(
        closing,
        [
            "FAILED: no case ran: every vector file was skipped whole (reasons above)",
            "0 passed, 0 failed, 2 skipped",
            &format!("skipped whole, no case ran (1): {}", tkw.display()),
        ],
        "{printed}"
    );
    assert!(!report.ok());
    // A directory of them: nothing passes, nothing fails, all six are counted,
    // and a run of no case is not a pass.
    let report = run_paths(&[dir]).unwrap();
    assert_eq!(
        (report.passed(), report.failed(), report.skipped()),
        (0, 0, 6),
        "{report}"
    );
    assert_eq!(report.skipped_files().count(), 3, "{report}");
    assert!(!report.ok(), "{report}");
}

#[test]
fn the_header_decides_mode_and_family_over_the_file_name() {
    // A KWP-AE file under a misleading name: the header wins.
    let dir = scratch("header-wins");
    let text = nist_text("KWP_AE_128.txt");
    let report = run_one(&write(&dir, "KW_AD_999.txt", &text)).unwrap();
    let f = only_file(&report);
    assert_eq!(
        (f.schemes.as_slice(), f.passed, f.rejected_as_required),
        (&[SchemeId::Kwp][..], 500, 0)
    );
    // Without the header the name decides.
    let bare: String = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    let report = run_one(&write(&dir, "KWP_AE_128.txt", &bare)).unwrap();
    assert_eq!(only_file(&report).passed, 500);
}

#[test]
fn unsupported_aead_parameters_are_skipped_not_passed() {
    let dir = scratch("aead-skips");
    let case = |id: u32, key: &str, iv: &str, tag: &str| {
        format!(
            r#"{{"tcId": {id}, "comment": "", "flags": [], "key": "{key}", "iv": "{iv}", "aad": "",
                "msg": "00112233445566778899aabbccddeeff", "ct": "00112233445566778899aabbccddeeff", "tag": "{tag}", "result": "valid"}}"#
        )
    };
    let k192 = "000102030405060708090a0b0c0d0e0f1011121314151617";
    let k128 = "000102030405060708090a0b0c0d0e0f";
    let iv96 = "000102030405060708090a0b";
    let tag128 = "000102030405060708090a0b0c0d0e0f";
    let tests = [
        case(1, k192, iv96, tag128),
        case(2, k128, "0001020304050607", tag128),
        case(3, k128, iv96, "0001020304050607"),
    ]
    .join(",");
    let doc = format!(
        r#"{{"algorithm": "AES-GCM-SIV", "schema": "aead_test_schema_v1.json", "numberOfTests": 3,
            "testGroups": [{{"type": "AeadTest", "keySize": 0, "ivSize": 0, "tagSize": 0, "tests": [{tests}]}}]}}"#
    );
    let report = run_one(&write(&dir, "params.json", &doc)).unwrap();
    let f = only_file(&report);
    assert_eq!((f.passed, f.failed, f.skipped()), (0, 0, 3), "{report}");
    let reasons: Vec<&String> = f.skipped.keys().collect();
    assert!(
        reasons.iter().any(|r| r.contains("192-bit KEK")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("64-bit nonce")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("64-bit tag")),
        "{reasons:?}"
    );
    assert!(report.to_string().contains("3 skipped"), "{report}");
}

#[test]
fn acceptable_cases_are_counted_each_way() {
    // Built from the RFC 3394 §4.1 example (accepted both ways) and an 8-byte
    // key, which KW refuses to wrap and a 16-byte input it refuses to unwrap.
    let dir = scratch("acceptable");
    let accepted = GOOD_KW_CASE.replace(r#""valid""#, r#""acceptable""#);
    let rejected = r#"{"tcId": 2, "comment": "", "flags": [], "key": "000102030405060708090a0b0c0d0e0f",
        "msg": "0001020304050607", "ct": "00112233445566778899aabbccddeeff", "result": "acceptable"}"#;
    let report = run_one(&write(
        &dir,
        "acc.json",
        &keywrap_doc(&format!("{accepted}, {rejected}"), 2),
    ))
    .unwrap();
    let f = only_file(&report);
    assert_eq!(
        (f.passed, f.acceptable_accepted, f.acceptable_rejected),
        (2, 1, 1),
        "{report}"
    );
    assert!(
        report
            .to_string()
            .contains("acceptable: 1 accepted, 1 rejected"),
        "{report}"
    );
}

#[test]
fn an_invalid_case_whose_key_data_wrap_accepts_is_a_failure() {
    // "invalid" with an empty ct means wrapping msg must be refused; a 16-byte
    // msg is wrappable, so the runner must report it.
    let dir = scratch("invalid-wrappable");
    let case = r#"{"tcId": 9, "comment": "", "flags": [], "key": "000102030405060708090a0b0c0d0e0f",
        "msg": "00112233445566778899aabbccddeeff", "ct": "", "result": "invalid"}"#;
    let report = run_one(&write(&dir, "inv.json", &keywrap_doc(case, 1))).unwrap();
    let f = only_file(&report);
    assert_eq!(f.failed, 1, "{report}");
    assert!(f.failures[0].contains("tcId 9"), "{:?}", f.failures);
}

// ---------------------------------------------------------------------------
// A run of no case is not a pass

fn closing_line(report: &Report) -> String {
    report
        .to_string()
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn an_empty_folder_runs_nothing_and_fails() {
    let dir = scratch("empty");
    let report = run_paths(std::slice::from_ref(&dir)).unwrap();
    assert_eq!((report.files.len(), report.ignored.len()), (0, 0));
    assert_eq!(report.ran(), 0);
    assert!(!report.ok(), "{report}");
    assert_eq!(
        report.to_string(),
        "0 passed, 0 failed\nFAILED: no case ran: no file found\n"
    );
    // An empty sub-folder beside a vector file does not spoil the run.
    std::fs::create_dir_all(dir.join("empty")).unwrap();
    write(&dir, "good.json", &keywrap_doc(GOOD_KW_CASE, 1));
    assert!(run_paths(&[dir]).unwrap().ok());
}

#[test]
fn a_folder_of_junk_runs_nothing_fails_and_lists_what_it_ignored() {
    let dir = scratch("junk");
    write(&dir, "README.txt", "Some notes.\n");
    write(&dir, "config.json", r#"{"name": "x"}"#);
    write(&dir, "list.json", "[1, 2, 3]");
    std::fs::write(dir.join("latin1.txt"), [0x4b, 0xe9, 0xff, 0x0a]).unwrap();
    std::fs::write(dir.join("image.bin"), [0u8; 64]).unwrap();
    let sub = dir.join("sub");
    std::fs::create_dir_all(&sub).unwrap();
    // Named like a CAVP file, but no record in it.
    write(&sub, "KW_AE_128.txt", "# nothing here\n");
    write(&sub, "notes.md", "# notes\n");

    let report = run_paths(std::slice::from_ref(&dir)).unwrap();
    assert!(report.files.is_empty(), "{report}");
    assert_eq!(
        report.ignored,
        [
            "README.txt",
            "config.json",
            "image.bin",
            "latin1.txt",
            "list.json",
            "sub/KW_AE_128.txt",
            "sub/notes.md",
        ]
    );
    assert!(!report.ok(), "{report}");
    let printed = report.to_string();
    assert!(
        printed.starts_with("ignored, not vector files (7): README.txt, config.json, "),
        "{printed}"
    );
    assert_eq!(
        closing_line(&report),
        "FAILED: no case ran: no vector file found, only the ignored files above"
    );
}

#[test]
fn a_long_list_of_ignored_files_is_cut_short_but_counted() {
    let dir = scratch("many-ignored");
    for i in 0..25 {
        write(&dir, &format!("note{i:02}.md"), "x\n");
    }
    let report = run_paths(&[dir]).unwrap();
    assert_eq!(report.ignored.len(), 25);
    let printed = report.to_string();
    let line = printed.lines().next().unwrap();
    assert!(
        line.starts_with("ignored, not vector files (25): note00.md, ")
            && line.ends_with(", note19.md and 5 more"),
        "{line}"
    );
}

/// A Wycheproof AEAD file of an algorithm no scheme implements.
const EAX_DOC: &str = r#"{"algorithm": "AES-EAX", "schema": "aead_test_schema_v1.json", "numberOfTests": 2,
  "testGroups": [{"type": "AeadTest", "keySize": 128, "ivSize": 128, "tagSize": 128, "tests": [
    {"tcId": 1, "comment": "", "flags": [], "key": "233952dee4d5ed5f9b9c6d6ff80ff478", "iv": "62ec67f9c3a4a407fcb2a8c49031a8b3",
     "aad": "6bfb914fd07eae6b", "msg": "", "ct": "", "tag": "e037830e8389f27b025a2d6527e79d01", "result": "valid"},
    {"tcId": 2, "comment": "", "flags": [], "key": "91945d3f4dcbee0bf45ef52255f095a4", "iv": "becaf043b0a23d843194ba972c66debd",
     "aad": "fa3bfd4806eb53fa", "msg": "f7fb", "ct": "19dd", "tag": "5c4c9331049d0bdab0277408f67967e5", "result": "valid"}]}]}"#;

#[test]
fn a_file_of_an_unknown_algorithm_is_skipped_whole_and_alone_fails() {
    let dir = scratch("unknown-algorithm");
    let eax = write(&dir, "eax.json", EAX_DOC);
    let report = run_one(&eax).unwrap();
    let f = only_file(&report);
    assert_eq!((f.ran(), f.skipped()), (0, 2), "{report}");
    assert!(
        f.skipped.keys().all(|r| r.contains("AES-EAX")),
        "{:?}",
        f.skipped
    );
    let skipped: Vec<&str> = report.skipped_files().map(|f| f.name.as_str()).collect();
    assert_eq!(skipped, [eax.display().to_string()]);
    assert!(!report.ok(), "{report}");
    assert!(
        report.to_string().contains(&format!(
            "skipped whole, no case ran (1): {}\n",
            eax.display()
        )),
        "{report}"
    );
    assert_eq!(
        closing_line(&report),
        "FAILED: no case ran: every vector file was skipped whole (reasons above)"
    );

    // Beside a file that runs, the run passes and the skipped file stays in view.
    write(&dir, "good.json", &keywrap_doc(GOOD_KW_CASE, 1));
    let report = run_paths(&[dir]).unwrap();
    assert!(report.ok(), "{report}");
    let printed = report.to_string();
    assert!(
        printed.contains("skipped whole, no case ran (1): eax.json\n"),
        "{printed}"
    );
    assert_eq!(closing_line(&report), "1 passed, 0 failed, 2 skipped");
}

#[test]
fn a_vector_file_that_holds_no_case_is_skipped_whole() {
    let dir = scratch("no-case");
    let empty = r#"{"algorithm": "AES-WRAP", "schema": "keywrap_test_schema_v1.json", "numberOfTests": 0, "testGroups": []}"#;
    let report = run_one(&write(&dir, "empty.json", empty)).unwrap();
    assert_eq!(only_file(&report).cases(), 0);
    assert!(!report.ok(), "{report}");
    assert!(
        report.to_string().contains("    holds no case\n"),
        "{report}"
    );
}

/// `keyhier vectors PATH`: exit status and standard output.
fn keyhier_vectors(path: &Path) -> (Option<i32>, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_keyhier"))
        .arg("vectors")
        .arg(path)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn the_cli_exit_status_follows_ok() {
    let dir = scratch("cli");
    let (code, out) = keyhier_vectors(&dir);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("no case ran: no file found"), "{out}");

    let eax = write(&dir, "eax.json", EAX_DOC);
    let (code, out) = keyhier_vectors(&eax);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("skipped whole, no case ran (1)"), "{out}");

    let good = write(&dir, "good.json", &keywrap_doc(GOOD_KW_CASE, 1));
    assert_eq!(keyhier_vectors(&good).0, Some(0));
    // The directory: one file runs, one is skipped whole.
    assert_eq!(keyhier_vectors(&dir).0, Some(0));

    let wrong = GOOD_KW_CASE.replace("1fa68b0a", "1fa68b0b");
    let wrong = write(&dir, "wrong.json", &keywrap_doc(&wrong, 1));
    let (code, out) = keyhier_vectors(&wrong);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.ends_with("0 passed, 1 failed\n"), "{out}");

    let (code, out) = keyhier_vectors(&vendored());
    assert_eq!(code, Some(0), "{out}");
}
