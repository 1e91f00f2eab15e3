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

/// How a revocation treats the keys an attacker learned something about but
/// cannot open: a share below the threshold (threshold), or the outer layer
/// of a nested slot (dke). Keys it can open are always re-keyed, with
/// everything below them; where no key is affected, every remedy is the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Remedy {
    /// Re-share the key (a new polynomial) or rewrap its nested slots under
    /// the new outer key; nothing else.
    Partial,
    /// Re-key those keys alone (new material, every slot wrapped again),
    /// the keys below them left as they are.
    RekeyKey,
    /// Re-share or rewrap, and rotate every other root above those keys,
    /// their old versions destroyed.
    Rotate,
    /// Re-key those keys and every key below them.
    Rekey,
}

/// What a remedy is, as data: its name, what it does and what it demands
/// of the operator.
#[derive(Clone, Copy, Debug)]
pub struct RemedyInfo {
    /// The remedy.
    pub id: Remedy,
    /// Its name on the command line and in reports.
    pub name: &'static str,
    /// Other names it is known by (`--remedy reshare-only`).
    pub aliases: &'static [&'static str],
    /// What it does.
    pub summary: &'static str,
    /// What it demands of the operator for its answer to hold.
    pub demands: &'static str,
}

/// Every remedy, the default ([`Remedy::Rotate`]) first among the sufficient ones.
pub const REMEDIES: [RemedyInfo; 4] = [
    RemedyInfo {
        id: Remedy::Rotate,
        name: "rotate",
        aliases: &["rotate-others"],
        summary: "re-share (or rewrap both layers) and rotate every other root above the affected keys, old versions destroyed",
        demands: "the old versions of the other roots are really destroyed, not retained: Azure Key Vault cannot delete one key version and keeps deleted keys 7 to 90 days under purge protection, so there it means a new key (not a new version) and the old key purged",
    },
    RemedyInfo {
        id: Remedy::Rekey,
        name: "rekey",
        aliases: &["rekey-below"],
        summary: "re-key the affected keys and every key below them (every leaf under them: its data re-encrypted)",
        demands: "every leaf's data re-encrypted under its new key, and the old ciphertexts deleted",
    },
    RemedyInfo {
        id: Remedy::Partial,
        name: "partial",
        aliases: &["reshare-only", "rewrap-only"],
        summary: "re-share the affected keys (a new polynomial) or rewrap their nested slots under the new outer key, nothing else",
        demands: "nothing more: and it does not hold against an attacker who kept a copy of the store",
    },
    RemedyInfo {
        id: Remedy::RekeyKey,
        name: "rekey-key",
        aliases: &["rekey-dep"],
        summary: "re-key the affected keys alone (new material), the keys below them only rewrapped",
        demands: "nothing more: and it does not hold against an attacker who kept a copy of the store (the old key opens the old wraps of keys below it)",
    },
];

impl Remedy {
    /// Its entry in [`REMEDIES`].
    pub fn info(self) -> &'static RemedyInfo {
        REMEDIES
            .iter()
            .find(|r| r.id == self)
            .unwrap_or(&REMEDIES[0])
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// Parses a name or alias.
    pub fn from_name(s: &str) -> Option<Remedy> {
        REMEDIES
            .iter()
            .find(|r| r.name == s || r.aliases.contains(&s))
            .map(|r| r.id)
    }
}

impl Default for Remedy {
    fn default() -> Self {
        REMEDIES[0].id
    }
}

/// What a rotation or revocation must do.
#[derive(Clone, Debug, Default)]
pub struct ChangePlan {
    /// Roots that get a new version.
    pub replaced_roots: Vec<u32>,
    /// Of those, the ones that leaked (revocations; sorted): the others are
    /// rotated by the remedy.
    pub leaked: Vec<u32>,
    /// Non-root keys that get new material (by node).
    pub rekey: Vec<bool>,
    /// Share-based keys re-shared (by node).
    pub reshare: Vec<bool>,
    /// Stored wraps to redo, in slot order.
    pub redo: Vec<Redo>,
    /// Keys to open from the old state (by node).
    pub open: Vec<bool>,
    /// Keys the attacker learned something about but cannot open (a share,
    /// an outer layer), which the remedy treated.
    pub affected: Vec<u32>,
    /// The remedy (revocations).
    pub remedy: Option<Remedy>,
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

    /// Compromise of the selected roots with the default remedy.
    pub fn revoke(h: &Hierarchy, role: RoleId, extent: Extent) -> ChangePlan {
        ChangePlan::revoke_with(h, role, extent, Remedy::default())
    }

    /// Compromise of the selected roots: replace them, re-key everything the
    /// attacker reaches, and treat the keys it learned something about (a
    /// leaked share, a peelable nested slot) as `remedy` says.
    pub fn revoke_with(h: &Hierarchy, role: RoleId, extent: Extent, remedy: Remedy) -> ChangePlan {
        let below = crate::graph::reach::leaves_below(h);
        let leaked = select_keys(h, &below, role, extent);
        ChangePlan::revoke_roots(h, leaked, remedy)
    }

    /// Compromise of the roots `leaked` (any order), treated with `remedy`.
    pub fn revoke_roots(h: &Hierarchy, mut leaked: Vec<u32>, remedy: Remedy) -> ChangePlan {
        let mut p = ChangePlan::empty(h);
        leaked.sort_unstable();
        leaked.dedup();
        p.replaced_roots = leaked.clone();
        p.leaked = leaked;
        p.remedy = Some(remedy);
        let held = |n: u32| p.replaced_roots.binary_search(&n).is_ok();
        let r = reach(h, &held);
        for n in 0..h.nodes() {
            if h.is_root(n) {
                continue;
            }
            let role = &h.design.roles[usize::from(h.role[n as usize])];
            if r.open[n as usize] {
                p.rekey[n as usize] = true;
            } else if partly_known(h, n, &r.open) || (role.shares && r.shares_open[n as usize] > 0)
            {
                p.affected.push(n);
            }
        }
        let mut others: Vec<u32> = Vec::new();
        for &n in &p.affected {
            let shares = h.design.roles[usize::from(h.role[n as usize])].shares;
            match remedy {
                Remedy::Partial => p.reshare[n as usize] = shares,
                Remedy::RekeyKey | Remedy::Rekey => p.rekey[n as usize] = true,
                Remedy::Rotate => {
                    p.reshare[n as usize] = shares;
                    for s in h.slots_of(n) {
                        others.extend(h.slot_keks(s).iter().filter(|&&k| h.is_root(k)));
                    }
                }
            }
        }
        if remedy == Remedy::Rekey && !p.affected.is_empty() {
            // everything below a re-keyed key, in generation order
            for n in 0..h.nodes() {
                if h.is_root(n) || p.rekey[n as usize] {
                    continue;
                }
                let below_rekeyed = h.slots_of(n).any(|s| {
                    h.slot_keks(s)
                        .iter()
                        .any(|&k| !h.is_root(k) && p.rekey[k as usize])
                });
                p.rekey[n as usize] = below_rekeyed;
            }
        }
        if !others.is_empty() {
            p.replaced_roots.extend(others);
            p.replaced_roots.sort_unstable();
            p.replaced_roots.dedup();
        }
        p.finish(h);
        p
    }

    /// A new DEP for `tenant`: new versions of the tenant's customer roots
    /// (the new DEP's keys; the old versions are retained, as in a rotation),
    /// new material for the tenant's keys a new DEP rolls
    /// ([`Design::rolled_on_new_dep`](crate::graph::design::Design::rolled_on_new_dep)),
    /// and every wrap under them redone.
    pub fn new_dep(h: &Hierarchy, tenant: u32) -> ChangePlan {
        let mut p = ChangePlan::empty(h);
        let rolled = h.design.rolled_on_new_dep();
        let range = h.tenant_node_start[tenant as usize]..h.tenant_node_start[tenant as usize + 1];
        let customer = |n: u32| {
            h.is_root(n)
                && h.design.roles[usize::from(h.role[n as usize])].owner
                    == crate::graph::design::Owner::Customer
        };
        p.replaced_roots = range.clone().filter(|&n| customer(n)).collect();
        for n in range {
            if rolled.contains(&h.role[n as usize]) {
                p.rekey[n as usize] = true;
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
}

/// The slots the owner opens node `n` through when every root is available:
/// the first `threshold` slots.
pub fn chosen_slots(h: &Hierarchy, n: u32) -> core::ops::Range<u32> {
    let role = &h.design.roles[usize::from(h.role[n as usize])];
    let r = h.slots_of(n);
    r.start..r.start + u32::from(role.threshold).min(r.end - r.start)
}

/// Whether an attacker holding the `open` keys holds some layer's key of a
/// nested slot of `n` (but not all of them): the outer one lets it peel
/// that layer now; an inner one opens the slot as soon as it also gets the
/// outer one (from a copy of the store it kept, the old outer version opens
/// the old wrap).
fn partly_known(h: &Hierarchy, n: u32, open: &[bool]) -> bool {
    h.slots_of(n).any(|s| {
        let keks = h.slot_keks(s);
        keks.len() >= 2
            && keks.iter().any(|&k| open[k as usize])
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
