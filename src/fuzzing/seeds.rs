//! The seed corpus: `keyhier corpus --out DIR` writes `DIR/<target>/<name>`.
//!
//! Three sources, every file named for what it holds:
//!
//! - `tiny-*`: a tiny hierarchy (one tenant, one group, two leaves) of every
//!   design under every scheme: its hierarchy file, the stored wrap of every
//!   slot position of every wrapped role, and each layer of those wraps as an
//!   unwrap input under its real KEK and context (so the unwrap targets start
//!   from wraps that open).
//! - `kat-*`: known-answer vectors from `tests/vectors` (NIST CAVP
//!   KW/KWP, the RFC 3394/5649 examples, Wycheproof AES-GCM-SIV; the AEAD
//!   vectors carry their own associated data, not a wrap context, so they
//!   exercise lengths and tags but do not open). Skipped with a note on
//!   standard error when the folder is absent.
//! - `edge-*`: hand-made edge cases: empty input, one block, maximal lengths,
//!   wrong magic and version, each scheme byte, impossible layer counts,
//!   KEKs of lengths no scheme takes.
//!
//! `unwrap_path` seeds (`case-*`) are byte strings found by a deterministic
//! search that read (through `arbitrary`) as each design and scheme, untampered
//! and with each kind of tampering first. `rekey_model` seeds (`seq-*`) are
//! hand-made operation sequences for every design (rotate each role, revoke
//! each role, revoke twice then rotate, shred then every workload, revoke then
//! shred), encoded as the bytes `arbitrary` reads back. Output is
//! deterministic: the same build writes the same files. Existing files of
//! other names are left alone.

use std::path::{Path, PathBuf};

use arbitrary::{Arbitrary, Unstructured};
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};

use crate::crypto::prf::Prf;
use crate::crypto::scheme::{Kek, NONCE_LEN, SchemeId, TAG_LEN, WrapContext};
use crate::crypto::wire::{KeyRef, StoredWrap};
use crate::engine::generate::{GenSpec, generate};
use crate::error::{Error, Result};
use crate::graph::design::Design;
use crate::graph::hierarchy::Hierarchy;
use crate::graph::shape::{Dist, Shape};
use crate::store::hfile;

use super::path::{FileEdit, PathCase, RootPick, Tamper};
use super::pick::{DesignPick, SchemePick};
use super::{TARGET_NAMES, UnwrapInput};

/// Where the known-answer vectors are looked for: `$KEYHIER_VECTORS`, else
/// the crate's own `tests/vectors`.
fn vectors_dir() -> PathBuf {
    std::env::var_os("KEYHIER_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors")))
}

/// Writes the seed corpora of every target to `out/<target>/`.
pub fn write_seed_corpus(out: &Path) -> Result<()> {
    let mut w = Writer {
        out: out.to_path_buf(),
    };
    for t in TARGET_NAMES {
        let dir = out.join(t);
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    }
    tiny_hierarchies(&mut w)?;
    let dir = vectors_dir();
    if dir.is_dir() {
        vectors(&mut w, &dir)?;
    } else {
        eprintln!(
            "note: no known-answer vectors at {}; kat-* seeds skipped (set KEYHIER_VECTORS)",
            dir.display()
        );
    }
    edge_cases(&mut w)?;
    path_cases(&mut w)?;
    fastkw_cases(&mut w)?;
    rekey_cases(&mut w)
}

struct Writer {
    out: PathBuf,
}

impl Writer {
    fn put(&mut self, target: &str, name: &str, bytes: &[u8]) -> Result<()> {
        let name: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let path = self.out.join(target).join(name);
        std::fs::write(&path, bytes)
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))
    }

    fn unwrap_seed(&mut self, scheme: SchemeId, name: &str, input: &UnwrapInput) -> Result<()> {
        self.put(unwrap_target(scheme), name, &input.encode())
    }
}

fn unwrap_target(scheme: SchemeId) -> &'static str {
    match scheme {
        SchemeId::Kw => "unwrap_kw",
        SchemeId::Kwp => "unwrap_kwp",
        SchemeId::Gcm => "unwrap_gcm",
        SchemeId::GcmSiv => "unwrap_gcm_siv",
    }
}

/// A context of all zeros naming `scheme` (for vectors, which have none).
fn zero_context(scheme: SchemeId) -> WrapContext {
    WrapContext {
        tenant: 0,
        key_id: 0,
        key_version: 0,
        kek_id: 0,
        kek_version: 0,
        scheme,
        share: 0,
        share_gen: 0,
        layer: 0,
    }
}

fn tiny(design: &Design, scheme: SchemeId) -> Result<(Hierarchy, Prf)> {
    let shape = Shape {
        tenants: 1,
        groups: Dist::Fixed(1),
        leaves: Dist::Fixed(2),
    };
    let seed = 1;
    let (h, _) = generate(
        &GenSpec {
            design: design.clone(),
            shape,
            scheme,
            seed,
        },
        &|_| {},
    )?;
    Ok((h, Prf::new(seed)))
}

fn tiny_hierarchies(w: &mut Writer) -> Result<()> {
    for pick in DesignPick::ALL {
        let design = Design::by_name(pick.design_name())?;
        for scheme in SchemeId::ALL {
            let (h, prf) = tiny(&design, scheme)?;
            let tag = format!("tiny-{}-{}", pick.design_name(), scheme.name());
            w.put("decode_hierarchy", &tag, &hfile::encode(&h)?)?;
            let mut seen_roles = Vec::new();
            for n in (0..h.nodes()).filter(|&n| !h.is_root(n)) {
                let role = h.role[n as usize];
                if seen_roles.contains(&role) {
                    continue;
                }
                seen_roles.push(role);
                let role_name = &design.roles[usize::from(role)].name;
                for (p, s) in h.slots_of(n).enumerate() {
                    let name = format!("{tag}-{role_name}-slot{p}");
                    w.put("decode_wrap", &name, &h.stored_wrap(n, s).encode()?)?;
                    layer_seeds(w, &h, &prf, n, s, &name)?;
                }
            }
        }
    }
    Ok(())
}

/// One unwrap seed per layer of slot `s`, outermost first, each under its real
/// KEK and context (a nested slot's inner layers are opened on the way).
fn layer_seeds(w: &mut Writer, h: &Hierarchy, prf: &Prf, n: u32, s: u32, name: &str) -> Result<()> {
    let mut wrapped = h.slot_payload(s).to_vec();
    for (layer, &k) in h.slot_keks(s).iter().enumerate().rev() {
        let kek_bytes = prf.node_key(k, h.version[k as usize]);
        let ctx = h.context(n, s, layer);
        let input = UnwrapInput {
            kek: kek_bytes.expose().to_vec(),
            ctx,
            out_len: 256,
            wrapped: wrapped.clone(),
        };
        w.unwrap_seed(h.scheme, &format!("{name}-layer{layer}"), &input)?;
        let kek = Kek::new(h.scheme, kek_bytes.expose())?;
        let mut inner = vec![0u8; 256];
        let len = kek.unwrap(&wrapped, &ctx, &mut inner)?;
        inner.truncate(len);
        wrapped = inner;
    }
    Ok(())
}

/// One record of a NIST CAVP KW/KWP file.
struct NistRecord {
    plaintext_bits: usize,
    count: usize,
    kek: Vec<u8>,
    wrapped: Vec<u8>,
    fail: bool,
}

fn nist_records(text: &str) -> Vec<NistRecord> {
    let mut out = Vec::new();
    let (mut bits, mut count, mut kek) = (0usize, 0usize, Vec::new());
    let mut wrapped: Option<Vec<u8>> = None;
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line
            .strip_prefix("[PLAINTEXT LENGTH = ")
            .and_then(|r| r.strip_suffix(']'))
        {
            bits = rest.trim().parse().unwrap_or(0);
        } else if let Some(v) = line.strip_prefix("COUNT = ") {
            count = v.parse().unwrap_or(0);
            wrapped = None;
        } else if let Some(v) = line.strip_prefix("K = ") {
            kek = hex::decode(v).unwrap_or_default();
        } else if let Some(v) = line.strip_prefix("C = ") {
            wrapped = hex::decode(v).ok();
        } else if (line.starts_with("P = ") || line == "FAIL")
            && let Some(c) = wrapped.take()
        {
            out.push(NistRecord {
                plaintext_bits: bits,
                count,
                kek: kek.clone(),
                wrapped: c,
                fail: line == "FAIL",
            });
        }
    }
    out
}

fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))
}

fn vectors(w: &mut Writer, dir: &Path) -> Result<()> {
    // NIST CAVP: per file and plaintext length, the first two records and the first FAIL one.
    for stem in ["KW_AE", "KW_AD", "KWP_AE", "KWP_AD"] {
        let scheme = if stem.starts_with("KWP") {
            SchemeId::Kwp
        } else {
            SchemeId::Kw
        };
        for bits in [128, 192, 256] {
            let path = dir.join("nist").join(format!("{stem}_{bits}.txt"));
            if !path.is_file() {
                continue;
            }
            let mut taken: Vec<(usize, bool, usize)> = Vec::new();
            for r in nist_records(&read_text(&path)?) {
                let per = taken
                    .iter()
                    .filter(|(b, f, _)| *b == r.plaintext_bits && *f == r.fail)
                    .count();
                if per >= if r.fail { 1 } else { 2 } {
                    continue;
                }
                taken.push((r.plaintext_bits, r.fail, r.count));
                let verdict = if r.fail { "-fail" } else { "" };
                let name = format!(
                    "kat-nist-{stem}_{bits}-p{}-count{}{verdict}",
                    r.plaintext_bits, r.count
                );
                let input = UnwrapInput {
                    kek: r.kek,
                    ctx: zero_context(scheme),
                    out_len: 4200,
                    wrapped: r.wrapped,
                };
                w.unwrap_seed(scheme, &name, &input)?;
            }
        }
    }
    // The RFC 3394 / 5649 examples.
    let rfc = dir.join("rfc_vectors.json");
    if rfc.is_file() {
        let v: serde_json::Value = serde_json::from_str(&read_text(&rfc)?)
            .map_err(|e| Error::invalid("rfc_vectors.json", e.to_string()))?;
        for (i, case) in v["vectors"].as_array().into_iter().flatten().enumerate() {
            let scheme = match case["mode"].as_str() {
                Some("KW") => SchemeId::Kw,
                Some("KWP") => SchemeId::Kwp,
                _ => continue,
            };
            let hex_field = |f: &str| {
                case[f]
                    .as_str()
                    .and_then(|s| hex::decode(s).ok())
                    .unwrap_or_default()
            };
            let section = case["section"].as_str().unwrap_or("x");
            let name = format!(
                "kat-rfc{}-{section}-{i}",
                case["rfc"].as_str().unwrap_or("x")
            );
            let input = UnwrapInput {
                kek: hex_field("kek"),
                ctx: zero_context(scheme),
                out_len: 64,
                wrapped: hex_field("ciphertext"),
            };
            w.unwrap_seed(scheme, &name, &input)?;
        }
    }
    // Wycheproof AES-GCM-SIV: 96-bit nonce and 128-bit tag cases, the first of each comment.
    let siv = dir.join("wycheproof").join("aes_gcm_siv_test.json");
    if siv.is_file() {
        let v: serde_json::Value = serde_json::from_str(&read_text(&siv)?)
            .map_err(|e| Error::invalid("aes_gcm_siv_test.json", e.to_string()))?;
        let mut comments: Vec<String> = Vec::new();
        for group in v["testGroups"].as_array().into_iter().flatten() {
            if group["ivSize"].as_u64() != Some(96) || group["tagSize"].as_u64() != Some(128) {
                continue;
            }
            for t in group["tests"].as_array().into_iter().flatten() {
                let comment = format!(
                    "{}-{}",
                    group["keySize"],
                    t["comment"].as_str().unwrap_or("")
                );
                if comments.contains(&comment) {
                    continue;
                }
                comments.push(comment);
                let hex_field = |f: &str| {
                    t[f].as_str()
                        .and_then(|s| hex::decode(s).ok())
                        .unwrap_or_default()
                };
                let mut wrapped = hex_field("iv");
                wrapped.extend(hex_field("ct"));
                wrapped.extend(hex_field("tag"));
                let name = format!(
                    "kat-wycheproof-gcm-siv-tc{}-{}",
                    t["tcId"],
                    t["result"].as_str().unwrap_or("x")
                );
                let input = UnwrapInput {
                    kek: hex_field("key"),
                    ctx: zero_context(SchemeId::GcmSiv),
                    out_len: 4200,
                    wrapped,
                };
                w.unwrap_seed(SchemeId::GcmSiv, &name, &input)?;
            }
        }
    }
    Ok(())
}

fn edge_cases(w: &mut Writer) -> Result<()> {
    for t in TARGET_NAMES {
        w.put(t, "edge-empty", &[])?;
    }
    for scheme in SchemeId::ALL {
        let input = |kek_len: usize, wrapped_len: usize| UnwrapInput {
            kek: vec![0x11; kek_len],
            ctx: zero_context(scheme),
            out_len: 4200,
            wrapped: vec![0xA6; wrapped_len],
        };
        for kek_len in [0, 15, 17, 24, 31, 33, 64, 255] {
            w.unwrap_seed(
                scheme,
                &format!("edge-kek-len-{kek_len}"),
                &input(kek_len, 40),
            )?;
        }
        for (what, len) in [
            ("one-block", 8),
            ("two-blocks", 16),
            ("three-blocks", 24),
            ("aead-min-plus-one", NONCE_LEN + TAG_LEN + 1),
        ] {
            w.unwrap_seed(scheme, &format!("edge-{what}"), &input(32, len))?;
        }
        let max = scheme
            .wrapped_len(crate::crypto::scheme::MAX_AEAD_KEY_DATA)
            .unwrap_or(4104);
        w.unwrap_seed(scheme, "edge-max-len", &input(32, max))?;
        w.unwrap_seed(scheme, "edge-over-max-len", &input(32, max + 8))?;
        for b in 0..=5u8 {
            let mut bytes = input(32, 40).encode();
            // The context's scheme byte sits after the KEK and 28 bytes of ids and versions.
            if let Some(x) = bytes.get_mut(1 + 32 + 28) {
                *x = b;
            }
            w.put(
                unwrap_target(scheme),
                &format!("edge-context-scheme-byte-{b:02x}"),
                &bytes,
            )?;
        }
        let mut short = input(32, 40);
        short.out_len = 31;
        w.unwrap_seed(scheme, "edge-output-too-small", &short)?;
        short.out_len = 0;
        w.unwrap_seed(scheme, "edge-output-empty", &short)?;
    }

    // Stored wraps.
    let base = StoredWrap {
        scheme: SchemeId::Kw,
        share: 0,
        tenant: 3,
        key: KeyRef { id: 7, version: 1 },
        share_gen: 0,
        keks: vec![KeyRef { id: 2, version: 1 }],
        payload: vec![0xA6; 40],
    };
    let enc = base.encode()?;
    let edited = |at: usize, b: u8| {
        let mut e = enc.clone();
        if let Some(x) = e.get_mut(at) {
            *x = b;
        }
        e
    };
    w.put("decode_wrap", "edge-wrong-magic", &edited(0, b'X'))?;
    w.put("decode_wrap", "edge-wrong-version", &edited(4, 2))?;
    for b in 0..=5u8 {
        w.put(
            "decode_wrap",
            &format!("edge-scheme-byte-{b:02x}"),
            &edited(5, b),
        )?;
    }
    w.put("decode_wrap", "edge-layers-0", &edited(7, 0))?;
    w.put("decode_wrap", "edge-layers-5", &edited(7, 5))?;
    w.put(
        "decode_wrap",
        "edge-header-only",
        enc.get(..24).unwrap_or_default(),
    )?;
    let mut trailing = enc.clone();
    trailing.push(0);
    w.put("decode_wrap", "edge-trailing-byte", &trailing)?;
    for scheme in SchemeId::ALL {
        let largest = (0..=usize::from(u16::MAX))
            .rev()
            .find(|&l| scheme.check_wrapped_len(l).is_ok())
            .unwrap_or(0);
        let keks: Vec<KeyRef> = (0..crate::crypto::wire::MAX_LAYERS as u64)
            .map(|i| KeyRef {
                id: i,
                version: u32::MAX,
            })
            .collect();
        let max = StoredWrap {
            scheme,
            share: 255,
            tenant: u32::MAX,
            key: KeyRef {
                id: u64::MAX,
                version: u32::MAX,
            },
            share_gen: u32::MAX,
            keks,
            payload: vec![0; largest],
        };
        w.put(
            "decode_wrap",
            &format!("edge-max-len-{}", scheme.name()),
            &max.encode()?,
        )?;
        let one_block = StoredWrap {
            scheme,
            payload: vec![0; 8],
            ..base.clone()
        };
        let mut bytes = enc.get(..36).unwrap_or_default().to_vec();
        if let Some(x) = bytes.get_mut(5) {
            *x = scheme as u8;
        }
        bytes.extend_from_slice(&8u16.to_be_bytes());
        bytes.extend_from_slice(&one_block.payload);
        w.put(
            "decode_wrap",
            &format!("edge-one-block-{}", scheme.name()),
            &bytes,
        )?;
    }

    // Hierarchy files.
    let (h, _) = tiny(&Design::m365(), SchemeId::Kw)?;
    let file = hfile::encode(&h)?;
    let edited = |at: usize, b: u8| {
        let mut e = file.clone();
        if let Some(x) = e.get_mut(at) {
            *x = b;
        }
        e
    };
    w.put("decode_hierarchy", "edge-wrong-magic", &edited(0, b'X'))?;
    w.put("decode_hierarchy", "edge-wrong-version", &edited(4, 2))?;
    for b in 0..=5u8 {
        w.put(
            "decode_hierarchy",
            &format!("edge-scheme-byte-{b:02x}"),
            &edited(5, b),
        )?;
    }
    let header = |name: &str, tenants: u32, groups: &[u32], leaves: &[u32]| {
        let mut f = b"KHHF\x01\x01".to_vec();
        f.extend_from_slice(&(name.len() as u16).to_be_bytes());
        f.extend_from_slice(name.as_bytes());
        f.extend_from_slice(&0u32.to_be_bytes());
        f.extend_from_slice(&tenants.to_be_bytes());
        f.extend_from_slice(&(groups.iter().sum::<u32>()).to_be_bytes());
        for g in groups.iter().chain(leaves) {
            f.extend_from_slice(&g.to_be_bytes());
        }
        f.extend_from_slice(&[0u8; 64]);
        f
    };
    w.put(
        "decode_hierarchy",
        "edge-zero-tenants",
        &header("m365", 0, &[], &[]),
    )?;
    w.put(
        "decode_hierarchy",
        "edge-design-unknown",
        &header("m366", 1, &[1], &[1]),
    )?;
    w.put(
        "decode_hierarchy",
        "edge-design-not-canonical",
        &header("tree:02", 1, &[1], &[1]),
    )?;
    w.put(
        "decode_hierarchy",
        "edge-design-tree-deepest",
        &header("tree:2,2,2,2,2,2,2,2", 1, &[1], &[1]),
    )?;
    w.put(
        "decode_hierarchy",
        "edge-design-tree-widest",
        &header("tree:1024,1024,1024", 1, &[1], &[1]),
    )?;
    w.put(
        "decode_hierarchy",
        "edge-header-only",
        file.get(..40).unwrap_or_default(),
    )?;
    let mut trailing = file.clone();
    trailing.push(0);
    w.put("decode_hierarchy", "edge-trailing-byte", &trailing)
}

/// What the first tamper of a case is, for naming and for the search.
fn tamper_kind(t: &Tamper) -> &'static str {
    match t {
        Tamper::FlipBit { .. } => "flip-bit",
        Tamper::Move { .. } => "move",
        Tamper::MoveSameKek { .. } => "move-same-kek",
        Tamper::Foreign { .. } => "foreign-seed",
        Tamper::ReplaceShare { .. } => "replace-share",
        Tamper::BumpVersion { .. } => "bump-version",
        Tamper::Rotate { .. } => "rotate",
        Tamper::RestoreOriginal { .. } => "restore-original",
        Tamper::File(FileEdit::Xor { .. }) => "file-xor",
        Tamper::File(FileEdit::Truncate { .. }) => "file-truncate",
        Tamper::File(FileEdit::Extend { .. }) => "file-extend",
        Tamper::File(FileEdit::Insert { .. }) => "file-insert",
        Tamper::File(FileEdit::Delete { .. }) => "file-delete",
        Tamper::File(FileEdit::ResizeRecord { .. }) => "file-resize-record",
    }
}

const TAMPER_KINDS: [&str; 14] = [
    "flip-bit",
    "move",
    "move-same-kek",
    "foreign-seed",
    "replace-share",
    "bump-version",
    "rotate",
    "restore-original",
    "file-xor",
    "file-truncate",
    "file-extend",
    "file-insert",
    "file-delete",
    "file-resize-record",
];

/// For each design and scheme: one untampered case with every root, and one
/// case opening with each kind of tampering. Found by reading deterministic
/// pseudo-random byte strings until one reads as wanted.
fn path_cases(w: &mut Writer) -> Result<()> {
    let schemes = SchemePick::ALL;
    let mut rng = ChaCha20Rng::seed_from_u64(0x5EED);
    let mut wanted: Vec<(DesignPick, SchemePick, Option<&str>)> = Vec::new();
    for d in DesignPick::ALL {
        for s in schemes {
            wanted.push((d, s, None));
            wanted.extend(TAMPER_KINDS.iter().map(|k| (d, s, Some(*k))));
        }
    }
    let mut found: Vec<Option<Vec<u8>>> = vec![None; wanted.len()];
    let mut left = wanted.len();
    for _ in 0..2_000_000 {
        if left == 0 {
            break;
        }
        let len = 48 + (rng.next_u32() % 96) as usize;
        let mut bytes = vec![0u8; len];
        rng.fill_bytes(&mut bytes);
        let Ok(case) = PathCase::arbitrary(&mut Unstructured::new(&bytes)) else {
            continue;
        };
        let first = case.tampers.first().map(tamper_kind);
        if first.is_none() && case.roots != RootPick::All {
            continue;
        }
        let slot = wanted.iter().zip(found.iter_mut()).find(|((d, s, k), f)| {
            f.is_none() && *d == case.design && *s == case.scheme && *k == first
        });
        if let Some((_, f)) = slot {
            *f = Some(bytes);
            left -= 1;
        }
    }
    for ((d, s, k), bytes) in wanted.iter().zip(found) {
        let Some(bytes) = bytes else { continue };
        let name = format!(
            "case-{}-{}-{}",
            d.design_name(),
            s.id().name(),
            k.unwrap_or("untampered")
        );
        w.put("unwrap_path", &name, &bytes)?;
    }
    Ok(())
}

/// Seeds in the input format of `fastkw::fuzz_support::differential`: two
/// KEKs, a flags byte (bit 0: KWP, bit 1: a two-byte batch size), the batch
/// size, the keys, then per key a selector (0..=9: valid, bit flip, other
/// KEK, other mode, shorter KWP key, raw bytes) with its parameter.
fn fastkw_cases(w: &mut Writer) -> Result<()> {
    let prf = Prf::new(2);
    let material = |i: u32| prf.node_key(i, 1).expose().to_vec();
    for (flags, mode) in [(0u8, "kw"), (1u8, "kwp")] {
        let mut f = material(0);
        f.extend(material(1));
        f.push(flags);
        f.push(9); // 10 keys
        for k in 0..10 {
            f.extend(material(10 + k));
        }
        for sel in 0..10u8 {
            f.push(sel);
            if sel == 5 || sel == 8 {
                f.push(sel.wrapping_mul(37));
            }
        }
        w.put(
            "fastkw_differential",
            &format!("mixed-{mode}-every-selector"),
            &f,
        )?;
        // Largest batch: a two-byte size of 599 (600 keys), every wrap valid.
        let mut big = material(2);
        big.extend(material(3));
        big.push(flags | 2);
        big.extend_from_slice(&599u16.to_le_bytes());
        for k in 0..600 {
            big.extend(material(100 + k));
        }
        big.extend(std::iter::repeat_n(0u8, 600));
        w.put(
            "fastkw_differential",
            &format!("edge-max-batch-{mode}"),
            &big,
        )?;
    }
    Ok(())
}

/// The hand-made operation sequences of `rekey_model`, one file each.
fn rekey_cases(w: &mut Writer) -> Result<()> {
    for (name, case) in super::rekey::seed_cases() {
        w.put("rekey_model", &name, &case.encode())?;
    }
    Ok(())
}
