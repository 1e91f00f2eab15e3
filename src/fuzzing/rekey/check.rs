//! The checks every step of `rekey_model` ends with (the numbered list of
//! the module docs): the keyring, the structure and the file agree with the
//! model (4); every subset of the live roots a tenant's leaves depend on opens
//! exactly what the promise says, to the model's keys (1); a shredded tenant's
//! leaves open only through a global root (3); leaked and retired values open
//! nothing (2). They change nothing but the report.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::crypto::scheme::GLOBAL_TENANT;
use crate::crypto::secret::Key256;
use crate::crypto::shamir;
use crate::engine::recover::{CacheMode, recover_leaves};
use crate::engine::workload::State;
use crate::error::Error;
use crate::graph::hierarchy::Hierarchy;
use crate::store::hfile;
use crate::store::keyring::Keyring;

use super::attacker::kek;
use super::model::Model;

impl Model {
    /// Every check of the module docs, on the current state.
    pub(super) fn check_state(&mut self, st: &State) {
        self.check_ring_and_file(st);
        let all_live = self.check_every_subset(st);
        self.check_shredded(&all_live);
        let attempts = self.check_hostile_wraps(st) + self.check_hostile_shares(st);
        self.report.hostile_attempts += attempts;
    }

    /// (4) The keyring holds exactly the live roots at the model's versions
    /// and keys; the hierarchy passes its check and round-trips through its file.
    fn check_ring_and_file(&self, st: &State) {
        let h = &st.h;
        for r in &self.roots {
            let o = self.owner_root(r.node);
            match (o.and_then(|o| o.key.as_ref()), st.ring.get(r.node)) {
                (Some(k), Some((v, got))) => {
                    let version = o.map_or(0, |o| o.version);
                    assert!(
                        v == version && got.ct_eq(k),
                        "root {}: the keyring holds version {v}, the model version {version} (or other key bytes)",
                        r.node
                    );
                    assert_eq!(
                        h.version.get(r.node as usize),
                        Some(&version),
                        "root {}: the hierarchy names another version than the keyring",
                        r.node
                    );
                }
                (None, None) => {}
                (Some(_), None) => panic!("root {} vanished from the keyring", r.node),
                (None, Some(_)) => panic!("destroyed root {} is back in the keyring", r.node),
            }
            // retired versions: retained by a rotation, destroyed by a revocation
            let kept: Vec<&Key256> = st.ring.retained_of(r.node).map(|(_, k)| k).collect();
            let want = self.retired.get(&r.node).map_or(&[][..], Vec::as_slice);
            assert!(
                kept.len() == want.len() && want.iter().all(|w| kept.iter().any(|k| k.ct_eq(w))),
                "root {}: the keyring retains {} old versions, the model {}",
                r.node,
                kept.len(),
                want.len()
            );
        }
        assert_eq!(
            st.ring.len(),
            self.live_roots().len(),
            "the keyring holds other keys than the live roots"
        );
        if let Err(e) = h.check() {
            panic!("the hierarchy fails its check: {e}");
        }
        match hfile::encode(h).and_then(|b| hfile::decode(&b)) {
            Ok(back) => assert!(
                back == *h,
                "the hierarchy does not round-trip through its file"
            ),
            Err(e) => panic!("the hierarchy does not round-trip through its file: {e}"),
        }
    }

    /// (1) Every subset of the roots each tenant's leaves depend on (cached),
    /// and all live roots (cold); returns what all live roots opened.
    fn check_every_subset(&mut self, st: &State) -> BTreeMap<u32, Key256> {
        let globals: Vec<u32> = self
            .roots
            .iter()
            .filter(|r| r.tenant == GLOBAL_TENANT && self.live(r.node))
            .map(|r| r.node)
            .collect();
        let mut own: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        for r in self.roots.iter().filter(|r| r.tenant != GLOBAL_TENANT) {
            if self.live(r.node) {
                own.entry(r.tenant).or_default().push(r.node);
            }
        }
        let width = globals.len() + own.values().map(Vec::len).max().unwrap_or(0);
        for mask in 0u32..(1 << width) {
            let avail = |n: u32| subset_holds(mask, &globals, &own, n);
            let what = || format!("roots {mask:#b} of globals {globals:?}, own {own:?}");
            self.check_recovery(st, &avail, CacheMode::Cached, &what);
            self.report.subsets += 1;
        }
        self.check_recovery(st, &|n| self.live(n), CacheMode::Cold, &|| {
            "every live root, cold,".into()
        })
    }

    /// (3) A shredded tenant's leaves open, from every live root (`all_live`),
    /// only through a global root that reaches them.
    fn check_shredded(&self, all_live: &BTreeMap<u32, Key256>) {
        for leaf in self
            .leaves
            .iter()
            .filter(|l| self.shredded.contains(&l.tenant))
        {
            let global = |n: u32| {
                self.live(n)
                    && self
                        .roots
                        .iter()
                        .any(|r| r.node == n && r.tenant == GLOBAL_TENANT)
            };
            assert_eq!(
                all_live.contains_key(&leaf.node),
                self.promise(&global, leaf),
                "leaf {} of shredded tenant {}: recovered {} from the remaining roots",
                leaf.node,
                leaf.tenant,
                all_live.contains_key(&leaf.node)
            );
        }
    }

    /// Recovers every leaf from the roots `avail` admits and checks each
    /// against the promise and the model's key; returns what opened.
    fn check_recovery(
        &self,
        st: &State,
        avail: &(dyn Fn(u32) -> bool + Sync),
        mode: CacheMode,
        what: &dyn Fn() -> String,
    ) -> BTreeMap<u32, Key256> {
        let got = recovered(&st.h, &st.ring, avail, mode);
        for leaf in &self.leaves {
            match (got.get(&leaf.node), self.promise(avail, leaf)) {
                (Some(k), true) => assert!(
                    self.expected.get(&leaf.node).is_some_and(|e| e.ct_eq(k)),
                    "{} open leaf {} to a key other than the model's",
                    what(),
                    leaf.node
                ),
                (None, false) => {}
                (Some(_), false) => panic!(
                    "{} open leaf {}; the design's promise says they cannot",
                    what(),
                    leaf.node
                ),
                (None, true) => panic!(
                    "{} do not open leaf {}; the design's promise says they do",
                    what(),
                    leaf.node
                ),
            }
        }
        assert!(
            got.keys().all(|&n| self.leaves.iter().any(|l| l.node == n)),
            "recover_leaves handed out a key that is not a leaf's"
        );
        got
    }

    /// (2) No stored wrap opens under a leaked or retired value of its KEK, at
    /// its outermost layer or (peeled with the owner's keys) an inner one; no
    /// current key is known to the attacker. Returns the unwraps tried.
    fn check_hostile_wraps(&self, st: &State) -> u64 {
        let h = &st.h;
        let mut out = [0u8; 256];
        let mut attempts = 0u64;
        for n in 0..h.nodes() {
            if h.is_root(n) {
                continue;
            }
            if let Some(current) = self.owner_key(st, n)
                && !self.tainted
            {
                assert!(
                    !self.leaked.knows(n, &current),
                    "the attacker knows the current key of {} {n}",
                    if h.is_leaf(n) { "leaf" } else { "key" }
                );
            }
            for s in h.slots_of(n) {
                attempts += self.check_hostile_slot(st, n, s, &mut out);
            }
        }
        out.fill(0);
        attempts
    }

    /// The layers of slot `s` of `n` under every leaked or retired value of
    /// their KEK, outermost first, each peeled with the owner's key to reach
    /// the next; returns the unwraps tried.
    fn check_hostile_slot(&self, st: &State, n: u32, s: u32, out: &mut [u8; 256]) -> u64 {
        let h = &st.h;
        let mut attempts = 0u64;
        let keks = h.slot_keks(s);
        let mut cur = h.slot_payload(s).to_vec();
        for layer in (0..keks.len()).rev() {
            let Some(&k) = keks.get(layer) else { break };
            let ctx = h.context(n, s, layer);
            // After an insufficient remedy the attacker may rightly hold
            // current keys: only the retired values are still tried.
            let leaked = if self.tainted {
                None
            } else {
                self.leaked.keys.get(&k)
            };
            let hostile = leaked
                .into_iter()
                .flatten()
                .chain(self.retired.get(&k).into_iter().flatten());
            for v in hostile {
                attempts += 1;
                match kek(h, v).unwrap(&cur, &ctx, out) {
                    Ok(_) => panic!(
                        "slot {s} of {n} opens at layer {layer} under a leaked or retired key of {k}"
                    ),
                    Err(Error::UnwrapFailed) => {}
                    Err(e) => panic!("an unwrap with a 32-byte key failed with {e}"),
                }
            }
            if layer == 0 {
                break;
            }
            // Peel this layer with the owner's key to try the next one in.
            let Some(own) = self.owner_key(st, k) else {
                break;
            };
            match kek(h, &own).unwrap(&cur, &ctx, out) {
                Ok(len) => cur = out.get(..len).unwrap_or_default().to_vec(),
                Err(e) => panic!(
                    "slot {s} of {n}: the owner's key of {k} does not open layer {layer}: {e}"
                ),
            }
        }
        attempts
    }

    /// (2) A leaked share with current shares of the other indices does not
    /// give the key's current value. Returns the combinations tried.
    fn check_hostile_shares(&self, st: &State) -> u64 {
        let h = &st.h;
        let mut attempts = 0u64;
        if self.tainted {
            return 0;
        }
        for (&n, shares) in &self.leaked.shares {
            let Some(current) = self.owner_key(st, n) else {
                continue;
            };
            let threshold = h
                .design
                .roles
                .get(usize::from(h.role[n as usize]))
                .map_or(1, |r| usize::from(r.threshold));
            for (x, old) in shares {
                let others: Vec<(u8, Key256)> = h
                    .slots_of(n)
                    .filter(|&s| h.share_of(n, s) != *x)
                    .filter_map(|s| Some((h.share_of(n, s), self.owner_open(st, n, s)?)))
                    .take(threshold.saturating_sub(1))
                    .collect();
                if others.len() + 1 < threshold {
                    continue;
                }
                let mut refs: Vec<(u8, &Key256)> = vec![(*x, old)];
                refs.extend(others.iter().map(|(y, k)| (*y, k)));
                attempts += 1;
                match shamir::combine(&refs) {
                    Ok(k) => assert!(
                        !k.ct_eq(&current),
                        "a leaked share {x} of {n} with current shares gives its current key"
                    ),
                    Err(e) => panic!("combining shares of distinct indices failed: {e}"),
                }
            }
        }
        attempts
    }

    /// Slot `s` of `n` opened with the owner's current keys.
    fn owner_open(&self, st: &State, n: u32, s: u32) -> Option<Key256> {
        let h = &st.h;
        let mut cur = h.slot_payload(s).to_vec();
        let mut out = [0u8; 256];
        for (layer, &k) in h.slot_keks(s).iter().enumerate().rev() {
            let own = self.owner_key(st, k)?;
            match kek(h, &own).unwrap(&cur, &h.context(n, s, layer), &mut out) {
                Ok(len) => cur = out.get(..len).unwrap_or_default().to_vec(),
                Err(e) => panic!(
                    "slot {s} of {n}: the owner's key of {k} does not open layer {layer}: {e}"
                ),
            }
        }
        out.fill(0);
        Key256::from_slice(&cur)
    }
}

/// Whether root `n` is in subset `mask`: bit `i` is the `i`-th global root; the
/// next bits are each tenant's own roots, complemented for odd tenants. Every
/// tenant sees every subset of the roots its leaves depend on as `mask` runs
/// over its range (with one tenant, every subset of the roots), and tenants
/// holding much meet tenants holding little.
fn subset_holds(mask: u32, globals: &[u32], own: &BTreeMap<u32, Vec<u32>>, n: u32) -> bool {
    if let Some(i) = globals.iter().position(|&r| r == n) {
        return (mask >> i) & 1 == 1;
    }
    own.iter().any(|(t, roots)| {
        roots.iter().position(|&r| r == n).is_some_and(|j| {
            let bit = (mask >> (globals.len() + j)) & 1 == 1;
            bit != (t % 2 == 1)
        })
    })
}

/// Every leaf [`recover_leaves`] opens from the roots `avail` admits.
fn recovered(
    h: &Hierarchy,
    ring: &Keyring,
    avail: &(dyn Fn(u32) -> bool + Sync),
    mode: CacheMode,
) -> BTreeMap<u32, Key256> {
    let got = Mutex::new(BTreeMap::new());
    let sink = |n: u32, k: &Key256| {
        if let Ok(mut g) = got.lock() {
            let again = g.insert(n, k.clone()).is_some();
            assert!(!again, "recover_leaves handed out leaf {n} twice");
        }
    };
    let stats = match recover_leaves(h, ring, avail, mode, &sink) {
        Ok(s) => s,
        Err(e) => panic!("recover_leaves ({mode:?}) failed: {e}"),
    };
    let got = got.into_inner().unwrap_or_default();
    assert_eq!(
        (
            stats.leaves_recovered,
            stats.leaves_recovered + stats.leaves_unrecoverable
        ),
        (got.len() as u64, h.leaves()),
        "recover_leaves ({mode:?}): its counts differ from the keys handed out"
    );
    got
}
