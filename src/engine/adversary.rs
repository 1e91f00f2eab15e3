//! The attacker who keeps everything: every key it ever learned, by node and
//! version, and every copy of the store it ever took. What it recovers is
//! the fixed point of opening every stored wrap of every copy with everything
//! it knows, shares combined across copies of the same polynomial.
//!
//! A copy ([`Snapshot`]) needs no payload bytes: the structure (which slots a
//! key has, under which keys) never changes, and a copy is fully described by
//! the version of every key and the share generation of every share-based
//! key at the time it was taken. Slot `s` of key `n` in copy `c` holds key
//! `(n, c.version[n])` (or its share `x` of polynomial `(n, version,
//! share generation)`) wrapped under `(k, c.version[k])` at every layer `k`;
//! the attacker opens it exactly when it knows every one of those layer keys.
//! Opening layer by layer, across copies, gains nothing beyond that: an inner
//! layer left as it was by a later rewrap is the same bytes, under the same
//! key versions, in both copies.
//!
//! This is crypto-free on purpose (it scales to every preset and is fast
//! enough to try every further compromise), and it never reads a plan: it
//! reads the versions the executor actually left in the hierarchy and the
//! keyring. The workloads' crypto-level checks (every stored wrap of the new
//! state tried under every leaked key) and the fuzz model's really-unwrapping
//! attacker stand beside it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use rayon::prelude::*;

use crate::graph::design::RoleId;
use crate::graph::hierarchy::Hierarchy;
use crate::graph::reach::{Extent, leaves_below, select_keys};
use crate::store::keyring::Keyring;

/// A copy of the store: the version of every key and the share generation
/// of every re-shared key when it was taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// Version of each node.
    pub version: Vec<u32>,
    /// Share generations (absent: 0).
    pub share_gen: std::collections::BTreeMap<u32, u32>,
}

impl Snapshot {
    /// The store of `h` as it is now.
    pub fn of(h: &Hierarchy) -> Snapshot {
        Snapshot {
            version: h.version.clone(),
            share_gen: h.share_gen.clone(),
        }
    }

    /// The store `plan` would leave behind `h` (the executor's rules: a
    /// re-keyed key and a replaced root get the next version; a re-shared
    /// key the next share generation).
    pub fn after_plan(h: &Hierarchy, plan: &crate::engine::plan::ChangePlan) -> Snapshot {
        let mut s = Snapshot::of(h);
        for n in 0..h.nodes() as usize {
            if plan.rekey[n] {
                s.version[n] += 1;
            } else if plan.reshare[n] {
                *s.share_gen.entry(n as u32).or_insert(0) += 1;
            }
        }
        for &r in &plan.replaced_roots {
            s.version[r as usize] += 1;
        }
        s
    }

    fn share_gen_of(&self, n: u32) -> u32 {
        self.share_gen.get(&n).copied().unwrap_or(0)
    }
}

fn id(n: u32, v: u32) -> u64 {
    (u64::from(n) << 32) | u64::from(v)
}

/// A hasher for key ids (node and version packed in a `u64`, all distinct):
/// one multiply (Fibonacci hashing) instead of SipHash, which dominated the
/// closures of a large hierarchy. Ids are not attacker-chosen here.
#[derive(Clone, Copy, Debug, Default)]
struct IdHasher(u64);

impl core::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = (x ^ (x >> 29)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

type IdSet = HashSet<u64, core::hash::BuildHasherDefault<IdHasher>>;

/// What the attacker holds.
#[derive(Clone, Debug, Default)]
pub struct Adversary {
    keys: IdSet,
    copies: Vec<Arc<Snapshot>>,
}

/// What an attacker's knowledge exposes, measured against a current state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Exposure {
    /// Leaves whose current key it knows: data still encrypted under a key it holds.
    pub current_leaves: u64,
    /// Leaves of which it ever knew some version's key: data readable at some time.
    pub ever_leaves: u64,
    /// Leaf keys (node and version) it knows.
    pub leaf_keys: u64,
}

impl Adversary {
    /// An attacker who knows nothing.
    pub fn new() -> Adversary {
        Adversary::default()
    }

    /// Learns the key `(node, version)`.
    pub fn learn(&mut self, node: u32, version: u32) {
        self.keys.insert(id(node, version));
    }

    /// Whether it knows `(node, version)`.
    pub fn knows(&self, node: u32, version: u32) -> bool {
        self.keys.contains(&id(node, version))
    }

    /// Takes a copy of the store.
    pub fn take_copy(&mut self, copy: Snapshot) {
        if self.copies.last().is_some_and(|c| **c == copy) {
            return;
        }
        self.copies.push(Arc::new(copy));
    }

    /// Copies of the store it holds.
    pub fn copies(&self) -> usize {
        self.copies.len()
    }

    /// Keys it knows.
    pub fn keys_known(&self) -> usize {
        self.keys.len()
    }

    /// Learns the current version of each of `roots` (a leak of those keys),
    /// copies the store, and opens what it can.
    pub fn leak(&mut self, h: &Hierarchy, roots: &[u32]) {
        for &r in roots {
            self.learn(r, h.version[r as usize]);
        }
        self.take_copy(Snapshot::of(h));
        self.close(h);
    }

    /// Opens everything it can: one pass over the keys in generation order
    /// suffices, since every key's wrapping keys come before it, and all its
    /// copies are opened at once, so that shares of one polynomial found in
    /// different copies combine.
    pub fn close(&mut self, h: &Hierarchy) {
        if self.copies.is_empty() {
            return;
        }
        let mut shares: HashMap<(u32, u32), Vec<u8>> = HashMap::new();
        // Per copy, the last single KEK asked about and the answer: the leaves
        // of a group share one KEK, so a group costs one lookup per copy, not
        // one per leaf. (A KEK's knowledge is final once the pass is past it.)
        let mut last: Vec<(u32, bool)> = vec![(u32::MAX, false); self.copies.len()];
        for n in 0..h.nodes() {
            if h.is_root(n) {
                continue;
            }
            let role = &h.design.roles[usize::from(h.role[n as usize])];
            if role.shares {
                shares.clear();
            }
            let single = h.single_first_slot(n).filter(|_| h.slots_of(n).len() == 1);
            for (ci, c) in self.copies.iter().enumerate() {
                let v = c.version[n as usize];
                if let Some(k) = single {
                    let (lk, known) = last[ci];
                    let known = if lk == k {
                        known
                    } else {
                        let known = self.keys.contains(&id(k, c.version[k as usize]));
                        last[ci] = (k, known);
                        known
                    };
                    if known && !role.shares {
                        self.keys.insert(id(n, v));
                        continue;
                    }
                    if !known {
                        continue;
                    }
                }
                if self.keys.contains(&id(n, v)) {
                    continue;
                }
                for s in h.slots_of(n) {
                    let opens = h
                        .slot_keks(s)
                        .iter()
                        .all(|&k| self.keys.contains(&id(k, c.version[k as usize])));
                    if !opens {
                        continue;
                    }
                    if !role.shares {
                        self.keys.insert(id(n, v));
                        break;
                    }
                    let xs = shares.entry((v, c.share_gen_of(n))).or_default();
                    let x = h.share_of(n, s);
                    if !xs.contains(&x) {
                        xs.push(x);
                    }
                }
            }
            if role.shares {
                for (&(v, _), xs) in &shares {
                    if xs.len() >= usize::from(role.threshold) {
                        self.keys.insert(id(n, v));
                    }
                }
            }
        }
    }

    /// What it knows, against the current versions of `h`.
    pub fn exposure(&self, h: &Hierarchy) -> Exposure {
        self.exposure_at(h, &h.version)
    }

    /// What it knows, against the versions `now` (one per node of `h`).
    pub fn exposure_at(&self, h: &Hierarchy, now: &[u32]) -> Exposure {
        let mut e = Exposure::default();
        if self.keys.is_empty() {
            return e;
        }
        let mut versions: HashMap<u32, u32> = HashMap::new();
        for &k in &self.keys {
            let n = (k >> 32) as u32;
            if n < h.nodes() && h.is_leaf(n) {
                e.leaf_keys += 1;
                *versions.entry(n).or_default() += 1;
            }
        }
        e.ever_leaves = versions.len() as u64;
        e.current_leaves = versions
            .keys()
            .filter(|&&n| self.knows(n, now[n as usize]))
            .count() as u64;
        e
    }

    /// Leaves of `h` whose key at the versions `now` it knows.
    fn current_leaf_set(&self, h: &Hierarchy, now: &[u32]) -> IdSet {
        self.keys
            .iter()
            .map(|&k| ((k >> 32) as u32, k as u32))
            .filter(|&(n, v)| n < h.nodes() && h.is_leaf(n) && now[n as usize] == v)
            .map(|(n, _)| u64::from(n))
            .collect()
    }
}

/// One more compromise tried against the attacker's knowledge.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Compromise {
    /// The root role that leaks (`none`: no further compromise).
    pub role: String,
    /// Its extent.
    pub extent: Option<Extent>,
    /// Root versions that leak: `current` or `current+retained`.
    pub versions: &'static str,
    /// Current leaves the attacker then knows.
    pub with_history: u64,
    /// Current leaves that compromise alone gives a fresh attacker from the current store.
    pub alone: u64,
    /// Leaves the first exposes that the second does not: must be 0.
    pub beyond: u64,
}

/// The one-more-compromise check: for every root role, at every extent, its
/// current version alone and with every retained version, the attacker
/// (with all its keys and copies) plus that compromise must recover no
/// current leaf key beyond what that compromise alone recovers from the
/// current store; and with no further compromise, none at all.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct OneMore {
    /// Whether it holds.
    pub holds: bool,
    /// Compromises tried.
    pub tried: u32,
    /// The compromise that breaks it the most (or the widest tried, when it holds).
    pub worst: Option<Compromise>,
    /// Seconds the check took (set by the caller that times it).
    pub seconds: f64,
    /// Seconds weighing every remedy took, before the run (set by the caller).
    pub remedies_seconds: f64,
}

/// Runs the one-more-compromise check of `adv` against the state `h`, `ring`.
pub fn one_more(h: &Hierarchy, ring: &Keyring, adv: &Adversary) -> OneMore {
    let retained = |r: u32| ring.retained_of(r).map(|(v, _)| v).collect();
    one_more_at(h, &Snapshot::of(h), &retained, adv)
}

/// The check against the store `now` (of `h`'s structure) with the retained
/// root versions `retained(root)`: for a state that exists, or one a plan
/// would leave (to weigh remedies before running one).
pub fn one_more_at(
    h: &Hierarchy,
    now: &Snapshot,
    retained: &(dyn Fn(u32) -> Vec<u32> + Sync),
    adv: &Adversary,
) -> OneMore {
    let mut out = OneMore {
        holds: true,
        ..OneMore::default()
    };
    let consider = |c: Compromise, out: &mut OneMore| {
        out.tried += 1;
        if c.beyond > 0 {
            out.holds = false;
        }
        let better = match &out.worst {
            None => true,
            Some(w) => (c.beyond, c.with_history) > (w.beyond, w.with_history),
        };
        if better {
            out.worst = Some(c);
        }
    };
    let base = adv.current_leaf_set(h, &now.version);
    consider(
        Compromise {
            role: "none".into(),
            extent: None,
            versions: "current",
            with_history: base.len() as u64,
            alone: 0,
            beyond: base.len() as u64,
        },
        &mut out,
    );
    let retained_of = retained;
    let below = leaves_below(h);
    let mut cases: Vec<(RoleId, Extent, bool)> = Vec::new();
    for role in h.design.root_roles() {
        for extent in Extent::ALL {
            for retained in [false, true] {
                cases.push((role, extent, retained));
            }
        }
    }
    // Each compromise is a closure of its own, on its own thread.
    let tried: Vec<Option<Compromise>> = cases
        .into_par_iter()
        .map(|(role, extent, retained)| {
            let roots = select_keys(h, &below, role, extent);
            {
                let mut fresh = Adversary::new();
                for &r in &roots {
                    fresh.learn(r, now.version[r as usize]);
                    if retained {
                        for v in retained_of(r) {
                            fresh.learn(r, v);
                        }
                    }
                }
                if retained && fresh.keys.len() == roots.len() {
                    return None; // nothing retained: the same as the current versions alone
                }
                let leaf_keys = fresh.keys.clone();
                fresh.take_copy(now.clone());
                fresh.close(h);
                let b = fresh.current_leaf_set(h, &now.version);
                if b.len() as u64 == h.leaves() {
                    // that compromise alone opens every leaf: nothing can lie beyond it
                    return Some(Compromise {
                        role: h.design.roles[usize::from(role)].name.clone(),
                        extent: Some(extent),
                        versions: if retained {
                            "current+retained"
                        } else {
                            "current"
                        },
                        with_history: b.len() as u64,
                        alone: b.len() as u64,
                        beyond: 0,
                    });
                }
                let mut with = adv.clone();
                with.keys.extend(leaf_keys);
                with.take_copy(now.clone());
                with.close(h);
                let a = with.current_leaf_set(h, &now.version);
                Some(Compromise {
                    role: h.design.roles[usize::from(role)].name.clone(),
                    extent: Some(extent),
                    versions: if retained {
                        "current+retained"
                    } else {
                        "current"
                    },
                    with_history: a.len() as u64,
                    alone: b.len() as u64,
                    beyond: a.difference(&b).count() as u64,
                })
            }
        })
        .collect();
    for c in tried.into_iter().flatten() {
        consider(c, &mut out);
    }
    out
}

impl OneMore {
    /// One line for a report.
    pub fn summary(&self) -> String {
        match (&self.worst, self.holds) {
            (_, true) => format!(
                "one more compromise undoes nothing: {} compromises tried (every root role at every extent, current and retained versions)",
                self.tried
            ),
            (Some(w), false) => format!(
                "one more compromise undoes it: the attacker's copies plus {} {} ({}) expose {} current leaves, {} beyond the {} that compromise alone exposes",
                w.role,
                w.extent.map_or("-", Extent::name),
                w.versions,
                w.with_history,
                w.beyond,
                w.alone
            ),
            (None, false) => "one more compromise undoes it".into(),
        }
    }
}
