//! The analytic cost model: what a workload must do, from the graph alone.
//!
//! A [`ChangePlan`] says, for a rotation or a revocation, which roots get a
//! new version, which keys get new material, which share-based keys are
//! re-shared, which stored wraps are redone (and from which layer), and which
//! keys must be opened first. [`ChangePlan::counts`] sums it into the
//! operation counts the executor ([`crate::engine::workload`]) must then perform;
//! tests check that the executor's metered counts equal these for every
//! design, workload and shape.
//!
//! Rules, the same for every design:
//!
//! - A slot of a key whose content changes (new material, or new shares) is
//!   wrapped again through all its layers.
//! - A slot of an unchanged key with a changed KEK at layer `i` (innermost is
//!   0) is peeled: its layers from the outermost down to `i` are unwrapped with
//!   the old KEKs and wrapped again with the current ones (`L − i` unwraps and
//!   `L − i` wraps); the inner layers stay as they are.
//! - A key whose plaintext is needed (to re-share it, or as an unchanged
//!   non-root KEK of a redone wrap, or as the old KEK of a peeled wrap) is
//!   opened once, from the old state, through its first `threshold` slots.

use crate::graph::counts::{Counts, record_len};
use crate::graph::design::RoleId;
use crate::graph::hierarchy::{Hierarchy, NO_KEK};
use crate::graph::reach::reach;
use crate::graph::reach::{Extent, select_keys};

/// One stored wrap to redo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Redo {
    /// The key it holds.
    pub node: u32,
    /// The slot.
    pub slot: u32,
    /// Innermost layer redone (0: all layers).
    pub from_layer: u8,
    /// The content is new (re-keyed or re-shared key): wrap from the secret, unwrap nothing.
    pub fresh: bool,
    /// The KEK of a single-layer slot (the batched path), as a slot index
    /// lists the wraps under each KEK; [`NO_KEK`] for a nested slot (a plain
    /// `u32`, not an `Option`, keeps a plan entry at 16 bytes).
    pub kek: u32,
}

/// What a rotation or revocation must do.
#[derive(Clone, Debug, Default)]
pub struct ChangePlan {
    /// Roots that get a new version.
    pub replaced_roots: Vec<u32>,
    /// Non-root keys that get new material (by node).
    pub rekey: Vec<bool>,
    /// Share-based keys re-shared (by node).
    pub reshare: Vec<bool>,
    /// Stored wraps to redo, in slot order.
    pub redo: Vec<Redo>,
    /// Keys to open from the old state (by node).
    pub open: Vec<bool>,
    /// Keys re-keyed because an attacker can peel the outer layers of one of
    /// their nested slots (the design's protection would otherwise drop to the inner keys).
    pub degraded: Vec<u32>,
}

/// Cost of the cheaper alternative for degraded nested slots: rewrap only.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct RewrapOnly {
    /// Counts of the whole revocation done that way.
    pub counts: Counts,
    /// Leaves that would stay protected by the inner keys alone.
    pub leaves_left_single_key: u64,
}

impl ChangePlan {
    fn empty(h: &Hierarchy) -> ChangePlan {
        let n = h.nodes() as usize;
        ChangePlan {
            rekey: vec![false; n],
            reshare: vec![false; n],
            open: vec![false; n],
            ..Default::default()
        }
    }

    /// Whether node `n`'s material changes (a replaced root or a re-keyed key).
    pub fn changed(&self, h: &Hierarchy, n: u32) -> bool {
        self.rekey[n as usize] || (h.is_root(n) && self.replaced_roots.binary_search(&n).is_ok())
    }

    /// Routine rotation: new versions of the selected roots; every slot under them redone.
    pub fn rotate(h: &Hierarchy, role: RoleId, extent: Extent) -> ChangePlan {
        let below = crate::graph::reach::leaves_below(h);
        let mut p = ChangePlan::empty(h);
        p.replaced_roots = select_keys(h, &below, role, extent);
        p.replaced_roots.sort_unstable();
        p.finish(h);
        p
    }

    /// Compromise of the selected roots: replace them, re-key everything the
    /// attacker reaches and every key whose nested slot it can peel, re-share
    /// keys with leaked shares below threshold.
    pub fn revoke(h: &Hierarchy, role: RoleId, extent: Extent) -> ChangePlan {
        let below = crate::graph::reach::leaves_below(h);
        let mut p = ChangePlan::empty(h);
        p.replaced_roots = select_keys(h, &below, role, extent);
        p.replaced_roots.sort_unstable();
        let held = |n: u32| p.replaced_roots.binary_search(&n).is_ok();
        let r = reach(h, &held);
        for n in 0..h.nodes() {
            if h.is_root(n) {
                continue;
            }
            let role = &h.design.roles[usize::from(h.role[n as usize])];
            if r.open[n as usize] {
                p.rekey[n as usize] = true;
            } else if peelable(h, n, &r.open) {
                p.rekey[n as usize] = true;
                p.degraded.push(n);
            } else if role.shares && r.shares_open[n as usize] > 0 {
                p.reshare[n as usize] = true;
            }
        }
        p.finish(h);
        p
    }

    /// Fills `redo` and `open` from the changed sets.
    fn finish(&mut self, h: &Hierarchy) {
        let mut need: Vec<u32> = Vec::new();
        for n in 0..h.nodes() {
            if h.is_root(n) {
                continue;
            }
            let fresh = self.rekey[n as usize] || self.reshare[n as usize];
            if self.reshare[n as usize] && !self.rekey[n as usize] {
                need.push(n);
            }
            for s in h.slots_of(n) {
                let keks = h.slot_keks(s);
                let from = if fresh {
                    Some(0)
                } else {
                    keks.iter().position(|&k| self.changed(h, k))
                };
                let Some(from) = from else { continue };
                self.redo.push(Redo {
                    node: n,
                    slot: s,
                    from_layer: from as u8,
                    fresh,
                    kek: match keks {
                        [k] => *k,
                        _ => NO_KEK,
                    },
                });
                for &k in &keks[from..] {
                    // unchanged non-root KEKs are needed to wrap; changed non-root KEKs'
                    // old keys are needed to peel (fresh slots peel nothing)
                    if !h.is_root(k) && (!self.changed(h, k) || !fresh) {
                        need.push(k);
                    }
                }
            }
        }
        // Close over what opening needs, walking down the node order.
        need.sort_unstable();
        need.dedup();
        for &n in &need {
            self.open[n as usize] = true;
        }
        for n in (0..h.nodes()).rev() {
            if !self.open[n as usize] {
                continue;
            }
            for s in chosen_slots(h, n) {
                for &k in h.slot_keks(s) {
                    if !h.is_root(k) {
                        self.open[k as usize] = true;
                    }
                }
            }
        }
    }

    /// The operation counts this plan implies.
    pub fn counts(&self, h: &Hierarchy) -> Counts {
        let mut c = Counts {
            roots_replaced: self.replaced_roots.len() as u64,
            ..Counts::default()
        };
        // creating each new root version is one root operation
        c.root_ops += c.roots_replaced;
        for n in 0..h.nodes() {
            if self.open[n as usize] {
                for s in chosen_slots(h, n) {
                    for &k in h.slot_keks(s) {
                        c.unwraps += 1;
                        c.root_ops += u64::from(h.is_root(k));
                    }
                }
            }
            if self.rekey[n as usize] {
                c.keys_rekeyed += 1;
                c.leaves_rekeyed += u64::from(h.is_leaf(n));
            } else if self.reshare[n as usize] {
                c.keys_reshared += 1;
            }
        }
        for r in &self.redo {
            let keks = h.slot_keks(r.slot);
            for &k in &keks[usize::from(r.from_layer)..] {
                let root = u64::from(h.is_root(k));
                c.wraps += 1;
                c.root_ops += root;
                if !r.fresh {
                    c.unwraps += 1;
                    c.root_ops += root;
                }
            }
            c.wraps_rewritten += 1;
            c.bytes_rewritten += record_len(h, r.slot) as u64;
        }
        c
    }

    /// The rewrap-only alternative for degraded nested slots: instead of
    /// re-keying those keys, peel and rewrap their slots under the new outer key.
    pub fn rewrap_only(&self, h: &Hierarchy) -> Option<RewrapOnly> {
        if self.degraded.is_empty() {
            return None;
        }
        let mut alt = self.clone();
        let below = crate::graph::reach::leaves_below(h);
        let mut single = 0u64;
        for &n in &self.degraded {
            alt.rekey[n as usize] = false;
            single += below[n as usize];
        }
        alt.degraded.clear();
        alt.redo.clear();
        alt.open.iter_mut().for_each(|o| *o = false);
        alt.finish(h);
        Some(RewrapOnly {
            counts: alt.counts(h),
            leaves_left_single_key: single,
        })
    }
}

/// The slots the owner opens node `n` through when every root is available:
/// the first `threshold` slots.
pub fn chosen_slots(h: &Hierarchy, n: u32) -> core::ops::Range<u32> {
    let role = &h.design.roles[usize::from(h.role[n as usize])];
    let r = h.slots_of(n);
    r.start..r.start + u32::from(role.threshold).min(r.end - r.start)
}

/// Whether an attacker holding the `open` keys can peel the outer layers of a
/// nested slot of `n` (but not all of them).
fn peelable(h: &Hierarchy, n: u32, open: &[bool]) -> bool {
    h.slots_of(n).any(|s| {
        let keks = h.slot_keks(s);
        keks.len() >= 2
            && open[keks[keks.len() - 1] as usize]
            && !keks.iter().all(|&k| open[k as usize])
    })
}

/// Analytic counts of `unwrap-all`: every non-root key opened once through
/// its chosen slots (cached), or every leaf's whole path opened again (cold).
pub fn unwrap_all_counts(h: &Hierarchy, cold: bool) -> Counts {
    let mut c = Counts::default();
    if !cold {
        for n in 0..h.nodes() {
            if !h.is_root(n) {
                add_open(h, n, &mut c);
            }
        }
        return c;
    }
    // Cold: per leaf, the distinct keys on its path, each opened once for that leaf.
    let mut seen = Vec::new();
    for g in 0..h.groups() {
        for leaf in h.group_leaf_range(g) {
            seen.clear();
            path_cost(h, leaf, &mut seen, &mut c);
        }
    }
    c
}

fn add_open(h: &Hierarchy, n: u32, c: &mut Counts) {
    for s in chosen_slots(h, n) {
        for &k in h.slot_keks(s) {
            c.unwraps += 1;
            c.root_ops += u64::from(h.is_root(k));
        }
    }
}

fn path_cost(h: &Hierarchy, n: u32, seen: &mut Vec<u32>, c: &mut Counts) {
    if h.is_root(n) || seen.contains(&n) {
        return;
    }
    seen.push(n);
    for s in chosen_slots(h, n) {
        for &k in h.slot_keks(s) {
            path_cost(h, k, seen, c);
        }
    }
    add_open(h, n, c);
}

/// Analytic counts of `provision`: every layer of every slot wrapped once.
pub fn provision_counts(h: &Hierarchy) -> Counts {
    let mut c = Counts::default();
    for n in 0..h.nodes() {
        if h.is_root(n) {
            c.root_ops += 1; // creating the root key
            continue;
        }
        c.keys_rekeyed += 1;
        c.leaves_rekeyed += u64::from(h.is_leaf(n));
        for s in h.slots_of(n) {
            for &k in h.slot_keks(s) {
                c.wraps += 1;
                c.root_ops += u64::from(h.is_root(k));
            }
            c.wraps_rewritten += 1;
            c.bytes_rewritten += record_len(h, s) as u64;
        }
    }
    c
}
