//! Replays the committed fuzz corpus on stable: every file of every
//! `corpus/<target>/` directory goes through the same `keyhier::internal::fuzzing`
//! function the fuzz target calls, so a crash once found (kept as
//! `corpus/<target>/regression-<cause>`, explained in `corpus/REGRESSIONS.md`)
//! stays fixed.
//!
//! The table below is the one list of targets: a corpus directory without a
//! function, a function without a corpus directory, or a fuzz target missing
//! from the table fails the test, so a new target cannot be forgotten.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use keyhier::internal::fuzzing;

/// The body of a fuzz target.
type Target = fn(&[u8]);

/// Every fuzz target, by name.
const TARGETS: &[(&str, Target)] = &[
    ("unwrap_kw", fuzzing::unwrap_kw),
    ("unwrap_kwp", fuzzing::unwrap_kwp),
    ("unwrap_gcm", fuzzing::unwrap_gcm),
    ("unwrap_gcm_siv", fuzzing::unwrap_gcm_siv),
    ("decode_wrap", fuzzing::decode_wrap),
    ("decode_hierarchy", fuzzing::decode_hierarchy),
    ("unwrap_path", fuzzing::unwrap_path),
    ("fastkw_differential", fuzzing::fastkw_differential),
    ("rekey_model", fuzzing::rekey_model),
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn names_in(dir: &Path, want_dirs: bool) -> BTreeSet<String> {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    entries
        .map(|e| e.expect("directory entry"))
        .filter(|e| {
            e.file_type()
                .map(|t| t.is_dir() == want_dirs)
                .unwrap_or(false)
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn every_target_has_a_function_a_corpus_and_a_fuzz_binary() {
    let table: BTreeSet<String> = TARGETS.iter().map(|(n, _)| n.to_string()).collect();
    let corpus = names_in(&root().join("corpus"), true);
    assert_eq!(
        corpus, table,
        "corpus/ directories and the TARGETS table differ"
    );
    let binaries: BTreeSet<String> = names_in(&root().join("fuzz/fuzz_targets"), false)
        .into_iter()
        .filter_map(|f| f.strip_suffix(".rs").map(str::to_owned))
        .collect();
    assert_eq!(
        binaries, table,
        "fuzz/fuzz_targets/ and the TARGETS table differ"
    );
    let library: BTreeSet<String> = fuzzing::TARGET_NAMES
        .iter()
        .map(|n| n.to_string())
        .collect();
    assert_eq!(
        library, table,
        "keyhier::internal::fuzzing::TARGET_NAMES and the TARGETS table differ"
    );
}

#[test]
fn every_corpus_file_replays_without_a_panic() {
    let mut total = 0;
    for (name, target) in TARGETS {
        let dir = root().join("corpus").join(name);
        let files = names_in(&dir, false);
        assert!(!files.is_empty(), "corpus/{name}/ is empty");
        for file in files {
            let path = dir.join(&file);
            let data =
                std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            // A panic names the file, so the failing input is known at once.
            let res = std::panic::catch_unwind(|| target(&data));
            assert!(
                res.is_ok(),
                "corpus/{name}/{file} breaks an invariant (see the panic above)"
            );
            total += 1;
        }
    }
    println!("{total} corpus files replayed");
}

/// Every `regression-*` file is explained in `corpus/REGRESSIONS.md`, and
/// every file named there exists.
#[test]
fn regressions_are_listed_with_their_cause() {
    let listing = std::fs::read_to_string(root().join("corpus/REGRESSIONS.md"))
        .expect("corpus/REGRESSIONS.md");
    let mut on_disk = BTreeSet::new();
    for (name, _) in TARGETS {
        for file in names_in(&root().join("corpus").join(name), false) {
            if file.starts_with("regression-") {
                on_disk.insert(format!("{name}/{file}"));
            }
        }
    }
    let listed: BTreeSet<String> = listing
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_owned)
        .collect();
    assert_eq!(
        on_disk, listed,
        "regression files and the entries of corpus/REGRESSIONS.md differ"
    );
}
