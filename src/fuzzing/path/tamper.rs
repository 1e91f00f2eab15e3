//! The tampering of `unwrap_path`: each [`Tamper`] applied to the
//! generated hierarchy (bit flips, wraps moved between slots or brought from
//! another seed, shares replaced, versions bumped, a node rotated, the file
//! edited and read back). Every wrap it makes is added to the
//! [`WrapCatalogue`]; an edited file that decodes must check and re-encode to
//! the same bytes, one that must be refused must be. It recovers nothing.

use crate::crypto::batch::KekCache;
use crate::crypto::prf::Prf;
use crate::crypto::wire::StoredWrap;
use crate::engine::generate::{generate, slot_secrets, wrap_slot};
use crate::error::Error;
use crate::graph::hierarchy::Hierarchy;
use crate::store::hfile;

use super::model::{WrapCatalogue, version};
use super::{FileEdit, PathCase, PathReport, Tamper};

/// State of one case while tampering.
pub(super) struct Run<'c> {
    pub(super) case: &'c PathCase,
    pub(super) h: Hierarchy,
    pub(super) prf: Prf,
    pub(super) cat: WrapCatalogue,
    /// Payloads as first generated (for [`Tamper::RestoreOriginal`]).
    pub(super) original: Hierarchy,
    /// The same design and shape generated from another seed, made on first use.
    pub(super) foreign: Option<Hierarchy>,
    pub(super) report: PathReport,
}

/// Index `i` modulo `len`, or `None` for an empty range.
pub(super) fn pick(i: impl Into<u64>, len: usize) -> Option<usize> {
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

    pub(super) fn apply(&mut self, t: &Tamper) {
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
        let secrets = slot_secrets(&self.h, &self.prf, n, &key);
        let mut cache = KekCache::new();
        for (s, secret) in self.h.slots_of(n).zip(&secrets) {
            let kek_key = |k: u32| Ok(self.prf.node_key(k, version(&self.h, k)));
            let mut buf = [0u8; 256];
            let res = wrap_slot(
                &self.h, &self.prf, &mut cache, n, s, secret, &kek_key, &mut buf,
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
