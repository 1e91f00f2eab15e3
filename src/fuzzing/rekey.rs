//! The `rekey_model` target: a sequence of workloads (rotate-root, revoke,
//! shred, unwrap-all) and single-leaf recoveries on a tiny generated
//! hierarchy, every step run through [`crate::engine::workload::run`] with its own
//! verification turned off, and checked against a plain reference model the
//! target keeps itself.
//!
//! # The model
//!
//! The model never asks the engine's plan or reach code what should happen.
//! It holds:
//!
//! - every leaf's expected key (first `Prf::new(seed).node_key(leaf, 1)`);
//! - every root's owner state: its current version and key (first derived
//!   from the seed, later copied from the keyring when a workload gives it
//!   new material), or destroyed;
//! - what an attacker knows: leaked key values and leaked shares by node;
//! - the retired root versions (routine rotation: the owner's old keys).
//!
//! Which roots an extent selects is computed here from the graph: `one` is
//! the key of the role above the most leaves (ties: the lowest node id),
//! `tenant` every key of the role in the tenant with the most leaves (ties:
//! the lowest index) plus the role's global keys, `all` every key of it.
//! Which leaves a set of roots recovers is each design's promise, written
//! here from its description ([`Model::promise`]).
//!
//! A revocation leaks the selected roots' current keys; the attacker then
//! opens, by really unwrapping the stored wraps as they were before the
//! revocation, everything those keys (and everything leaked before) open,
//! learning each share it can open and combining shares to keys. The leaves
//! the attacker reaches must be exactly those the promise gives the revoked
//! roots; each must get a new key (different from the old one, unknown to
//! the attacker), which becomes the model's expected key; every other leaf
//! keeps its key exactly. A rotation keeps every leaf's key and retires the
//! old root versions. A shred destroys every root in the tenant's node range.
//!
//! # Checked after every step
//!
//! (After unwrap-all and a single recovery: that the hierarchy and keyring
//! did not change, so that everything below still holds.)
//!
//! 1. For every subset of the live roots a tenant's leaves depend on (its own
//!    and the global ones; with one tenant, every subset of the live roots),
//!    cached [`recover_leaves`] opens a leaf iff the promise says that subset
//!    opens it, and to exactly the model's expected key; the same for a cold
//!    recovery from every live root. All tenants are enumerated at once (an
//!    odd tenant takes the complement of its own roots' bits), which keeps a
//!    step at 2^4 recoveries rather than 2^8; the `Recover` operation reaches
//!    any subset of all live roots.
//! 2. No stored wrap of the current state opens under a leaked or retired
//!    value of its KEK, at its outermost layer or (nested slots, peeled with
//!    the owner's keys) any inner one; a leaked share combined with current
//!    shares of the other indices does not give the key's current value; no
//!    leaf's expected key, nor any wrapped key's current value, is known to
//!    the attacker.
//! 3. A shredded tenant's leaves recover from the remaining roots only
//!    through a global root that reaches them (sharepoint's `ak`), never
//!    otherwise.
//! 4. The keyring holds exactly the live roots at the model's versions and
//!    keys; [`Hierarchy::check`] passes; the hierarchy file round-trips.
//!
//! Per operation, besides: unwrap-all recovers exactly the leaves the promise
//! gives the live roots and reports no wrong key; a shred's `crypto_shred`
//! says whether the promise leaves none of the tenant's leaves to the
//! remaining roots; `recover_key` of a leaf from any subset of the live roots
//! opens it iff the promise says so, to the model's key, naming only
//! available roots that recover it on their own.
//!
//! A workload must succeed unless it names a destroyed root (a rotation or
//! revocation whose extent selects a shredded tenant's root must be refused),
//! or revokes a global root after a shred (its re-keying would have to wrap
//! under the shredded tenant's destroyed roots); a refused workload must
//! leave the hierarchy and the keyring exactly as they were.
//!
//! Nothing here moves a stored wrap, so the kw/kwp known limit of
//! `unwrap_path` never applies: every check holds under every scheme.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use arbitrary::{Arbitrary, Unstructured};

use crate::crypto::prf::Prf;
use crate::crypto::scheme::{GLOBAL_TENANT, Kek};
use crate::crypto::secret::Key256;
use crate::crypto::shamir;
use crate::engine::generate::{GenSpec, generate};
use crate::engine::recover::{CacheMode, recover_key, recover_leaves};
use crate::engine::workload::{RunOptions, State, Workload, run};
use crate::error::Error;
use crate::graph::design::Design;
use crate::graph::hierarchy::Hierarchy;
use crate::graph::reach::Extent;
use crate::graph::shape::{Dist, Shape};
use crate::store::hfile;
use crate::store::keyring::Keyring;

use super::path::{DesignPick, SchemePick};

/// Most operations one case applies.
pub const MAX_OPS: usize = 6;

/// Most roots a case's hierarchy has (a `Recover` mask of 8 bits names any subset).
const MAX_ROOTS: usize = 8;

/// How much of a root role an operation touches.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum ExtentPick {
    One,
    Tenant,
    All,
}

impl ExtentPick {
    fn extent(self) -> Extent {
        match self {
            ExtentPick::One => Extent::One,
            ExtentPick::Tenant => Extent::Tenant,
            ExtentPick::All => Extent::All,
        }
    }
}

/// One operation. Role, tenant, leaf and root fields are taken modulo what
/// the hierarchy has, so every value means something.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RekeyOp {
    /// `rotate-root`.
    RotateRoot {
        /// Index among the design's root roles.
        role: u8,
        /// Extent.
        extent: ExtentPick,
        /// Rewrap on access.
        lazy: bool,
    },
    /// `revoke` (re-sharing included, for threshold).
    Revoke {
        /// Index among the design's root roles.
        role: u8,
        /// Extent.
        extent: ExtentPick,
    },
    /// `shred` a tenant.
    Shred {
        /// Tenant.
        tenant: u8,
    },
    /// `unwrap-all`.
    UnwrapAll {
        /// Cold rather than cached.
        cold: bool,
    },
    /// `recover_key` of one leaf from a subset of the live roots.
    Recover {
        /// Leaf, by index among the leaves.
        leaf: u8,
        /// Bit `i`: the `i`-th live root (in node order) is available.
        roots: u8,
    },
}

/// One `rekey_model` case, read with `arbitrary` (`arbitrary_take_rest`:
/// the operations run to the end of the input).
#[derive(Arbitrary, Clone, Debug, PartialEq, Eq)]
pub struct RekeyCase {
    /// Design.
    pub design: DesignPick,
    /// Scheme.
    pub scheme: SchemePick,
    /// Tenants: 1 + this mod 2.
    pub tenants: u8,
    /// Groups per tenant: up to 1 + this mod 2.
    pub groups: u8,
    /// Leaves per group: up to 1 + this mod 3.
    pub leaves: u8,
    /// Counts drawn uniformly up to the maximum, rather than fixed.
    pub uniform: bool,
    /// Seed of the hierarchy (each step's new material comes from a seed derived from it).
    pub seed: u64,
    /// Operations, in order (at most [`MAX_OPS`] are applied).
    pub ops: Vec<RekeyOp>,
}

impl RekeyCase {
    /// The tiny shape: 1–2 tenants, 1–2 groups per tenant, 1–3 leaves per group.
    pub fn shape(&self) -> Shape {
        let dist = |max: u32| {
            if self.uniform {
                Dist::Uniform { min: 1, max }
            } else {
                Dist::Fixed(max)
            }
        };
        Shape {
            tenants: 1 + u32::from(self.tenants % 2),
            groups: dist(1 + u32::from(self.groups % 2)),
            leaves: dist(1 + u32::from(self.leaves % 3)),
        }
    }

    /// The bytes `arbitrary` reads back as this case (for the seed corpus).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        variant(&mut out, pick_index(&DesignPick::ALL, self.design), 6);
        let schemes = [
            SchemePick::Kw,
            SchemePick::Kwp,
            SchemePick::Gcm,
            SchemePick::GcmSiv,
        ];
        variant(&mut out, pick_index(&schemes, self.scheme), 4);
        out.extend_from_slice(&[
            self.tenants,
            self.groups,
            self.leaves,
            u8::from(self.uniform),
        ]);
        out.extend_from_slice(&self.seed.to_le_bytes());
        for op in &self.ops {
            out.push(1); // another element follows
            match *op {
                RekeyOp::RotateRoot { role, extent, lazy } => {
                    variant(&mut out, 0, 5);
                    out.push(role);
                    variant(&mut out, extent as u32, 3);
                    out.push(u8::from(lazy));
                }
                RekeyOp::Revoke { role, extent } => {
                    variant(&mut out, 1, 5);
                    out.push(role);
                    variant(&mut out, extent as u32, 3);
                }
                RekeyOp::Shred { tenant } => {
                    variant(&mut out, 2, 5);
                    out.push(tenant);
                }
                RekeyOp::UnwrapAll { cold } => {
                    variant(&mut out, 3, 5);
                    out.push(u8::from(cold));
                }
                RekeyOp::Recover { leaf, roots } => {
                    variant(&mut out, 4, 5);
                    out.push(leaf);
                    out.push(roots);
                }
            }
        }
        out.push(0); // end of the operations
        out
    }
}

fn pick_index<T: PartialEq>(all: &[T], x: T) -> u32 {
    all.iter().position(|y| *y == x).unwrap_or(0) as u32
}

/// The `u32` the derived `Arbitrary` maps to variant `i` of `n` (`(x * n) >> 32`).
fn variant(out: &mut Vec<u8>, i: u32, n: u32) {
    let x = (u64::from(i) << 32).div_ceil(u64::from(n));
    out.extend_from_slice(&u32::try_from(x).unwrap_or(u32::MAX).to_le_bytes());
}

/// What one case saw.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RekeyReport {
    /// Operations applied.
    pub ops: usize,
    /// Workloads refused (cleanly) because they touched a shredded tenant.
    pub refused: usize,
    /// Leaves the attacker reached, each given a new key, over every revocation.
    pub leaves_rekeyed: u64,
    /// Subsets of live roots recovered from.
    pub subsets: u64,
    /// Stored wraps tried with leaked or retired values, and leaked shares recombined.
    pub hostile_attempts: u64,
    /// Single-leaf recoveries that found the leaf unrecoverable.
    pub unrecoverable: u64,
}

/// The fuzz target: reads a [`RekeyCase`] and runs it.
pub fn rekey_model(data: &[u8]) {
    if let Ok(case) = RekeyCase::arbitrary_take_rest(Unstructured::new(data)) {
        // On a pool of one thread: the parallel recoveries of a case then neither
        // hand their work over from a foreign thread nor wait for each other.
        match one_thread() {
            Some(pool) => pool.install(|| run_rekey_case(&case)),
            None => run_rekey_case(&case),
        };
    }
}

fn one_thread() -> Option<&'static rayon::ThreadPool> {
    static POOL: std::sync::OnceLock<Option<rayon::ThreadPool>> = std::sync::OnceLock::new();
    POOL.get_or_init(|| rayon::ThreadPoolBuilder::new().num_threads(1).build().ok())
        .as_ref()
}

/// A root, found by scanning the graph.
#[derive(Clone, Debug)]
struct RootInfo {
    node: u32,
    role: String,
    /// [`GLOBAL_TENANT`] for a global root.
    tenant: u32,
    group: Option<u32>,
}

/// A leaf and where it sits.
#[derive(Clone, Copy, Debug)]
struct LeafInfo {
    node: u32,
    tenant: u32,
    group: u32,
}

/// The owner's state of one root.
#[derive(Clone, Debug)]
struct Owned {
    version: u32,
    /// `None`: destroyed.
    key: Option<Key256>,
}

/// Key values and shares, by node.
#[derive(Clone, Debug, Default)]
struct Knowledge {
    keys: BTreeMap<u32, Vec<Key256>>,
    shares: BTreeMap<u32, Vec<(u8, Key256)>>,
}

impl Knowledge {
    fn add_key(&mut self, n: u32, k: Key256) {
        let list = self.keys.entry(n).or_default();
        if !list.iter().any(|x| x.ct_eq(&k)) {
            list.push(k);
        }
    }

    fn add_share(&mut self, n: u32, x: u8, k: Key256) {
        let list = self.shares.entry(n).or_default();
        if !list.iter().any(|(y, v)| *y == x && v.ct_eq(&k)) {
            list.push((x, k));
        }
    }

    fn knows(&self, n: u32, k: &Key256) -> bool {
        self.keys
            .get(&n)
            .is_some_and(|l| l.iter().any(|x| x.ct_eq(k)))
    }
}

/// The reference model.
struct Model {
    design: DesignPick,
    tenants: u32,
    roots: Vec<RootInfo>,
    owner: BTreeMap<u32, Owned>,
    leaves: Vec<LeafInfo>,
    expected: BTreeMap<u32, Key256>,
    /// The attacker's knowledge.
    leaked: Knowledge,
    /// Retired root versions, by node.
    retired: BTreeMap<u32, Vec<Key256>>,
    shredded: BTreeSet<u32>,
    report: RekeyReport,
}

/// Runs one case and returns what it saw; panics on any broken invariant.
pub fn run_rekey_case(case: &RekeyCase) -> RekeyReport {
    let design = match Design::by_name(case.design.name()) {
        Ok(d) => d,
        Err(e) => panic!("built-in design {} refused: {e}", case.design.name()),
    };
    let spec = GenSpec {
        design,
        shape: case.shape(),
        scheme: case.scheme.id(),
        seed: case.seed,
    };
    let (h, ring) = match generate(&spec, &|_| {}) {
        Ok(x) => x,
        Err(e) => panic!(
            "generating a tiny {} hierarchy under {} failed: {e}",
            case.design.name(),
            spec.scheme
        ),
    };
    let mut st = State {
        h,
        ring,
        gen_seed: Some(case.seed),
    };
    let mut m = Model::new(case.design, &st.h, case.seed);
    m.check_state(&st);
    for (i, op) in case.ops.iter().take(MAX_OPS).enumerate() {
        // New material of each step from its own seed, distinct from the generation seed.
        let seed = case
            .seed
            .wrapping_add(i as u64 + 1)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
        m.step(&mut st, op, seed);
        m.report.ops += 1;
    }
    m.report
}

impl Model {
    fn new(design: DesignPick, h: &Hierarchy, seed: u64) -> Model {
        let prf = Prf::new(seed);
        let mut roots = Vec::new();
        let mut owner = BTreeMap::new();
        let mut leaves = Vec::new();
        let mut expected = BTreeMap::new();
        for n in 0..h.nodes() {
            if h.is_root(n) {
                let role = h
                    .design
                    .roles
                    .get(usize::from(h.role[n as usize]))
                    .map(|r| r.name.clone())
                    .unwrap_or_default();
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
            design.name(),
            roots.len()
        );
        Model {
            design,
            tenants: h.tenants(),
            roots,
            owner,
            leaves,
            expected,
            leaked: Knowledge::default(),
            retired: BTreeMap::new(),
            shredded: BTreeSet::new(),
            report: RekeyReport::default(),
        }
    }

    /// What the design promises: whether the roots `avail` admits recover `leaf`.
    fn promise(&self, avail: &dyn Fn(u32) -> bool, leaf: &LeafInfo) -> bool {
        let has = |name: &str, tenant: u32, group: Option<u32>| {
            self.roots
                .iter()
                .any(|r| r.role == name && r.tenant == tenant && r.group == group && avail(r.node))
        };
        let (t, g) = (leaf.tenant, Some(leaf.group));
        let ck1 = has("ck1", t, None);
        let ck2 = || has("ck2", t, None);
        match self.design {
            DesignPick::M365 | DesignPick::Tree22 => ck1 || ck2() || has("ak", t, g),
            DesignPick::Flat => ck1 || ck2() || has("ak", t, None),
            DesignPick::Dke => ck1 && has("ak", t, g),
            DesignPick::Threshold => {
                [ck1, ck2(), has("ak", t, g)].iter().filter(|&&x| x).count() >= 2
            }
            DesignPick::Sharepoint => ck1 || ck2() || has("ak", GLOBAL_TENANT, None),
        }
    }

    fn live(&self, n: u32) -> bool {
        self.owner.get(&n).is_some_and(|o| o.key.is_some())
    }

    fn live_roots(&self) -> Vec<u32> {
        self.roots
            .iter()
            .map(|r| r.node)
            .filter(|&n| self.live(n))
            .collect()
    }

    fn leaves_below(&self, r: &RootInfo) -> usize {
        self.leaves
            .iter()
            .filter(|l| {
                (r.tenant == GLOBAL_TENANT || r.tenant == l.tenant)
                    && r.group.is_none_or(|g| g == l.group)
            })
            .count()
    }

    /// The roots of `role` an event of `extent` touches, from the graph.
    fn select(&self, role: &str, extent: Extent) -> Vec<u32> {
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

    fn owner_root(&self, n: u32) -> Option<&Owned> {
        self.owner.get(&n)
    }

    fn step(&mut self, st: &mut State, op: &RekeyOp, seed: u64) {
        let opts = RunOptions {
            verify: false,
            reference: false,
            seed,
            ..Default::default()
        };
        match *op {
            RekeyOp::RotateRoot { role, extent, lazy } => {
                let role = self.root_role(&st.h, role);
                let w = Workload::RotateRoot {
                    role: st.h.design.role_by_name(&role).unwrap_or(u8::MAX),
                    extent: extent.extent(),
                    lazy,
                };
                self.change(st, &w, &role, extent.extent(), false, &opts);
            }
            RekeyOp::Revoke { role, extent } => {
                let role = self.root_role(&st.h, role);
                let w = Workload::Revoke {
                    role: st.h.design.role_by_name(&role).unwrap_or(u8::MAX),
                    extent: extent.extent(),
                };
                self.change(st, &w, &role, extent.extent(), true, &opts);
            }
            RekeyOp::Shred { tenant } => self.shred(st, u32::from(tenant) % self.tenants, &opts),
            RekeyOp::UnwrapAll { cold } => self.unwrap_all(st, cold, &opts),
            RekeyOp::Recover { leaf, roots } => self.recover_one(st, leaf, roots),
        }
    }

    fn root_role(&self, h: &Hierarchy, pick: u8) -> String {
        let roles = h.design.root_roles();
        let Some(&r) = roles.get(usize::from(pick) % roles.len().max(1)) else {
            panic!("design {} has no root role", h.design.name)
        };
        h.design
            .roles
            .get(usize::from(r))
            .map(|r| r.name.clone())
            .unwrap_or_default()
    }

    /// A rotation (`compromise` false) or a revocation of the roots `role`
    /// and `extent` select.
    fn change(
        &mut self,
        st: &mut State,
        w: &Workload,
        role: &str,
        extent: Extent,
        compromise: bool,
        opts: &RunOptions,
    ) {
        let sel = self.select(role, extent);
        let names_destroyed = sel.iter().any(|&r| !self.live(r));
        let global = sel.iter().any(|&r| {
            self.roots
                .iter()
                .any(|x| x.node == r && x.tenant == GLOBAL_TENANT)
        });
        let may_refuse = compromise && global && !self.shredded.is_empty();
        let (before_h, before_ring) = (st.h.clone(), st.ring.clone());
        let label = w.label(&st.h.design);
        match run(st, w, opts) {
            Err(e) => {
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
            Ok(_) => assert!(
                !names_destroyed,
                "{label}: succeeded although it names a destroyed root (a shredded tenant's)"
            ),
        }

        // The attacker's view is taken from the stored wraps as they were before.
        let mut know = self.leaked.clone();
        let mut reached: Vec<LeafInfo> = Vec::new();
        if compromise {
            for &r in &sel {
                if let Some(k) = self.owner_root(r).and_then(|o| o.key.clone()) {
                    know.add_key(r, k);
                }
            }
            attacker_closure(&before_h, &mut know);
            let held = |n: u32| sel.contains(&n);
            for leaf in &self.leaves {
                let by_promise = self.promise(&held, leaf);
                let by_unwrapping = self
                    .expected
                    .get(&leaf.node)
                    .is_some_and(|k| know.knows(leaf.node, k));
                assert_eq!(
                    by_unwrapping, by_promise,
                    "{label}: the attacker opening the old wraps reaches leaf {} ({by_unwrapping}), the design's promise says {by_promise}",
                    leaf.node
                );
                if by_promise {
                    reached.push(*leaf);
                }
            }
        }

        // The selected roots have a new version and new material; nothing else in the ring changed.
        for &r in &sel {
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
            if !compromise {
                self.retired.entry(r).or_default().push(old);
            }
        }

        // Reached leaves get new keys, which the owner recovers; the others keep theirs.
        let live = |n: u32| self.live(n);
        let mut rekeyed = Vec::new();
        for leaf in &reached {
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
        self.leaked = know;
        self.check_state(st);
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
                o.key = None;
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

    /// The owner's current key of node `k`: a live root's from the model, a
    /// wrapped key recovered from every live root.
    fn owner_key(&self, st: &State, k: u32) -> Option<Key256> {
        if st.h.is_root(k) {
            return self.owner_root(k).and_then(|o| o.key.clone());
        }
        recover_key(&st.h, &st.ring, &|n| self.live(n), k)
            .ok()
            .map(|(key, _)| key)
    }

    /// Every check of the module docs, on the current state.
    fn check_state(&mut self, st: &State) {
        let h = &st.h;
        // 4. keyring, structure, file
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

        // 1. every subset of the roots each tenant's leaves depend on (cached), and
        // all live roots (cold)
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
        let all_live = self.check_recovery(st, &|n| self.live(n), CacheMode::Cold, &|| {
            "every live root, cold,".into()
        });

        // 3. a shredded tenant's leaves open only through a global root that reaches them
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

        // 2. leaked and retired values open nothing
        self.check_hostile(st);
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

    fn check_hostile(&mut self, st: &State) {
        let h = &st.h;
        let mut out = [0u8; 256];
        let mut attempts = 0u64;
        for n in 0..h.nodes() {
            if h.is_root(n) {
                continue;
            }
            if let Some(current) = self.owner_key(st, n) {
                assert!(
                    !self.leaked.knows(n, &current),
                    "the attacker knows the current key of {} {n}",
                    if h.is_leaf(n) { "leaf" } else { "key" }
                );
            }
            for s in h.slots_of(n) {
                let keks = h.slot_keks(s);
                let mut cur = h.slot_payload(s).to_vec();
                for layer in (0..keks.len()).rev() {
                    let Some(&k) = keks.get(layer) else { break };
                    let ctx = h.context(n, s, layer);
                    let hostile = self
                        .leaked
                        .keys
                        .get(&k)
                        .into_iter()
                        .flatten()
                        .chain(self.retired.get(&k).into_iter().flatten());
                    for v in hostile {
                        attempts += 1;
                        match kek(h, v).unwrap(&cur, &ctx, &mut out) {
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
                    match kek(h, &own).unwrap(&cur, &ctx, &mut out) {
                        Ok(len) => cur = out.get(..len).unwrap_or_default().to_vec(),
                        Err(e) => panic!(
                            "slot {s} of {n}: the owner's key of {k} does not open layer {layer}: {e}"
                        ),
                    }
                }
            }
        }
        out.fill(0);
        // A leaked share with current shares of the other indices must not give the key.
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
        self.report.hostile_attempts += attempts;
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

fn kek(h: &Hierarchy, k: &Key256) -> Kek {
    match Kek::new(h.scheme, k.expose()) {
        Ok(kek) => kek,
        Err(e) => panic!("a 32-byte KEK refused under {}: {e}", h.scheme),
    }
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

/// What an attacker holding `know` opens from the stored wraps of `h`, by
/// really unwrapping them (every combination of the values it holds for a
/// slot's KEKs), added to `know`; shares of a share-based key are combined
/// whenever `threshold` of distinct indices are held.
fn attacker_closure(h: &Hierarchy, know: &mut Knowledge) {
    for n in 0..h.nodes() {
        if h.is_root(n) {
            continue;
        }
        let Some(role) = h.design.roles.get(usize::from(h.role[n as usize])) else {
            continue;
        };
        for s in h.slots_of(n) {
            let layers = h.slot_keks(s).len();
            let Some(k) = attacker_open(h, n, s, layers, h.slot_payload(s), &know.keys) else {
                continue;
            };
            if role.shares {
                know.add_share(n, h.share_of(n, s), k);
            } else {
                know.add_key(n, k);
            }
        }
        if role.shares {
            let shares = know.shares.get(&n).cloned().unwrap_or_default();
            for k in combinations(&shares, usize::from(role.threshold)) {
                know.add_key(n, k);
            }
        }
    }
}

/// Opens the `layers` innermost layers of `wrapped` (slot `s` of `n`) with any
/// of the values `keys` holds for each layer's KEK.
fn attacker_open(
    h: &Hierarchy,
    n: u32,
    s: u32,
    layers: usize,
    wrapped: &[u8],
    keys: &BTreeMap<u32, Vec<Key256>>,
) -> Option<Key256> {
    let Some(layer) = layers.checked_sub(1) else {
        return Key256::from_slice(wrapped);
    };
    let k = *h.slot_keks(s).get(layer)?;
    let mut out = [0u8; 256];
    for v in keys.get(&k)? {
        match kek(h, v).unwrap(wrapped, &h.context(n, s, layer), &mut out) {
            Ok(len) => {
                let inner = out.get(..len).unwrap_or_default().to_vec();
                if let Some(key) = attacker_open(h, n, s, layer, &inner, keys) {
                    return Some(key);
                }
            }
            Err(Error::UnwrapFailed) => {}
            Err(e) => panic!("an unwrap with a 32-byte key failed with {e}"),
        }
    }
    None
}

/// Every key `threshold` shares of distinct indices combine to.
fn combinations(shares: &[(u8, Key256)], threshold: usize) -> Vec<Key256> {
    fn go(
        shares: &[(u8, Key256)],
        from: usize,
        picked: &mut Vec<usize>,
        threshold: usize,
        out: &mut Vec<Key256>,
    ) {
        if picked.len() == threshold {
            let refs: Vec<(u8, &Key256)> = picked
                .iter()
                .filter_map(|&i| shares.get(i).map(|(x, k)| (*x, k)))
                .collect();
            if let Ok(k) = shamir::combine(&refs) {
                out.push(k);
            }
            return;
        }
        for i in from..shares.len() {
            let Some((x, _)) = shares.get(i) else { break };
            let clash = picked
                .iter()
                .any(|&j| shares.get(j).is_some_and(|(y, _)| y == x));
            if !clash {
                picked.push(i);
                go(shares, i + 1, picked, threshold, out);
                picked.pop();
            }
        }
    }
    let mut out = Vec::new();
    if threshold > 0 {
        go(shares, 0, &mut Vec::new(), threshold, &mut out);
    }
    out
}

/// Hand-made operation sequences for every design (the seed corpus and the unit tests).
pub(super) fn seed_cases() -> Vec<(String, RekeyCase)> {
    use ExtentPick::{All, One, Tenant};
    let rot = |role, extent, lazy| RekeyOp::RotateRoot { role, extent, lazy };
    let rev = |role, extent| RekeyOp::Revoke { role, extent };
    let sequences: Vec<(&str, Vec<RekeyOp>)> = vec![
        (
            "rotate-each-role",
            vec![
                rot(0, One, false),
                rot(1, Tenant, true),
                rot(2, All, false),
                RekeyOp::UnwrapAll { cold: false },
                RekeyOp::Recover {
                    leaf: 1,
                    roots: 0b0000_0101,
                },
            ],
        ),
        (
            "revoke-each-role",
            vec![
                rev(0, One),
                rev(1, Tenant),
                rev(2, All),
                RekeyOp::UnwrapAll { cold: true },
                RekeyOp::Recover {
                    leaf: 0,
                    roots: 0b0000_0011,
                },
            ],
        ),
        (
            "revoke-twice-then-rotate",
            vec![
                rev(0, All),
                rev(0, All),
                rot(0, All, false),
                rev(2, One),
                RekeyOp::UnwrapAll { cold: false },
            ],
        ),
        (
            "shred-then-workloads",
            vec![
                RekeyOp::Shred { tenant: 1 },
                RekeyOp::UnwrapAll { cold: false },
                rot(0, All, false),
                rev(2, All),
                rot(2, One, true),
                RekeyOp::Recover {
                    leaf: 5,
                    roots: 0xFF,
                },
            ],
        ),
        (
            "revoke-shred-unwrap",
            vec![
                rev(1, One),
                RekeyOp::Shred { tenant: 0 },
                rev(0, Tenant),
                RekeyOp::UnwrapAll { cold: true },
                RekeyOp::Recover {
                    leaf: 2,
                    roots: 0b0000_1001,
                },
            ],
        ),
    ];
    let schemes = [
        SchemePick::Kw,
        SchemePick::Kwp,
        SchemePick::Gcm,
        SchemePick::GcmSiv,
    ];
    let mut out = Vec::new();
    for (d, design) in DesignPick::ALL.into_iter().enumerate() {
        for (i, (name, ops)) in sequences.iter().enumerate() {
            let scheme = schemes[(d + i) % schemes.len()];
            let case = RekeyCase {
                design,
                scheme,
                tenants: 1,
                groups: 1,
                leaves: (d + i) as u8,
                uniform: i % 2 == 1,
                seed: 0x5EED + (d * 8 + i) as u64,
                ops: ops.clone(),
            };
            out.push((
                format!("seq-{}-{}-{name}", design.name(), scheme.id().name()),
                case,
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_reads_back_as_the_same_case() {
        for (name, case) in seed_cases() {
            let bytes = case.encode();
            let back = RekeyCase::arbitrary_take_rest(Unstructured::new(&bytes));
            assert_eq!(back.ok(), Some(case), "{name}");
        }
    }

    #[test]
    fn every_seed_case_holds() {
        for (name, case) in seed_cases() {
            let r = run_rekey_case(&case);
            assert_eq!(r.ops, case.ops.len(), "{name}");
            assert!(r.subsets > 0 && r.hostile_attempts > 0, "{name}: {r:?}");
        }
    }

    #[test]
    fn a_revocation_rekeys_what_the_promise_reaches_and_nothing_else() {
        // m365, one tenant, one group, two leaves: revoking ck1 reaches both leaves.
        let case = |design, ops| RekeyCase {
            design,
            scheme: SchemePick::Kw,
            tenants: 0,
            groups: 0,
            leaves: 1,
            uniform: false,
            seed: 3,
            ops,
        };
        let revoke_ck1 = vec![RekeyOp::Revoke {
            role: 0,
            extent: ExtentPick::One,
        }];
        let r = run_rekey_case(&case(DesignPick::M365, revoke_ck1.clone()));
        assert_eq!(r.leaves_rekeyed, 2, "{r:?}");
        // dke: ck1 alone reaches nothing; threshold: one share is below the threshold.
        for design in [DesignPick::Dke, DesignPick::Threshold] {
            let r = run_rekey_case(&case(design, revoke_ck1.clone()));
            assert_eq!(r.leaves_rekeyed, 0, "{design:?}: {r:?}");
        }
    }

    #[test]
    fn combinations_need_distinct_indices() {
        let k = |b: u8| Key256::from_bytes([b; 32]);
        let shares = vec![(1, k(1)), (1, k(2)), (2, k(3))];
        assert_eq!(combinations(&shares, 2).len(), 2);
        assert_eq!(combinations(&shares, 3).len(), 0);
        assert_eq!(combinations(&shares, 1).len(), 3);
    }
}
