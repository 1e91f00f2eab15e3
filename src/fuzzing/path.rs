//! The `unwrap_path` target: generate a tiny hierarchy, tamper with its
//! stored wraps, recover leaves, and check every key that comes out.
//!
//! # What is checked
//!
//! The input ([`PathCase`], read with `arbitrary`) picks a design, a scheme, a
//! tiny shape, a seed, up to [`MAX_TAMPERS`] tampering operations
//! ([`Tamper`]: bit flips, wraps moved between slots, keys, groups and
//! tenants, wraps from a hierarchy of another seed, shares replaced, versions
//! bumped, a node rotated and its old wrap restored, edits to the hierarchy
//! file), which roots are available, and which leaves to recover one by one.
//!
//! Every leaf key that [`recover_key`] or [`recover_leaves`] (cached and
//! cold) returns is compared with the key the generator gave that leaf,
//! `Prf::new(seed).node_key(leaf, version)`:
//!
//! - under gcm and gcm-siv a wrong key is always a failure: the context
//!   (tenant, ids, versions, share, layer) is the associated data, so a wrap
//!   anywhere but in its own slot at its own versions must not open;
//! - under kw and kwp a wrong key is the schemes' known limit, and accepted,
//!   only when a reference model explains it: the stored payload is a wrap
//!   the harness made (catalogued with the KEK keys and contexts it was made
//!   under) and the keys the recovery holds for that slot's KEKs are exactly
//!   those, so the unwrap yields the catalogued key (moved from another slot
//!   under the same KEK and version, or an old version of the same key).
//!   Any other wrong key is a failure.
//!
//! The same model predicts every outcome: which leaves open (and to which
//! key), which are unrecoverable from the available roots, and when a
//! recovery must fail as a whole with [`Error::UnwrapFailed`]. Recoveries that
//! disagree with it, errors of any other kind, and tampered hierarchy files
//! that decode to something that does not re-encode to the same bytes are
//! failures too.

use std::collections::HashMap;
use std::sync::Mutex;

use arbitrary::{Arbitrary, Unstructured};

use crate::crypto::batch::KekCache;
use crate::crypto::prf::Prf;
use crate::crypto::scheme::{SchemeId, WrapContext};
use crate::crypto::secret::Key256;
use crate::crypto::shamir;
use crate::crypto::wire::StoredWrap;
use crate::engine::generate::{GenSpec, generate, slot_secrets, wrap_slot};
use crate::engine::recover::{CacheMode, recover_key, recover_leaves};
use crate::error::Error;
use crate::graph::design::Design;
use crate::graph::hierarchy::Hierarchy;
use crate::graph::reach::reach;
use crate::graph::shape::{Dist, Shape};
use crate::store::hfile;
use crate::store::keyring::Keyring;

/// Most tampering operations one case applies.
pub const MAX_TAMPERS: usize = 8;
/// Most leaves one case recovers one by one with [`recover_key`].
pub const MAX_PROBES: usize = 4;

/// The designs a case picks from.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum DesignPick {
    M365,
    Flat,
    Dke,
    Threshold,
    Sharepoint,
    Tree22,
}

impl DesignPick {
    /// Every design, in the order above.
    pub const ALL: [DesignPick; 6] = [
        DesignPick::M365,
        DesignPick::Flat,
        DesignPick::Dke,
        DesignPick::Threshold,
        DesignPick::Sharepoint,
        DesignPick::Tree22,
    ];

    /// The design's name.
    pub fn name(self) -> &'static str {
        match self {
            DesignPick::M365 => "m365",
            DesignPick::Flat => "flat",
            DesignPick::Dke => "dke",
            DesignPick::Threshold => "threshold",
            DesignPick::Sharepoint => "sharepoint",
            DesignPick::Tree22 => "tree:2,2",
        }
    }
}

/// The schemes a case picks from.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum SchemePick {
    Kw,
    Kwp,
    Gcm,
    GcmSiv,
}

impl SchemePick {
    /// The scheme.
    pub fn id(self) -> SchemeId {
        match self {
            SchemePick::Kw => SchemeId::Kw,
            SchemePick::Kwp => SchemeId::Kwp,
            SchemePick::Gcm => SchemeId::Gcm,
            SchemePick::GcmSiv => SchemeId::GcmSiv,
        }
    }
}

/// Which roots the recoveries may use.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RootPick {
    /// Every root.
    All,
    /// Root `n` is available when bit `n mod 64` of the mask is set.
    Subset(u64),
}

impl RootPick {
    fn available(self, n: u32) -> bool {
        match self {
            RootPick::All => true,
            RootPick::Subset(mask) => (mask >> (n % 64)) & 1 == 1,
        }
    }
}

/// A tampering operation. Slot, node and offset fields are taken modulo
/// what the hierarchy has, so every value means something.
#[derive(Arbitrary, Clone, Debug, PartialEq, Eq)]
pub enum Tamper {
    /// Flip one bit of a slot's payload.
    FlipBit {
        /// Slot.
        slot: u16,
        /// Bit within the payload.
        bit: u16,
    },
    /// Copy the payload of one slot over another's (another key, group or tenant).
    Move {
        /// Source slot.
        from: u16,
        /// Target slot.
        to: u16,
    },
    /// Copy a payload to another slot under the same KEKs: the move that
    /// kw and kwp cannot notice.
    MoveSameKek {
        /// Source slot.
        from: u16,
        /// Index among the slots under the same KEKs.
        to: u16,
    },
    /// Copy a payload from the same design generated with another seed.
    Foreign {
        /// Slot in the other hierarchy.
        from: u16,
        /// Target slot.
        to: u16,
    },
    /// Overwrite one share of a share-based key with another share.
    ReplaceShare {
        /// Source, among the share slots.
        from: u16,
        /// Target, among the share slots.
        to: u16,
    },
    /// Raise a node's version without re-wrapping anything.
    BumpVersion {
        /// Node.
        node: u16,
        /// Raised by this plus one.
        by: u8,
    },
    /// Rotate a wrapped key: a new version, its own slots wrapped again
    /// (its children are left under the old version).
    Rotate {
        /// Node, among the wrapped (non-root) keys.
        node: u16,
    },
    /// Put back the payload a slot had when generated (an old version restored).
    RestoreOriginal {
        /// Slot.
        slot: u16,
    },
    /// Edit the hierarchy file and read it back.
    File(FileEdit),
}

/// An edit of the encoded hierarchy file.
#[derive(Arbitrary, Clone, Debug, PartialEq, Eq)]
pub enum FileEdit {
    /// XOR one byte (a zero mask counts as 1).
    Xor {
        /// Offset (modulo the file length).
        at: u32,
        /// Mask.
        mask: u8,
    },
    /// Cut the file short (must be refused).
    Truncate {
        /// Bytes kept (modulo the file length).
        keep: u32,
    },
    /// Append bytes (must be refused).
    Extend {
        /// What is appended (at least one byte).
        bytes: Vec<u8>,
    },
    /// Insert one byte.
    Insert {
        /// Offset (modulo the file length).
        at: u32,
        /// The byte.
        byte: u8,
    },
    /// Delete one byte.
    Delete {
        /// Offset (modulo the file length).
        at: u32,
    },
    /// Replace a slot's record by a stored wrap one semiblock shorter or
    /// longer (must be refused).
    ResizeRecord {
        /// Slot.
        slot: u16,
        /// Longer rather than shorter.
        longer: bool,
    },
}

/// One `unwrap_path` case.
#[derive(Arbitrary, Clone, Debug, PartialEq, Eq)]
pub struct PathCase {
    /// Design.
    pub design: DesignPick,
    /// Scheme.
    pub scheme: SchemePick,
    /// Tenants: 1 + this mod 3.
    pub tenants: u8,
    /// Groups per tenant: up to 1 + this mod 3.
    pub groups: u8,
    /// Leaves per group: up to 1 + this mod 4.
    pub leaves: u8,
    /// Counts drawn uniformly up to the maximum, rather than fixed.
    pub uniform: bool,
    /// Seed of every key.
    pub seed: u64,
    /// Roots available to the recoveries.
    pub roots: RootPick,
    /// Tampering, in order (at most [`MAX_TAMPERS`] are applied).
    pub tampers: Vec<Tamper>,
    /// Leaves recovered one by one (modulo the leaf count; at most [`MAX_PROBES`]).
    pub probes: Vec<u16>,
}

impl PathCase {
    /// The design.
    pub fn make_design(&self) -> Design {
        match self.design {
            DesignPick::M365 => Design::m365(),
            DesignPick::Flat => Design::flat(),
            DesignPick::Dke => Design::dke(),
            DesignPick::Threshold => Design::threshold(),
            DesignPick::Sharepoint => Design::sharepoint(),
            DesignPick::Tree22 => Design::tree(&[2, 2]),
        }
    }

    /// The tiny shape: 1–3 tenants, 1–3 groups per tenant, 1–4 leaves per group.
    pub fn shape(&self) -> Shape {
        let dist = |max: u32| {
            if self.uniform {
                Dist::Uniform { min: 1, max }
            } else {
                Dist::Fixed(max)
            }
        };
        Shape {
            tenants: 1 + u32::from(self.tenants % 3),
            groups: dist(1 + u32::from(self.groups % 3)),
            leaves: dist(1 + u32::from(self.leaves % 4)),
        }
    }

    fn spec(&self, seed: u64) -> GenSpec {
        GenSpec {
            design: self.make_design(),
            shape: self.shape(),
            scheme: self.scheme.id(),
            seed,
        }
    }
}

/// What one case saw.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PathReport {
    /// Tampering operations applied (file edits that were refused included).
    pub tampers: usize,
    /// File edits refused by the decoder with a typed error.
    pub file_edits_refused: usize,
    /// Leaf keys returned, over every recovery.
    pub keys_returned: u64,
    /// Of which the wrong key, explained as the kw/kwp known limit.
    pub known_limit: u64,
    /// Recoveries (of one leaf or of all) that failed with `UnwrapFailed`.
    pub refused: u64,
    /// Leaves reported unrecoverable from the available roots.
    pub unrecoverable: u64,
}

/// The fuzz target: reads a [`PathCase`] and runs it.
pub fn unwrap_path(data: &[u8]) {
    let mut u = Unstructured::new(data);
    if let Ok(case) = PathCase::arbitrary(&mut u) {
        run_path_case(&case);
    }
}

/// A wrap the harness made, by its payload: what opens it and what it holds.
struct Origin {
    /// The KEK key of each layer, innermost first.
    kek_keys: Vec<Key256>,
    /// The context of each layer, as wrapped.
    contexts: Vec<WrapContext>,
    /// The key or share wrapped.
    secret: Key256,
}

/// Every wrap the harness made, by payload bytes.
#[derive(Default)]
struct Catalogue(HashMap<Vec<u8>, Origin>);

impl Catalogue {
    /// Records slot `s` of node `n` of `h`, wrapped from `secret` with the keys of `prf`.
    fn add(&mut self, h: &Hierarchy, prf: &Prf, n: u32, s: u32, secret: &Key256) {
        let keks = h.slot_keks(s);
        let origin = Origin {
            kek_keys: keks
                .iter()
                .map(|&k| prf.node_key(k, version(h, k)))
                .collect(),
            contexts: (0..keks.len())
                .map(|layer| h.context(n, s, layer))
                .collect(),
            secret: secret.clone(),
        };
        self.0.entry(h.slot_payload(s).to_vec()).or_insert(origin);
    }

    /// Records every slot of a freshly generated `h`.
    fn add_all(&mut self, h: &Hierarchy, prf: &Prf) {
        for n in (0..h.nodes()).filter(|&n| !h.is_root(n)) {
            let key = prf.node_key(n, version(h, n));
            let secrets = slot_secrets(h, prf, n, &key, h.generation);
            for (s, secret) in h.slots_of(n).zip(&secrets) {
                self.add(h, prf, n, s, secret);
            }
        }
    }
}

fn version(h: &Hierarchy, n: u32) -> u32 {
    h.version.get(n as usize).copied().unwrap_or(0)
}

/// What the model says opening a node gives.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    Key(Key256),
    Unrecoverable,
    /// The recovery must fail with an error (a stored wrap does not open).
    Fail,
}

impl Outcome {
    fn key(&self) -> Option<&Key256> {
        match self {
            Outcome::Key(k) => Some(k),
            _ => None,
        }
    }
}

/// The reference model of [`crate::engine::recover::open_node`]: the same slot choice
/// (the first `threshold` slots whose KEKs are all open), with every unwrap
/// replaced by a catalogue lookup.
fn model_open_node(
    h: &Hierarchy,
    cat: &Catalogue,
    n: u32,
    key_of: &dyn Fn(u32) -> Option<Key256>,
) -> Outcome {
    let role = &h.design.roles[usize::from(h.role[n as usize])];
    let need = usize::from(role.threshold);
    let mut got: Vec<(u8, Key256)> = Vec::new();
    for s in h.slots_of(n) {
        let Some(keks) = h
            .slot_keks(s)
            .iter()
            .map(|&k| key_of(k))
            .collect::<Option<Vec<Key256>>>()
        else {
            continue;
        };
        let Some(origin) = cat.0.get(h.slot_payload(s)) else {
            return Outcome::Fail;
        };
        let keys_match = origin.kek_keys == keks;
        let contexts_match = !h.scheme.binds_context()
            || (0..keks.len())
                .map(|layer| h.context(n, s, layer))
                .eq(origin.contexts.iter().copied());
        if !keys_match || !contexts_match {
            return Outcome::Fail;
        }
        got.push((h.share_of(n, s), origin.secret.clone()));
        if got.len() == need {
            break;
        }
    }
    if got.len() < need {
        return Outcome::Unrecoverable;
    }
    if role.shares {
        let refs: Vec<(u8, &Key256)> = got.iter().map(|(x, k)| (*x, k)).collect();
        return shamir::combine(&refs).map_or(Outcome::Fail, Outcome::Key);
    }
    got.into_iter()
        .next()
        .map_or(Outcome::Unrecoverable, |(_, k)| Outcome::Key(k))
}

/// The model over every node, in node order. `strict`: a node fails when any
/// of its KEKs fails (how [`recover_key`] walks); otherwise a failed KEK only
/// counts as not open (the whole [`recover_leaves`] fails anyway).
fn model_all(
    h: &Hierarchy,
    cat: &Catalogue,
    ring: &Keyring,
    available: &dyn Fn(u32) -> bool,
    strict: bool,
) -> Vec<Outcome> {
    let mut out: Vec<Outcome> = Vec::with_capacity(h.nodes() as usize);
    for n in 0..h.nodes() {
        let o = if h.is_root(n) {
            match ring.get(n) {
                Some((v, k)) if available(n) && v == version(h, n) => Outcome::Key(k.clone()),
                _ => Outcome::Unrecoverable,
            }
        } else if strict
            && h.slots_of(n)
                .flat_map(|s| h.slot_keks(s))
                .any(|&k| out.get(k as usize) == Some(&Outcome::Fail))
        {
            Outcome::Fail
        } else {
            model_open_node(h, cat, n, &|k| {
                out.get(k as usize).and_then(Outcome::key).cloned()
            })
        };
        out.push(o);
    }
    out
}

/// State of one case while tampering.
struct Run<'c> {
    case: &'c PathCase,
    h: Hierarchy,
    prf: Prf,
    cat: Catalogue,
    /// Payloads as first generated (for [`Tamper::RestoreOriginal`]).
    original: Hierarchy,
    /// The same design and shape generated from another seed, made on first use.
    foreign: Option<Hierarchy>,
    report: PathReport,
}

/// Index `i` modulo `len`, or `None` for an empty range.
fn pick(i: impl Into<u64>, len: usize) -> Option<usize> {
    let len = u64::try_from(len).ok().filter(|&l| l > 0)?;
    usize::try_from(i.into() % len).ok()
}

fn slot_count(h: &Hierarchy) -> usize {
    h.slots() as usize
}

/// The node owning slot `s`.
fn node_of_slot(h: &Hierarchy, s: u32) -> u32 {
    (h.slot_start.partition_point(|&start| start <= s) as u32).saturating_sub(1)
}

/// Writes `bytes` over the start of slot `s`'s payload (as much as fits).
fn overwrite_payload(h: &mut Hierarchy, s: u32, bytes: &[u8]) {
    let len = h.slot_payload(s).len().min(bytes.len());
    let start = s as usize * h.stride;
    if let (Some(dst), Some(src)) = (h.payload.get_mut(start..start + len), bytes.get(..len)) {
        dst.copy_from_slice(src);
    }
}

impl Run<'_> {
    fn foreign(&mut self) -> Option<&Hierarchy> {
        if self.foreign.is_none() {
            let seed = self.case.seed ^ 0x9E37_79B9_7F4A_7C15;
            let (f, _) = generate(&self.case.spec(seed), &|_| {}).ok()?;
            self.cat.add_all(&f, &Prf::new(seed));
            self.foreign = Some(f);
        }
        self.foreign.as_ref()
    }

    fn apply(&mut self, t: &Tamper) {
        self.report.tampers += 1;
        let slots = slot_count(&self.h);
        match t {
            Tamper::FlipBit { slot, bit } => {
                let Some(s) = pick(*slot, slots) else { return };
                let s = s as u32;
                let len = self.h.slot_payload(s).len();
                let Some(bit) = pick(*bit, len * 8) else {
                    return;
                };
                if let Some(b) = self.h.payload.get_mut(s as usize * self.h.stride + bit / 8) {
                    *b ^= 1 << (bit % 8);
                }
            }
            Tamper::Move { from, to } => {
                let (Some(a), Some(b)) = (pick(*from, slots), pick(*to, slots)) else {
                    return;
                };
                let bytes = self.h.slot_payload(a as u32).to_vec();
                overwrite_payload(&mut self.h, b as u32, &bytes);
            }
            Tamper::MoveSameKek { from, to } => {
                let Some(a) = pick(*from, slots) else { return };
                let a = a as u32;
                let keks = self.h.slot_keks(a).to_vec();
                let same: Vec<u32> = (0..slots as u32)
                    .filter(|&s| s != a && self.h.slot_keks(s) == keks.as_slice())
                    .collect();
                let Some(b) = pick(*to, same.len()).and_then(|i| same.get(i).copied()) else {
                    return;
                };
                let bytes = self.h.slot_payload(a).to_vec();
                overwrite_payload(&mut self.h, b, &bytes);
            }
            Tamper::Foreign { from, to } => {
                let Some(b) = pick(*to, slots) else { return };
                let Some(f) = self.foreign() else { return };
                let Some(a) = pick(*from, slot_count(f)) else {
                    return;
                };
                let bytes = f.slot_payload(a as u32).to_vec();
                overwrite_payload(&mut self.h, b as u32, &bytes);
            }
            Tamper::ReplaceShare { from, to } => {
                let h = &self.h;
                let shares: Vec<u32> = (0..slots as u32)
                    .filter(|&s| {
                        h.design.roles[usize::from(h.role[node_of_slot(h, s) as usize])].shares
                    })
                    .collect();
                let (Some(a), Some(b)) = (pick(*from, shares.len()), pick(*to, shares.len()))
                else {
                    return self.apply(&Tamper::Move {
                        from: *from,
                        to: *to,
                    });
                };
                let (Some(&a), Some(&b)) = (shares.get(a), shares.get(b)) else {
                    return;
                };
                let bytes = self.h.slot_payload(a).to_vec();
                overwrite_payload(&mut self.h, b, &bytes);
            }
            Tamper::BumpVersion { node, by } => {
                let Some(n) = pick(*node, self.h.nodes() as usize) else {
                    return;
                };
                if let Some(v) = self.h.version.get_mut(n) {
                    *v = v.wrapping_add(u32::from(*by) + 1);
                }
            }
            Tamper::Rotate { node } => self.rotate(*node),
            Tamper::RestoreOriginal { slot } => {
                let Some(s) = pick(*slot, slots.min(slot_count(&self.original))) else {
                    return;
                };
                let bytes = self.original.slot_payload(s as u32).to_vec();
                overwrite_payload(&mut self.h, s as u32, &bytes);
            }
            Tamper::File(edit) => self.edit_file(edit),
        }
    }

    /// A new version of a wrapped key, its own slots wrapped again under
    /// its KEKs' current versions (at a new generation, so no nonce repeats).
    fn rotate(&mut self, node: u16) {
        let wrapped: Vec<u32> = (0..self.h.nodes())
            .filter(|&n| !self.h.is_root(n))
            .collect();
        let Some(&n) = pick(node, wrapped.len()).and_then(|i| wrapped.get(i)) else {
            return;
        };
        let (Some(generation), Some(v)) = (
            self.h.generation.checked_add(1),
            version(&self.h, n).checked_add(1),
        ) else {
            return;
        };
        self.h.generation = generation;
        if let Some(slot) = self.h.version.get_mut(n as usize) {
            *slot = v;
        }
        let key = self.prf.node_key(n, v);
        let secrets = slot_secrets(&self.h, &self.prf, n, &key, generation);
        let mut cache = KekCache::new();
        for (s, secret) in self.h.slots_of(n).zip(&secrets) {
            let kek_key = |k: u32| Ok(self.prf.node_key(k, version(&self.h, k)));
            let mut buf = [0u8; 256];
            let res = wrap_slot(
                &self.h, &self.prf, &mut cache, n, s, secret, generation, &kek_key, &mut buf,
            );
            let len = match res {
                Ok(len) => len,
                Err(e) => panic!("re-wrapping slot {s} of node {n} failed: {e}"),
            };
            assert_eq!(
                len,
                self.h.slot_payload(s).len(),
                "a rotated wrap has another length"
            );
            overwrite_payload(&mut self.h, s, buf.get(..len).unwrap_or_default());
            self.cat.add(&self.h, &self.prf, n, s, secret);
        }
    }

    fn edit_file(&mut self, edit: &FileEdit) {
        let mut bytes = match hfile::encode(&self.h) {
            Ok(b) => b,
            Err(e) => panic!("a tampered hierarchy cannot be encoded: {e}"),
        };
        let len = bytes.len();
        let must_refuse = match edit {
            FileEdit::Xor { at, mask } => {
                if let Some(b) = pick(*at, len).and_then(|i| bytes.get_mut(i)) {
                    *b ^= (*mask).max(1);
                }
                false
            }
            FileEdit::Truncate { keep } => {
                bytes.truncate(pick(*keep, len).unwrap_or(0));
                true
            }
            FileEdit::Extend { bytes: extra } => {
                bytes.extend_from_slice(extra);
                bytes.push(0);
                true
            }
            FileEdit::Insert { at, byte } => {
                bytes.insert(pick(*at, len).unwrap_or(0), *byte);
                false
            }
            FileEdit::Delete { at } => {
                if let Some(i) = pick(*at, len) {
                    bytes.remove(i);
                }
                false
            }
            FileEdit::ResizeRecord { slot, longer } => {
                let Some(s) = pick(*slot, slot_count(&self.h)) else {
                    return;
                };
                match self.resized_record(s as u32, *longer) {
                    Some(edited) => bytes = edited,
                    None => return,
                }
                true
            }
        };
        match hfile::decode(&bytes) {
            Err(e) => {
                assert!(
                    !matches!(e, Error::Io { .. }),
                    "decoding file bytes reported an I/O error: {e}"
                );
                self.report.file_edits_refused += 1;
            }
            Ok(h) => {
                assert!(
                    !must_refuse,
                    "a truncated, extended or resized hierarchy file decoded ({edit:?})"
                );
                if let Err(e) = h.check() {
                    panic!(
                        "an edited hierarchy file decoded to a hierarchy that fails its check: {e}"
                    );
                }
                assert_eq!(
                    hfile::encode(&h).as_deref(),
                    Ok(bytes.as_slice()),
                    "an edited hierarchy file re-encodes to other bytes"
                );
                self.h = h;
            }
        }
    }

    /// The file with slot `s`'s record replaced by a wire-valid stored wrap
    /// whose payload is one semiblock shorter or longer.
    fn resized_record(&self, s: u32, longer: bool) -> Option<Vec<u8>> {
        let h = &self.h;
        let n = node_of_slot(h, s);
        let mut head = Vec::new();
        let mut records = Vec::new();
        let mut target = None;
        for m in 0..h.nodes() {
            for t in h.slots_of(m) {
                let w = h.stored_wrap(m, t);
                if t == s {
                    target = Some((records.len(), w.encoded_len()));
                }
                w.encode_into(&mut records).ok()?;
            }
        }
        let (at, old_len) = target?;
        let mut w: StoredWrap = h.stored_wrap(n, s);
        if longer {
            w.payload.extend_from_slice(&[0x5A; 8]);
        } else {
            w.payload.truncate(w.payload.len().saturating_sub(8));
        }
        // Only a record the wire format itself accepts tests the file's own length rule.
        let resized = w.encode().ok()?;
        let whole = hfile::encode(h).ok()?;
        let header_len = whole.len().checked_sub(records.len())?;
        head.extend_from_slice(whole.get(..header_len)?);
        head.extend_from_slice(records.get(..at)?);
        head.extend_from_slice(&resized);
        head.extend_from_slice(records.get(at + old_len..)?);
        Some(head)
    }
}

/// Runs one case and returns what it saw; panics on any broken invariant.
pub fn run_path_case(case: &PathCase) -> PathReport {
    let spec = case.spec(case.seed);
    let (h, ring) = match generate(&spec, &|_| {}) {
        Ok(x) => x,
        Err(e) => panic!(
            "generating a tiny {} hierarchy under {} failed: {e}",
            case.design.name(),
            spec.scheme
        ),
    };
    let prf = Prf::new(case.seed);
    let mut cat = Catalogue::default();
    cat.add_all(&h, &prf);
    let mut run = Run {
        case,
        original: h.clone(),
        h,
        prf,
        cat,
        foreign: None,
        report: PathReport::default(),
    };
    for t in case.tampers.iter().take(MAX_TAMPERS) {
        run.apply(t);
    }
    let Run {
        h,
        prf,
        cat,
        mut report,
        ..
    } = run;

    // Whatever the tampering made must still round-trip through the file.
    match hfile::encode(&h).and_then(|b| hfile::decode(&b)) {
        Ok(back) => assert!(
            back == h,
            "a tampered hierarchy does not round-trip through its file"
        ),
        Err(e) => panic!("a tampered hierarchy does not round-trip through its file: {e}"),
    }

    let roots = case.roots;
    let available = move |n: u32| roots.available(n);
    let forward = model_all(&h, &cat, &ring, &available, false);
    let strict = model_all(&h, &cat, &ring, &available, true);
    let checker = Checker {
        h: &h,
        prf: &prf,
        scheme: h.scheme,
    };

    // With nothing tampered, recovery must agree with the analysis engine too.
    if case.tampers.is_empty() {
        let r = reach(&h, &|n| h.is_root(n) && available(n));
        let opened = (0..h.nodes())
            .filter(|&n| h.is_leaf(n) && forward.get(n as usize).is_some_and(|o| o.key().is_some()))
            .count();
        assert_eq!(
            opened as u64,
            r.leaves_open(&h),
            "the model and the reach analysis disagree on an untampered hierarchy"
        );
    }

    for mode in [CacheMode::Cached, CacheMode::Cold] {
        check_bulk(&checker, &ring, &available, mode, &forward, &mut report);
    }

    let leaves: Vec<u32> = (0..h.nodes()).filter(|&n| h.is_leaf(n)).collect();
    for probe in case.probes.iter().take(MAX_PROBES) {
        let Some(&leaf) = pick(*probe, leaves.len()).and_then(|i| leaves.get(i)) else {
            break;
        };
        let want = strict.get(leaf as usize).cloned().unwrap_or(Outcome::Fail);
        match recover_key(&h, &ring, &available, leaf) {
            Ok((key, used)) => {
                report.keys_returned += 1;
                report.known_limit +=
                    u64::from(checker.judge(leaf, &key, want.key(), "recover_key"));
                for r in used {
                    assert!(
                        h.is_root(r) && available(r),
                        "recover_key used {r}, not an available root"
                    );
                }
            }
            Err(Error::Unrecoverable { key }) => {
                report.unrecoverable += 1;
                assert_eq!(
                    key,
                    u64::from(leaf),
                    "recover_key names another key as unrecoverable"
                );
                assert_eq!(
                    want,
                    Outcome::Unrecoverable,
                    "recover_key found leaf {leaf} unrecoverable; the model: {want:?}"
                );
            }
            Err(Error::UnwrapFailed) => {
                report.refused += 1;
                assert_eq!(
                    want,
                    Outcome::Fail,
                    "recover_key refused leaf {leaf}; the model: {want:?}"
                );
            }
            Err(e) => panic!("recover_key failed with an unexpected error: {e:?}"),
        }
    }
    report
}

/// Judges every key a recovery returns.
struct Checker<'a> {
    h: &'a Hierarchy,
    prf: &'a Prf,
    scheme: SchemeId,
}

impl Checker<'_> {
    /// Checks `got` for `leaf` against the generator's key and the model's
    /// prediction; returns whether it is the kw/kwp known limit.
    fn judge(&self, leaf: u32, got: &Key256, model: Option<&Key256>, by: &str) -> bool {
        let scheme = self.scheme;
        let right = self.prf.node_key(leaf, version(self.h, leaf));
        let wrong = !got.ct_eq(&right);
        if wrong {
            assert!(
                !scheme.binds_context(),
                "{scheme}: {by} opened leaf {leaf} to a WRONG key"
            );
            assert!(
                model.is_some_and(|m| m.ct_eq(got)),
                "{scheme}: {by} opened leaf {leaf} to a wrong key that no same-KEK move explains"
            );
        }
        assert!(
            model.is_some_and(|m| m.ct_eq(got)),
            "{scheme}: {by} opened leaf {leaf}; the model predicts another outcome"
        );
        wrong
    }
}

fn check_bulk(
    c: &Checker<'_>,
    ring: &Keyring,
    available: &(dyn Fn(u32) -> bool + Sync),
    mode: CacheMode,
    model: &[Outcome],
    report: &mut PathReport,
) {
    let h = c.h;
    let got: Mutex<Vec<(u32, Key256)>> = Mutex::new(Vec::new());
    let sink = |leaf: u32, key: &Key256| {
        if let Ok(mut g) = got.lock() {
            g.push((leaf, key.clone()));
        }
    };
    let res = recover_leaves(h, ring, available, mode, &sink);
    let got = got.into_inner().unwrap_or_default();
    let by = match mode {
        CacheMode::Cached => "recover_leaves (cached)",
        CacheMode::Cold => "recover_leaves (cold)",
    };
    for (leaf, key) in &got {
        assert!(
            h.is_leaf(*leaf),
            "{by} returned a key for {leaf}, not a leaf"
        );
        report.keys_returned += 1;
        report.known_limit += u64::from(c.judge(
            *leaf,
            key,
            model.get(*leaf as usize).and_then(Outcome::key),
            by,
        ));
    }
    let fails = model.contains(&Outcome::Fail);
    let leaf_outcomes = || {
        (0..h.nodes())
            .filter(|&n| h.is_leaf(n))
            .filter_map(|n| model.get(n as usize))
    };
    match res {
        Ok(stats) => {
            let opened = leaf_outcomes().filter(|o| o.key().is_some()).count() as u64;
            let lost = leaf_outcomes()
                .filter(|o| **o == Outcome::Unrecoverable)
                .count() as u64;
            report.unrecoverable += stats.leaves_unrecoverable;
            assert_eq!(
                stats.leaves_recovered,
                got.len() as u64,
                "{by}: leaves_recovered differs from the keys handed out"
            );
            if mode == CacheMode::Cached {
                assert!(
                    !fails,
                    "{by} succeeded where a stored wrap the model says fails must be opened"
                );
            }
            if !fails {
                assert_eq!(
                    (stats.leaves_recovered, stats.leaves_unrecoverable),
                    (opened, lost),
                    "{by}: counts differ from the model"
                );
            }
        }
        Err(Error::UnwrapFailed) => {
            report.refused += 1;
            assert!(
                fails,
                "{by} refused a hierarchy the model opens without a failure"
            );
        }
        Err(e) => panic!("{by} failed with an unexpected error: {e:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(design: DesignPick, scheme: SchemePick, tampers: Vec<Tamper>) -> PathCase {
        PathCase {
            design,
            scheme,
            tenants: 0,
            groups: 0,
            leaves: 1,
            uniform: false,
            seed: 7,
            roots: RootPick::All,
            tampers,
            probes: vec![0, 1, 2, 3],
        }
    }

    #[test]
    fn untampered_opens_every_leaf_correctly() {
        for design in DesignPick::ALL {
            for scheme in [
                SchemePick::Kw,
                SchemePick::Kwp,
                SchemePick::Gcm,
                SchemePick::GcmSiv,
            ] {
                let r = run_path_case(&case(design, scheme, vec![]));
                assert_eq!(
                    (r.known_limit, r.refused, r.unrecoverable),
                    (0, 0, 0),
                    "{design:?} {scheme:?}"
                );
                assert!(r.keys_returned > 0);
            }
        }
    }

    /// m365, one tenant, one group, two leaves: slots 0..3 are the DEP's
    /// (under ck1, ck2, ak), 3 and 4 the leaves' (under the DEP).
    #[test]
    fn a_leaf_wrap_moved_under_the_same_dep_is_the_kw_limit_and_refused_by_gcm() {
        let moved = vec![Tamper::MoveSameKek { from: 3, to: 0 }];
        for scheme in [SchemePick::Kw, SchemePick::Kwp] {
            let r = run_path_case(&case(DesignPick::M365, scheme, moved.clone()));
            assert!(r.known_limit > 0, "{scheme:?}: {r:?}");
        }
        for scheme in [SchemePick::Gcm, SchemePick::GcmSiv] {
            let r = run_path_case(&case(DesignPick::M365, scheme, moved.clone()));
            assert_eq!(r.known_limit, 0, "{scheme:?}");
            assert!(r.refused > 0, "{scheme:?}: {r:?}");
        }
    }

    #[test]
    fn a_restored_old_version_is_the_kw_limit_and_refused_by_gcm() {
        // Slot 4 is the second leaf: rotate it (node index among wrapped keys: dep, leaf, leaf), restore.
        let tampers = vec![
            Tamper::Rotate { node: 2 },
            Tamper::RestoreOriginal { slot: 4 },
        ];
        let kw = run_path_case(&case(DesignPick::M365, SchemePick::Kw, tampers.clone()));
        assert!(kw.known_limit > 0, "{kw:?}");
        let gcm = run_path_case(&case(DesignPick::M365, SchemePick::Gcm, tampers));
        assert_eq!(gcm.known_limit, 0);
        assert!(gcm.refused > 0, "{gcm:?}");
    }

    #[test]
    fn bit_flips_and_file_edits_are_refused() {
        for scheme in [SchemePick::Kw, SchemePick::Gcm] {
            let r = run_path_case(&case(
                DesignPick::Threshold,
                scheme,
                vec![Tamper::FlipBit { slot: 0, bit: 9 }],
            ));
            assert!(r.refused > 0, "{r:?}");
            let edits = vec![
                Tamper::File(FileEdit::Truncate { keep: 10 }),
                Tamper::File(FileEdit::Extend { bytes: vec![1] }),
                Tamper::File(FileEdit::ResizeRecord {
                    slot: 1,
                    longer: true,
                }),
                Tamper::File(FileEdit::ResizeRecord {
                    slot: 1,
                    longer: false,
                }),
            ];
            let r = run_path_case(&case(DesignPick::Dke, scheme, edits));
            assert_eq!(r.file_edits_refused, 4, "{r:?}");
        }
    }
}
