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
//! once, from its definition, in the design catalogue
//! ([`crate::graph::design::CATALOGUE`]).
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
//!    cached [`recover_leaves`](crate::engine::recover::recover_leaves) opens a leaf iff the promise says that subset
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
//!    keys; [`Hierarchy::check`](crate::graph::hierarchy::Hierarchy::check) passes; the hierarchy file round-trips.
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
//!
//! # Where
//!
//! The input and the driver are here; `model.rs` keeps the model,
//! `attacker.rs` what the attacker learns, `ops.rs` runs each operation on
//! the engine and the model, `check.rs` holds the checks above, and
//! `sequences.rs` the hand-made seed sequences.

mod attacker;
mod check;
mod model;
mod ops;
mod sequences;

use arbitrary::{Arbitrary, Unstructured};

use crate::engine::generate::{GenSpec, generate};
use crate::engine::workload::State;
use crate::graph::reach::Extent;
use crate::graph::shape::{Dist, Shape};

use super::pick::{DesignPick, SchemePick};
use model::Model;
pub(super) use sequences::seed_cases;

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
        /// Index among the design's root roles (modulo their count); its top
        /// two bits pick the remedy (`rotate`, `rekey`, `partial`, `rekey-key`).
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
        variant(
            &mut out,
            index_u32(self.design.index()),
            index_u32(DesignPick::ALL.len()),
        );
        let scheme = SchemePick::ALL.iter().position(|&s| s == self.scheme);
        variant(
            &mut out,
            index_u32(scheme.unwrap_or(0)),
            index_u32(SchemePick::ALL.len()),
        );
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

fn index_u32(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
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
    /// One-more-compromise checks (a root role added to the attacker's copies) that held.
    pub one_more_checks: u64,
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

/// Runs one case and returns what it saw; panics on any broken invariant.
pub fn run_rekey_case(case: &RekeyCase) -> RekeyReport {
    let spec = GenSpec {
        design: case.design.design(),
        shape: case.shape(),
        scheme: case.scheme.id(),
        seed: case.seed,
    };
    let (h, ring) = match generate(&spec, &|_| {}) {
        Ok(x) => x,
        Err(e) => panic!(
            "generating a tiny {} hierarchy under {} failed: {e}",
            case.design.design_name(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::design::Owner;

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
            // after an insufficient remedy only retired values are tried (none may exist)
            let insufficient = name.contains("partial") || name.contains("rekey-key");
            assert!(
                r.subsets > 0 && (r.hostile_attempts > 0 || insufficient),
                "{name}: {r:?}"
            );
            let revokes = case
                .ops
                .iter()
                .filter(|o| matches!(o, RekeyOp::Revoke { .. }))
                .count();
            if revokes > 0 && r.refused == 0 && !insufficient {
                assert!(r.one_more_checks > 0, "{name}: {r:?}");
            }
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
        // The first customer root (ck1), by its index among the root roles.
        let revoke_ck1 = |design: DesignPick| {
            let d = design.design();
            let ck1 = d.roots_of(Owner::Customer).first().copied();
            let role = d.root_roles().iter().position(|&r| Some(r) == ck1);
            vec![RekeyOp::Revoke {
                role: role.and_then(|i| u8::try_from(i).ok()).unwrap(),
                extent: ExtentPick::One,
            }]
        };
        let m365 = DesignPick::named("m365").unwrap();
        let r = run_rekey_case(&case(m365, revoke_ck1(m365)));
        assert_eq!(r.leaves_rekeyed, 2, "{r:?}");
        // dke: ck1 alone reaches nothing; threshold: one share is below the threshold.
        for name in ["dke", "threshold"] {
            let design = DesignPick::named(name).unwrap();
            let r = run_rekey_case(&case(design, revoke_ck1(design)));
            assert_eq!(r.leaves_rekeyed, 0, "{design:?}: {r:?}");
        }
    }
}
