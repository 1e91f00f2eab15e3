//! The body of every fuzz target, and the seed corpus.
//!
//! Each target is one public function taking the fuzzer's bytes. It returns
//! normally for every input and panics (through an `assert!`) only when an
//! invariant of the library is broken, so `fuzz/fuzz_targets/<name>.rs` is a
//! single call and the stable `cargo test` replays the committed corpus
//! (`corpus/<name>/`, test `tests/corpus.rs`) through the very same function.
//!
//! | target | code under test | invariant |
//! |---|---|---|
//! | [`unwrap_kw`], [`unwrap_kwp`], [`unwrap_gcm`], [`unwrap_gcm_siv`] | [`crate::Kek`] | a KEK of a length the scheme does not take is a typed error; an unwrap either fails with its output zeroed, or opens a wrap that is really valid (re-wrapping gives the same bytes; under gcm/gcm-siv the same bytes fail under any context differing in one field) |
//! | [`decode_wrap`] | [`crate::crypto::wire::StoredWrap::decode`] | no panic; whatever decodes re-encodes to the same bytes |
//! | [`decode_hierarchy`] | [`crate::store::hfile::decode`] | no panic; whatever decodes passes [`crate::graph::hierarchy::Hierarchy::check`] and re-encodes to the same bytes |
//! | [`unwrap_path`] | [`crate::engine::generate`], [`crate::engine::recover`], [`crate::store::hfile`] | a tiny generated hierarchy, tampered with, never opens a leaf to a wrong key under gcm/gcm-siv; under kw/kwp only to the key a same-KEK move explains (the schemes' known limit); every recovery agrees with a reference model |
//! | [`fastkw_differential`] | [`crate::crypto::fastkw`] | every batched backend agrees with `aes-kw`, key by key |
//! | [`rekey_model`] | [`crate::engine::workload`], [`crate::engine::recover`], [`crate::store::hfile`] | rotations, revocations, shreds and recoveries agree with a reference model kept by the target: every subset of live roots opens exactly the leaves the design promises, to the model's keys; revoked roots' reach is re-keyed and nothing else; leaked, retired and shredded keys open nothing |
//!
//! Inputs never reach `unwrap`, `expect` or slice indexing: every read is
//! bounds-checked and a short input simply ends the run. This module is not
//! part of the crate's API (`#[doc(hidden)]`).

mod decode;
mod path;
mod pick;
mod rekey;
mod seeds;
mod unwrap;

pub use decode::{decode_hierarchy, decode_wrap};
pub use path::{FileEdit, PathCase, PathReport, RootPick, Tamper, run_path_case, unwrap_path};
pub use pick::{DesignPick, SchemePick};
pub use rekey::{ExtentPick, RekeyCase, RekeyOp, RekeyReport, rekey_model, run_rekey_case};
pub use seeds::write_seed_corpus;
pub use unwrap::{UnwrapInput, unwrap_gcm, unwrap_gcm_siv, unwrap_kw, unwrap_kwp};

/// Batched AES-KW/KWP against `aes-kw` on every backend this machine has
/// ([`crate::crypto::fastkw::fuzz_support::differential`]).
pub fn fastkw_differential(data: &[u8]) {
    crate::crypto::fastkw::fuzz_support::differential(data);
}

/// Every target, by the name of its fuzz target, its seed directory and its
/// corpus directory.
pub const TARGET_NAMES: [&str; 9] = [
    "unwrap_kw",
    "unwrap_kwp",
    "unwrap_gcm",
    "unwrap_gcm_siv",
    "decode_wrap",
    "decode_hierarchy",
    "unwrap_path",
    "fastkw_differential",
    "rekey_model",
];

/// The byte an output buffer is filled with before an unwrap, so that a
/// failure which left it untouched is told apart from one that zeroed it.
const FILL: u8 = 0xA5;

fn all_zero(bytes: &[u8]) -> bool {
    bytes.iter().all(|&b| b == 0)
}
