//! The audit of a stored hierarchy: every stored wrap of every slot of every
//! key is opened, and the slots of one key must agree.
//!
//! A workload's own recovery opens each key through its *first* satisfying
//! slots, so a broken backup slot (the `ak` path of an any-of-3 design, the
//! third share of a 2-of-3 split) goes unnoticed until the day it is the only
//! way in. The audit closes that gap:
//!
//! - a root must be in the keyring at the hierarchy's version;
//! - every slot whose KEKs are open is unwrapped through all its layers;
//! - the slots of a whole-key role must open to one key (the key most of them
//!   give is taken; a slot that gives another is reported);
//! - the shares of a `k`-of-`n` role must lie on one polynomial: every `k` of
//!   them combine to the same key (a share outside every agreeing subset is
//!   reported).
//!
//! Failures name tenant, key, role and slot. Nodes are visited in generation
//! order (a slot's KEKs are earlier nodes): the global head first, then the
//! tenants in parallel, each with the global keys beside its own, so the
//! result does not depend on the thread count. Keys opened here live only in
//! this pass's maps and are zeroized when it ends.

use std::collections::HashMap;

use rayon::prelude::*;

use crate::crypto::batch::KekCache;
use crate::crypto::scheme::GLOBAL_TENANT;
use crate::crypto::secret::Key256;
use crate::crypto::shamir;
use crate::engine::recover::{OpenStats, open_slot};
use crate::graph::hierarchy::Hierarchy;
use crate::store::keyring::Keyring;

/// Failures listed in full; past this only counted.
pub const MAX_LISTED: usize = 200;

/// What is wrong with one slot (or one root).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// The root is not in the keyring.
    RootMissing,
    /// The keyring holds the root at another version than the hierarchy.
    RootVersion,
    /// The stored wrap does not open under its KEKs (corrupt wrap or wrong KEK).
    DoesNotOpen,
    /// It opens, but to another key than the key's other slots.
    Disagrees,
    /// Its share is not on the polynomial the other shares agree on.
    ShareInconsistent,
    /// Not checked: a KEK it is wrapped under could not be opened.
    KekUnavailable,
    /// The key cannot be recovered from any of its slots.
    Unrecoverable,
    /// Its slots open to different keys and none has a majority: which slot
    /// is corrupt cannot be told (a 2-of-3 split detects one bad share but
    /// cannot locate it).
    Ambiguous,
}

impl Fault {
    /// Its description.
    pub fn describe(self) -> &'static str {
        match self {
            Fault::RootMissing => "root not in the keyring",
            Fault::RootVersion => "keyring holds another version of this root",
            Fault::DoesNotOpen => "wrap does not open under its KEKs",
            Fault::Disagrees => "opens to a different key than the other slots",
            Fault::ShareInconsistent => "share inconsistent with the other shares",
            Fault::KekUnavailable => "not checked: a KEK above it could not be opened",
            Fault::Unrecoverable => "key recoverable from none of its slots",
            Fault::Ambiguous => "its slots open to different keys, none by a majority",
        }
    }
}

/// One failure.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SlotFailure {
    /// Tenant of the key (`None`: a global key).
    pub tenant: Option<u32>,
    /// The key (node index).
    pub key: u32,
    /// Its role.
    pub role: String,
    /// The slot's position among the key's slots (`None`: the key itself).
    pub slot: Option<u8>,
    /// The roles the slot is wrapped under, innermost first (`ck1`, `ak+ck1`).
    pub under: String,
    /// What is wrong.
    pub fault: Fault,
}

impl core::fmt::Display for SlotFailure {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.tenant {
            Some(t) => write!(f, "tenant {t}, ")?,
            None => f.write_str("global, ")?,
        }
        write!(f, "key {} ({})", self.key, self.role)?;
        if let Some(s) = self.slot {
            write!(f, ", slot {s} under {}", self.under)?;
        }
        write!(f, ": {}", self.fault.describe())
    }
}

/// What the audit found.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Audit {
    /// Keys whose slots were checked (roots included).
    pub keys_checked: u64,
    /// Stored wraps opened.
    pub slots_checked: u64,
    /// Slots or roots that failed, in all.
    pub failed: u64,
    /// The first [`MAX_LISTED`] failures, in node order.
    pub failures: Vec<SlotFailure>,
    /// Failures by role name: (role, count).
    pub failed_by_role: Vec<(String, u64)>,
    /// Set when no wrap directly under a root opened although some were
    /// tried: the keyring most likely belongs to another hierarchy.
    pub keyring_mismatch: bool,
    #[serde(skip)]
    root_slots_tried: u64,
    #[serde(skip)]
    root_slots_opened: u64,
}

impl Audit {
    /// True when every slot of every key opened and agreed.
    pub fn ok(&self) -> bool {
        self.failed == 0
    }

    /// One line: `"N keys, M wraps checked, F failed"`, and the mismatch if any.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{} keys, {} stored wraps checked, {} failed",
            self.keys_checked, self.slots_checked, self.failed
        );
        if self.keyring_mismatch {
            s.push_str(
                " (no wrap under a root opens: the keyring does not belong to this hierarchy, e.g. another seed)",
            );
        }
        s
    }

    fn merge(&mut self, o: Part) {
        self.keys_checked += o.keys;
        self.slots_checked += o.slots;
        self.failed += o.failures.len() as u64;
        for f in o.failures {
            match self.failed_by_role.iter_mut().find(|(r, _)| *r == f.role) {
                Some((_, c)) => *c += 1,
                None => self.failed_by_role.push((f.role.clone(), 1)),
            }
            if self.failures.len() < MAX_LISTED {
                self.failures.push(f);
            }
        }
        self.root_slots_tried += o.root_slots_tried;
        self.root_slots_opened += o.root_slots_opened;
    }
}

#[derive(Default)]
struct Part {
    keys: u64,
    slots: u64,
    failures: Vec<SlotFailure>,
    root_slots_tried: u64,
    root_slots_opened: u64,
}

/// Opens every slot of every key of `h` from the roots in `ring`, on the
/// current rayon pool.
pub fn audit(h: &Hierarchy, ring: &Keyring) -> Audit {
    audit_where(h, ring, &|_| true)
}

/// [`audit`] of the keys `include` admits (a shredded tenant's keys are
/// meant not to open).
pub fn audit_where(h: &Hierarchy, ring: &Keyring, include: &(dyn Fn(u32) -> bool + Sync)) -> Audit {
    audit_where_with(h, ring, include, &|_| {})
}

/// [`audit_where`], calling `progress(n)` as the keys of each tenant (and
/// of the global head) are audited: `n` is their number, so the calls add up
/// to `h.nodes()`.
pub fn audit_where_with(
    h: &Hierarchy,
    ring: &Keyring,
    include: &(dyn Fn(u32) -> bool + Sync),
    progress: &(dyn Fn(u64) + Sync),
) -> Audit {
    let mut out = Audit::default();
    let global_end = h.tenant_node_start.first().copied().unwrap_or(0);
    let mut global: HashMap<u32, Key256> = HashMap::new();
    let part = audit_range(h, ring, 0..global_end, None, &mut global, include);
    progress(u64::from(global_end));
    out.merge(part);
    let parts: Vec<Part> = (0..h.tenants())
        .into_par_iter()
        .map(|t| {
            let range = h.tenant_node_start[t as usize]..h.tenant_node_start[t as usize + 1];
            let mut own: HashMap<u32, Key256> = HashMap::new();
            let keys = u64::from(range.end - range.start);
            let part = audit_range(h, ring, range, Some(&global), &mut own, include);
            progress(keys);
            part
        })
        .collect();
    for p in parts {
        out.merge(p);
    }
    out.keyring_mismatch = out.root_slots_tried > 0 && out.root_slots_opened == 0;
    out
}

/// The audit of nodes `range` (one tenant, or the global head), opening KEKs
/// from `outer` (the global keys) and from the keys it opens, kept in `keys`.
fn audit_range(
    h: &Hierarchy,
    ring: &Keyring,
    range: core::ops::Range<u32>,
    outer: Option<&HashMap<u32, Key256>>,
    keys: &mut HashMap<u32, Key256>,
    include: &(dyn Fn(u32) -> bool + Sync),
) -> Part {
    let mut part = Part::default();
    let mut cache = KekCache::with_roots(ring.root_keks());
    let mut stats = OpenStats::default();
    for n in range.filter(|&n| include(n)) {
        part.keys += 1;
        let fail = |slot: Option<u8>, under: String, fault: Fault| SlotFailure {
            tenant: match h.tenant_of(n) {
                GLOBAL_TENANT => None,
                t => Some(t),
            },
            key: n,
            role: role_name(h, n).to_string(),
            slot,
            under,
            fault,
        };
        if h.is_root(n) {
            match ring.get(n) {
                Some((v, k)) if v == h.version[n as usize] => {
                    keys.insert(n, k.clone());
                }
                Some(_) => part
                    .failures
                    .push(fail(None, String::new(), Fault::RootVersion)),
                None => part
                    .failures
                    .push(fail(None, String::new(), Fault::RootMissing)),
            }
            continue;
        }
        let role = &h.design.roles[usize::from(h.role[n as usize])];
        // (slot position, share x, key) of every slot that opened.
        let mut opened: Vec<(u8, u8, Key256)> = Vec::new();
        let mut slot_faults: Vec<(u8, Fault)> = Vec::new();
        for (p, s) in h.slots_of(n).enumerate() {
            let p = p as u8;
            let layers = h.slot_keks(s);
            let kek_keys: Option<Vec<&Key256>> = layers
                .iter()
                .map(|k| keys.get(k).or_else(|| outer.and_then(|o| o.get(k))))
                .collect();
            let Some(kek_keys) = kek_keys else {
                slot_faults.push((p, Fault::KekUnavailable));
                continue;
            };
            part.slots += 1;
            let under_root = layers.iter().any(|&k| h.is_root(k));
            if under_root {
                part.root_slots_tried += 1;
            }
            match open_slot(h, &mut cache, n, s, &kek_keys, &mut stats) {
                Ok(k) => {
                    if under_root {
                        part.root_slots_opened += 1;
                    }
                    opened.push((p, h.share_of(n, s), k));
                }
                Err(_) => slot_faults.push((p, Fault::DoesNotOpen)),
            }
        }
        let agreement = if role.shares {
            agree_shares(&opened, usize::from(role.threshold))
        } else {
            agree_whole(&opened)
        };
        let fault_of_disagreeing = if role.shares {
            Fault::ShareInconsistent
        } else {
            Fault::Disagrees
        };
        let (key, key_fault) = match agreement {
            Agreement::Key(k, bad) => {
                slot_faults.extend(bad.into_iter().map(|p| (p, fault_of_disagreeing)));
                (Some(k), None)
            }
            Agreement::Ambiguous(all) => {
                slot_faults.extend(all.into_iter().map(|p| (p, fault_of_disagreeing)));
                (None, Some(Fault::Ambiguous))
            }
            // Every slot unchecked: the fault is above, already reported.
            Agreement::Nothing if slot_faults.iter().all(|&(_, f)| f == Fault::KekUnavailable) => {
                (None, None)
            }
            Agreement::Nothing => (None, Some(Fault::Unrecoverable)),
        };
        slot_faults.sort_unstable_by_key(|&(p, _)| p);
        for (p, fault) in slot_faults {
            let s = h.slots_of(n).start + u32::from(p);
            part.failures.push(fail(Some(p), under(h, s), fault));
        }
        if let Some(fault) = key_fault {
            part.failures.push(fail(None, String::new(), fault));
        }
        if let Some(k) = key {
            keys.insert(n, k);
        }
    }
    part
}

/// What the slots of one key agree on.
enum Agreement {
    /// The key, and the slots (positions) that gave another.
    Key(Key256, Vec<u8>),
    /// Different keys and no majority: the slots that opened, all suspect.
    Ambiguous(Vec<u8>),
    /// Too few slots opened to recover the key.
    Nothing,
}

/// The candidate most `votes` agree on, when it is unique.
fn majority<'a>(candidates: impl Iterator<Item = &'a Key256> + Clone) -> Option<&'a Key256> {
    let votes = |k: &Key256| candidates.clone().filter(|o| o.ct_eq(k)).count();
    let mut best: Option<(usize, &Key256)> = None;
    let mut tie = false;
    for k in candidates.clone() {
        let v = votes(k);
        match best {
            Some((bv, bk)) if v == bv && !bk.ct_eq(k) => tie = true,
            Some((bv, _)) if v <= bv => {}
            _ => {
                best = Some((v, k));
                tie = false;
            }
        }
    }
    best.filter(|_| !tie).map(|(_, k)| k)
}

/// The key most slots opened to, and the slots that opened to another.
fn agree_whole(opened: &[(u8, u8, Key256)]) -> Agreement {
    if opened.is_empty() {
        return Agreement::Nothing;
    }
    match majority(opened.iter().map(|(_, _, k)| k)) {
        Some(best) => Agreement::Key(
            best.clone(),
            opened
                .iter()
                .filter(|(_, _, k)| !k.ct_eq(best))
                .map(|(p, _, _)| *p)
                .collect(),
        ),
        None => Agreement::Ambiguous(opened.iter().map(|(p, _, _)| *p).collect()),
    }
}

/// Most share subsets combined per key (a role has a handful of slots).
const MAX_SUBSETS: usize = 4096;

/// Every `k`-subset of `0..n`, in lexicographic order, at most [`MAX_SUBSETS`].
fn subsets(n: usize, k: usize) -> Vec<Vec<usize>> {
    fn rec(start: usize, n: usize, k: usize, cur: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        if out.len() >= MAX_SUBSETS {
            return;
        }
        if cur.len() == k {
            out.push(cur.clone());
            return;
        }
        for i in start..n {
            cur.push(i);
            rec(i + 1, n, k, cur, out);
            cur.pop();
        }
    }
    let mut out = Vec::new();
    rec(0, n, k, &mut Vec::with_capacity(k), &mut out);
    out
}

/// The secret most `threshold`-subsets of the opened shares combine to, and
/// the shares in no subset that gives it. With exactly `threshold` shares
/// nothing can be cross-checked; with one more, a bad share makes every
/// subset disagree (detected, not located: [`Agreement::Ambiguous`]).
fn agree_shares(opened: &[(u8, u8, Key256)], threshold: usize) -> Agreement {
    if threshold == 0 || opened.len() < threshold {
        return Agreement::Nothing;
    }
    let results: Vec<(Vec<usize>, Key256)> = subsets(opened.len(), threshold)
        .into_iter()
        .filter_map(|idx| {
            let refs: Vec<(u8, &Key256)> =
                idx.iter().map(|&i| (opened[i].1, &opened[i].2)).collect();
            shamir::combine(&refs).ok().map(|k| (idx, k))
        })
        .collect();
    let Some(best) = majority(results.iter().map(|(_, k)| k)) else {
        return if results.is_empty() {
            Agreement::Nothing
        } else {
            Agreement::Ambiguous(opened.iter().map(|(p, _, _)| *p).collect())
        };
    };
    let mut good = vec![false; opened.len()];
    for (idx, k) in &results {
        if k.ct_eq(best) {
            for &i in idx {
                good[i] = true;
            }
        }
    }
    let bad = (0..opened.len())
        .filter(|&i| !good[i])
        .map(|i| opened[i].0)
        .collect();
    Agreement::Key(best.clone(), bad)
}

fn role_name(h: &Hierarchy, n: u32) -> &str {
    &h.design.roles[usize::from(h.role[n as usize])].name
}

/// `ck1`, or `ak+ck1` for a nested slot (innermost first).
fn under(h: &Hierarchy, s: u32) -> String {
    h.slot_keks(s)
        .iter()
        .map(|&k| role_name(h, k))
        .collect::<Vec<_>>()
        .join("+")
}
