//! The operations of `rekey_model`: each [`RekeyOp`] run on the engine
//! (through [`run`] with its verification off, or [`recover_key`]) and the
//! model brought along: a revocation leaks the selected roots and lets the
//! attacker open the old wraps, a rotation retires old root versions, a shred
//! destroys a tenant's roots. What each operation must have done is asserted
//! here; the checks every step ends with are in `check.rs`.

use crate::crypto::scheme::GLOBAL_TENANT;
use crate::crypto::secret::Key256;
use crate::engine::recover::recover_key;
use crate::engine::workload::{RunOptions, State, Workload, run};
use crate::error::Error;
use crate::graph::design::RoleId;
use crate::graph::hierarchy::Hierarchy;
use crate::graph::reach::Extent;

use crate::engine::plan::{REMEDIES, Remedy};

use super::RekeyOp;
use super::attacker::{Knowledge, attacker_closure};
use super::model::{LeafInfo, Model};

impl Model {
    /// Runs one operation; `seed` is the step's seed for new material.
    pub(super) fn step(&mut self, st: &mut State, op: &RekeyOp, seed: u64) {
        let opts = RunOptions {
            verify: false,
            reference: false,
            seed,
            ..Default::default()
        };
        match *op {
            RekeyOp::RotateRoot { role, extent, lazy } => {
                let role = self.root_role(role);
                let w = Workload::RotateRoot {
                    role,
                    extent: extent.extent(),
                    lazy,
                };
                self.change(st, &w, role, extent.extent(), false, &opts);
            }
            RekeyOp::Revoke { role: pick, extent } => {
                let role = self.root_role(pick);
                let w = Workload::Revoke {
                    role,
                    extent: extent.extent(),
                };
                let opts = RunOptions {
                    remedy: remedy_of(pick),
                    ..opts
                };
                self.change(st, &w, role, extent.extent(), true, &opts);
            }
            RekeyOp::Shred { tenant } => self.shred(st, u32::from(tenant) % self.tenants, &opts),
            RekeyOp::UnwrapAll { cold } => self.unwrap_all(st, cold, &opts),
            RekeyOp::Recover { leaf, roots } => self.recover_one(st, leaf, roots),
        }
    }

    /// A rotation (`compromise` false) or a revocation of the roots `role`
    /// and `extent` select.
    fn change(
        &mut self,
        st: &mut State,
        w: &Workload,
        role: RoleId,
        extent: Extent,
        compromise: bool,
        opts: &RunOptions,
    ) {
        let sel = self.select(role, extent);
        let (before_h, before_ring) = (st.h.clone(), st.ring.clone());
        let label = w.label(&st.h.design);
        if let Err(e) = run(st, w, opts) {
            let names_destroyed = sel.iter().any(|&r| !self.live(r));
            let global = sel.iter().any(|&r| {
                self.roots
                    .iter()
                    .any(|x| x.node == r && x.tenant == GLOBAL_TENANT)
            });
            let may_refuse = compromise && global && !self.shredded.is_empty();
            assert!(
                names_destroyed || may_refuse,
                "{label}: refused ({e}) although every root it names is live"
            );
            assert!(
                st.h == before_h && st.ring == before_ring,
                "{label}: refused ({e}) but the hierarchy or the keyring changed"
            );
            self.report.refused += 1;
            return;
        }
        assert!(
            sel.iter().all(|&r| self.live(r)),
            "{label}: succeeded although it names a destroyed root (a shredded tenant's)"
        );

        let mut know = self.leaked.clone();
        let (mut reached, affected) = if compromise {
            self.copies.push(before_h.clone());
            self.leak(&sel, &mut know, &label)
        } else {
            (Vec::new(), Vec::new())
        };
        // The remedy, from the promise: the roots of the promise's other roles
        // above a partly exposed leaf are rotated (`rotate`), or those leaves
        // re-keyed (`rekey`); `partial` and `rekey-key` leave the attacker
        // with a copy that one more compromise opens.
        let mut replaced = sel.clone();
        if compromise && !affected.is_empty() {
            match opts.remedy {
                Remedy::Rotate => {
                    for r in &self.roots {
                        let promised = self
                            .promise
                            .of
                            .iter()
                            .any(|name| self.design.role_by_name(name) == Some(r.role));
                        if promised
                            && !replaced.contains(&r.node)
                            && affected.iter().any(|l| r.covers(l))
                        {
                            replaced.push(r.node);
                        }
                    }
                }
                Remedy::Rekey => reached.extend(affected.iter().copied()),
                Remedy::Partial | Remedy::RekeyKey => self.tainted = true,
            }
        }
        self.advance_roots(st, &replaced, &know, compromise, &label);
        self.rekey_reached(st, &reached, &know, &label);
        self.leaked = know;
        self.check_state(st);
        if compromise && !self.tainted {
            self.check_one_more(st, &label);
        }
    }

    /// One more compromise undoes nothing: for every root role, its live
    /// roots' current and retired values, added to everything the attacker
    /// holds, opening every kept copy and the current store, give no leaf's
    /// current key that the promise does not give those roots alone.
    fn check_one_more(&mut self, st: &State, label: &str) {
        for role in self.design.root_roles() {
            let mut know = self.leaked.clone();
            let mut held = Vec::new();
            for r in self.roots.iter().filter(|r| r.role == role) {
                if let Some(k) = self.owner_root(r.node).and_then(|o| o.key.clone()) {
                    know.add_key(r.node, k);
                    held.push(r.node);
                }
                for k in self.retired.get(&r.node).into_iter().flatten() {
                    know.add_key(r.node, k.clone());
                }
            }
            close_over(&self.copies, Some(&st.h), &mut know);
            for leaf in &self.leaves {
                let known = self
                    .expected
                    .get(&leaf.node)
                    .is_some_and(|k| know.knows(leaf.node, k));
                assert!(
                    !known || self.promise(&|n| held.contains(&n), leaf),
                    "{label}: with the copies it kept, the attacker plus {}'s keys knows leaf {}'s current key; those keys alone do not open it",
                    self.design.roles[usize::from(role)].name,
                    leaf.node
                );
            }
            self.report.one_more_checks += 1;
        }
    }

    /// A revocation's leak: the selected roots' current keys added to `know`,
    /// and everything they open in every copy of the store the attacker kept
    /// (the last one taken just now). The leaves the attacker reaches must be
    /// exactly those the promise gives the selected roots (with copies from
    /// earlier leaks and sufficient remedies, nothing more); returns them, and
    /// the leaves the selected roots partly expose (a role of the promise
    /// held above them, not enough to open them).
    fn leak(
        &self,
        sel: &[u32],
        know: &mut Knowledge,
        label: &str,
    ) -> (Vec<LeafInfo>, Vec<LeafInfo>) {
        for &r in sel {
            if let Some(k) = self.owner_root(r).and_then(|o| o.key.clone()) {
                know.add_key(r, k);
            }
        }
        close_over(&self.copies, None, know);
        let held = |n: u32| sel.contains(&n);
        let mut reached = Vec::new();
        let mut affected = Vec::new();
        for leaf in &self.leaves {
            let by_promise = self.promise(&held, leaf);
            let by_unwrapping = self
                .expected
                .get(&leaf.node)
                .is_some_and(|k| know.knows(leaf.node, k));
            if self.tainted {
                assert!(
                    by_unwrapping || !by_promise,
                    "{label}: the promise gives the attacker leaf {}, opening the wraps does not",
                    leaf.node
                );
            } else {
                assert_eq!(
                    by_unwrapping, by_promise,
                    "{label}: the attacker opening the kept copies reaches leaf {} ({by_unwrapping}), the design's promise says {by_promise}",
                    leaf.node
                );
            }
            if by_promise {
                reached.push(*leaf);
            } else if self.partly(sel, leaf) {
                affected.push(*leaf);
            }
        }
        (reached, affected)
    }

    /// Whether one of `sel` is the key above `leaf` of a role the promise names.
    fn partly(&self, sel: &[u32], leaf: &LeafInfo) -> bool {
        self.roots.iter().any(|r| {
            sel.contains(&r.node)
                && r.covers(leaf)
                && self
                    .promise
                    .of
                    .iter()
                    .any(|name| self.design.role_by_name(name) == Some(r.role))
        })
    }

    /// The selected roots have a new version and new material, neither leaked
    /// nor retired; a rotation retires their old keys. Nothing else in the
    /// ring changed (the checks of the step see to that).
    fn advance_roots(
        &mut self,
        st: &State,
        sel: &[u32],
        know: &Knowledge,
        compromise: bool,
        label: &str,
    ) {
        for &r in sel {
            let Some(o) = self.owner.get_mut(&r) else {
                continue;
            };
            let Some(old) = o.key.take() else { continue };
            let version = o.version + 1;
            let new = match st.ring.get(r) {
                Some((v, k)) if v == version => k.clone(),
                other => panic!(
                    "{label}: root {r} is at version {:?} in the keyring, the model expects {version}",
                    other.map(|(v, _)| v)
                ),
            };
            assert!(
                !new.ct_eq(&old),
                "{label}: root {r} has a new version but its old key"
            );
            assert!(
                !know.knows(r, &new)
                    && !self
                        .retired
                        .get(&r)
                        .is_some_and(|l| l.iter().any(|x| x.ct_eq(&new))),
                "{label}: root {r}'s new key is a leaked or retired one"
            );
            o.version = version;
            o.key = Some(new);
            if compromise {
                // a revocation destroys every old version of what it replaces
                self.retired.remove(&r);
            } else {
                self.retired.entry(r).or_default().push(old);
            }
        }
    }

    /// Reached leaves get new keys, which the owner recovers and the attacker
    /// does not know; they become the model's expected keys. The others keep
    /// theirs (the checks of the step see to that).
    fn rekey_reached(&mut self, st: &State, reached: &[LeafInfo], know: &Knowledge, label: &str) {
        let live = |n: u32| self.live(n);
        let mut rekeyed: Vec<(u32, Key256)> = Vec::new();
        for leaf in reached {
            assert!(
                self.promise(&live, leaf),
                "{label}: leaf {} was leaked but the owner cannot recover it",
                leaf.node
            );
            let new = match recover_key(&st.h, &st.ring, &live, leaf.node) {
                Ok((k, _)) => k,
                Err(e) => panic!(
                    "{label}: leaf {} was leaked; the owner cannot recover its new key: {e}",
                    leaf.node
                ),
            };
            if let Some(old) = self.expected.get(&leaf.node) {
                assert!(
                    !new.ct_eq(old),
                    "{label}: leaf {} was leaked and still has its old key",
                    leaf.node
                );
            }
            assert!(
                !know.knows(leaf.node, &new),
                "{label}: leaf {}'s new key is known to the attacker",
                leaf.node
            );
            rekeyed.push((leaf.node, new));
        }
        self.report.leaves_rekeyed += rekeyed.len() as u64;
        for (n, k) in rekeyed {
            self.expected.insert(n, k);
        }
    }
    fn shred(&mut self, st: &mut State, tenant: u32, opts: &RunOptions) {
        let row = match run(st, &Workload::Shred { tenant }, opts) {
            Ok(row) => row,
            Err(e) => panic!("shred tenant {tenant} failed: {e}"),
        };
        for r in &self.roots {
            if r.tenant == tenant
                && let Some(o) = self.owner.get_mut(&r.node)
            {
                // every version: a retained one would open an old copy
                o.key = None;
                self.retired.remove(&r.node);
            }
        }
        self.shredded.insert(tenant);
        let live = |n: u32| self.live(n);
        let survives = self
            .leaves
            .iter()
            .any(|l| l.tenant == tenant && self.promise(&live, l));
        assert_eq!(
            row.crypto_shred,
            Some(!survives),
            "shred tenant {tenant}: the row says crypto-shred {:?}, the design's promise {}",
            row.crypto_shred,
            !survives
        );
        self.check_state(st);
    }

    fn unwrap_all(&mut self, st: &mut State, cold: bool, opts: &RunOptions) {
        let (before_h, before_ring) = (st.h.clone(), st.ring.clone());
        let w = Workload::UnwrapAll { cold };
        let row = match run(st, &w, opts) {
            Ok(row) => row,
            Err(e) => panic!("{} failed: {e}", w.label(&st.h.design)),
        };
        let live = |n: u32| self.live(n);
        let open = self
            .leaves
            .iter()
            .filter(|l| self.promise(&live, l))
            .count() as u64;
        let lost = self.leaves.len() as u64 - open;
        assert_eq!(
            row.items,
            open,
            "{}: recovered {} leaves, the design's promise {open}",
            w.label(&st.h.design),
            row.items
        );
        // Its leaf check stays on with verification off: it may count only the lost leaves.
        assert_eq!(
            row.verification.leaves_wrong,
            lost,
            "{}: reports {} leaves wrong or unrecoverable; {lost} are lost to shredding and none may be wrong",
            w.label(&st.h.design),
            row.verification.leaves_wrong
        );
        assert!(
            st.h == before_h && st.ring == before_ring,
            "{} changed the hierarchy or the keyring",
            w.label(&st.h.design)
        );
    }

    fn recover_one(&mut self, st: &State, leaf: u8, mask: u8) {
        let Some(&leaf) = self
            .leaves
            .get(usize::from(leaf) % self.leaves.len().max(1))
        else {
            return;
        };
        let live = self.live_roots();
        let avail = |n: u32| {
            live.iter()
                .position(|&r| r == n)
                .is_some_and(|i| (mask >> i) & 1 == 1)
        };
        let want = self.promise(&avail, &leaf);
        match recover_key(&st.h, &st.ring, &avail, leaf.node) {
            Ok((key, used)) => {
                assert!(
                    want,
                    "recover_key opened leaf {} from roots the design's promise says cannot",
                    leaf.node
                );
                assert!(
                    self.expected.get(&leaf.node).is_some_and(|e| e.ct_eq(&key)),
                    "recover_key opened leaf {} to a key other than the model's",
                    leaf.node
                );
                assert!(
                    used.iter().all(|&r| avail(r)),
                    "recover_key used roots {used:?}, not all available"
                );
                assert!(
                    self.promise(&|n| used.contains(&n), &leaf),
                    "recover_key says it used roots {used:?} for leaf {}, which do not recover it",
                    leaf.node
                );
            }
            Err(Error::Unrecoverable { key }) => {
                self.report.unrecoverable += 1;
                assert_eq!(key, u64::from(leaf.node), "recover_key names another key");
                assert!(
                    !want,
                    "recover_key found leaf {} unrecoverable; the design's promise opens it",
                    leaf.node
                );
            }
            Err(e) => panic!("recover_key of leaf {} failed: {e}", leaf.node),
        }
    }
}

/// The remedy a revocation's role pick names: its top two bits index
/// [`REMEDIES`]. (The role is the pick modulo the root roles: committed
/// inputs keep their roles where the count divides 64, as 1, 2 and 4 do;
/// for 3 the top bits move the role too, still to a valid one.)
pub(super) fn remedy_of(pick: u8) -> Remedy {
    REMEDIES[usize::from(pick >> 6) % REMEDIES.len()].id
}

/// Everything `know` opens in every copy (and in `current`, if given),
/// repeated until nothing more opens: what one copy yields may open another.
fn close_over(copies: &[Hierarchy], current: Option<&Hierarchy>, know: &mut Knowledge) {
    loop {
        let size = |k: &Knowledge| {
            k.keys.values().map(Vec::len).sum::<usize>()
                + k.shares.values().map(Vec::len).sum::<usize>()
        };
        let before = size(know);
        for h in copies.iter().chain(current) {
            attacker_closure(h, know);
        }
        if size(know) == before {
            return;
        }
    }
}
