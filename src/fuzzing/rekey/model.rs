//! The reference model of `rekey_model`: what the owner holds (every root's
//! version and key, or destroyed), what every leaf's key must be, what the
//! attacker learned, which root versions were retired; which roots an extent
//! selects and which leaves a set of roots opens (the design's promise from
//! the catalogue). Read from the graph once, then kept by the operations; it
//! never asks the engine's plan or reach code.

use std::collections::{BTreeMap, BTreeSet};

use crate::crypto::prf::Prf;
use crate::crypto::scheme::GLOBAL_TENANT;
use crate::crypto::secret::Key256;
use crate::engine::recover::recover_key;
use crate::engine::workload::State;
use crate::graph::design::{Design, Promise, RoleId};
use crate::graph::hierarchy::Hierarchy;
use crate::graph::reach::Extent;

use super::super::pick::DesignPick;
use super::attacker::Knowledge;
use super::{MAX_ROOTS, RekeyReport};

/// A root, found by scanning the graph.
#[derive(Clone, Debug)]
pub(super) struct RootInfo {
    pub(super) node: u32,
    pub(super) role: RoleId,
    /// [`GLOBAL_TENANT`] for a global root.
    pub(super) tenant: u32,
    pub(super) group: Option<u32>,
}

impl RootInfo {
    /// Whether this is the key of its role above `leaf` (global, the leaf's
    /// tenant's, or the leaf's group's).
    pub(super) fn covers(&self, leaf: &LeafInfo) -> bool {
        (self.tenant == GLOBAL_TENANT || self.tenant == leaf.tenant)
            && self.group.is_none_or(|g| g == leaf.group)
    }
}

/// A leaf and where it sits.
#[derive(Clone, Copy, Debug)]
pub(super) struct LeafInfo {
    pub(super) node: u32,
    pub(super) tenant: u32,
    pub(super) group: u32,
}

/// The owner's state of one root.
#[derive(Clone, Debug)]
pub(super) struct Owned {
    pub(super) version: u32,
    /// `None`: destroyed.
    pub(super) key: Option<Key256>,
}

/// The reference model.
pub(super) struct Model {
    /// The design generated (its role list; the promise names its roles).
    pub(super) design: Design,
    /// Which roots open a leaf, from the design's catalogue entry.
    pub(super) promise: Promise,
    pub(super) tenants: u32,
    pub(super) roots: Vec<RootInfo>,
    pub(super) owner: BTreeMap<u32, Owned>,
    pub(super) leaves: Vec<LeafInfo>,
    pub(super) expected: BTreeMap<u32, Key256>,
    /// The attacker's knowledge.
    pub(super) leaked: Knowledge,
    /// Retired root versions, by node.
    pub(super) retired: BTreeMap<u32, Vec<Key256>>,
    /// Every copy of the store the attacker took (one per revocation's leak).
    pub(super) copies: Vec<Hierarchy>,
    /// A revocation ran with a remedy that does not hold against the kept
    /// copies while it left keys partly exposed: from then on the attacker
    /// may know more than the promise gives the roots it leaked.
    pub(super) tainted: bool,
    pub(super) shredded: BTreeSet<u32>,
    pub(super) report: RekeyReport,
}

impl Model {
    pub(super) fn new(pick: DesignPick, h: &Hierarchy, seed: u64) -> Model {
        let prf = Prf::new(seed);
        let mut roots = Vec::new();
        let mut owner = BTreeMap::new();
        let mut leaves = Vec::new();
        let mut expected = BTreeMap::new();
        for n in 0..h.nodes() {
            if h.is_root(n) {
                let Some(&role) = h.role.get(n as usize) else {
                    panic!("root {n} has no role")
                };
                roots.push(RootInfo {
                    node: n,
                    role,
                    tenant: h.tenant_of(n),
                    group: h.group_of(n),
                });
                owner.insert(
                    n,
                    Owned {
                        version: 1,
                        key: Some(prf.node_key(n, 1)),
                    },
                );
            } else if h.is_leaf(n) {
                let Some(group) = h.group_of(n) else {
                    panic!("leaf {n} lies in no group")
                };
                leaves.push(LeafInfo {
                    node: n,
                    tenant: h.tenant_of(n),
                    group,
                });
                expected.insert(n, prf.node_key(n, 1));
            }
        }
        assert!(
            roots.len() <= MAX_ROOTS,
            "{}: {} roots, more than the {MAX_ROOTS} whose subsets are enumerated",
            pick.design_name(),
            roots.len()
        );
        Model {
            design: h.design.clone(),
            promise: pick.entry().promise,
            tenants: h.tenants(),
            roots,
            owner,
            leaves,
            expected,
            leaked: Knowledge::default(),
            retired: BTreeMap::new(),
            copies: Vec::new(),
            tainted: false,
            shredded: BTreeSet::new(),
            report: RekeyReport::default(),
        }
    }

    /// What the design promises: whether the roots `avail` admits recover `leaf`.
    pub(super) fn promise(&self, avail: &dyn Fn(u32) -> bool, leaf: &LeafInfo) -> bool {
        self.promise.opens(&self.design, &|role| {
            self.roots
                .iter()
                .any(|r| r.role == role && r.covers(leaf) && avail(r.node))
        })
    }

    pub(super) fn live(&self, n: u32) -> bool {
        self.owner.get(&n).is_some_and(|o| o.key.is_some())
    }

    pub(super) fn live_roots(&self) -> Vec<u32> {
        self.roots
            .iter()
            .map(|r| r.node)
            .filter(|&n| self.live(n))
            .collect()
    }

    fn leaves_below(&self, r: &RootInfo) -> usize {
        self.leaves.iter().filter(|l| r.covers(l)).count()
    }

    /// The root role an operation's `pick` names: an index among the design's
    /// root roles, modulo their count.
    pub(super) fn root_role(&self, pick: u8) -> RoleId {
        let roles = self.design.root_roles();
        match roles.get(usize::from(pick) % roles.len().max(1)) {
            Some(&r) => r,
            None => panic!("design {} has no root role", self.design.name),
        }
    }

    /// The roots of `role` an event of `extent` touches, from the graph.
    pub(super) fn select(&self, role: RoleId, extent: Extent) -> Vec<u32> {
        let of_role = self.roots.iter().filter(|r| r.role == role);
        match extent {
            Extent::All => of_role.map(|r| r.node).collect(),
            Extent::Tenant => {
                let leaves_of = |t: u32| self.leaves.iter().filter(|l| l.tenant == t).count();
                let t = (0..self.tenants)
                    .max_by_key(|&t| (leaves_of(t), std::cmp::Reverse(t)))
                    .unwrap_or(0);
                of_role
                    .filter(|r| r.tenant == t || r.tenant == GLOBAL_TENANT)
                    .map(|r| r.node)
                    .collect()
            }
            Extent::One => of_role
                .max_by_key(|r| (self.leaves_below(r), std::cmp::Reverse(r.node)))
                .map(|r| r.node)
                .into_iter()
                .collect(),
        }
    }

    pub(super) fn owner_root(&self, n: u32) -> Option<&Owned> {
        self.owner.get(&n)
    }

    /// The owner's current key of node `k`: a live root's from the model, a
    /// wrapped key recovered from every live root.
    pub(super) fn owner_key(&self, st: &State, k: u32) -> Option<Key256> {
        if st.h.is_root(k) {
            return self.owner_root(k).and_then(|o| o.key.clone());
        }
        recover_key(&st.h, &st.ring, &|n| self.live(n), k)
            .ok()
            .map(|(key, _)| key)
    }
}
