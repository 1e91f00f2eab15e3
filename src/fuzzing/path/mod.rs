//! The `unwrap_path` target: generate a tiny hierarchy, tamper with its
//! stored wraps, recover leaves, and check every key that comes out.
//!
//! # What is checked
//!
//! The input ([`PathCase`], read with `arbitrary`) picks a design, a scheme, a
//! tiny shape, a seed, up to [`MAX_TAMPERS`] tampering operations
//! ([`Tamper`]: bit flips, wraps moved between slots, keys, groups and
//! tenants, wraps from a hierarchy of another seed, shares replaced, versions
//! bumped, a node rotated and its old wrap restored, edits to the hierarchy
//! file), which roots are available, and which leaves to recover one by one.
//!
//! Every leaf key that [`recover_key`](crate::engine::recover::recover_key) or
//! [`recover_leaves`](crate::engine::recover::recover_leaves) (cached and
//! cold) returns is compared with the key the generator gave that leaf,
//! `Prf::new(seed).node_key(leaf, version)`:
//!
//! - under gcm and gcm-siv a wrong key is always a failure: the context
//!   (tenant, ids, versions, share, layer) is the associated data, so a wrap
//!   anywhere but in its own slot at its own versions must not open;
//! - under kw and kwp a wrong key is the schemes' known limit, and accepted,
//!   only when a reference model explains it: the stored payload is a wrap
//!   the harness made (catalogued with the KEK keys and contexts it was made
//!   under) and the keys the recovery holds for that slot's KEKs are exactly
//!   those, so the unwrap yields the catalogued key (moved from another slot
//!   under the same KEK and version, or an old version of the same key).
//!   Any other wrong key is a failure.
//!
//! The same model predicts every outcome: which leaves open (and to which
//! key), which are unrecoverable from the available roots, and when a
//! recovery must fail as a whole with [`crate::Error::UnwrapFailed`]. Recoveries that
//! disagree with it, errors of any other kind, and tampered hierarchy files
//! that decode to something that does not re-encode to the same bytes are
//! failures too.
//!
//! The input types and the driver are here; [`model`] keeps the catalogue of
//! made wraps and predicts, [`tamper`] tampers, [`check`] judges.

mod check;
mod model;
mod tamper;

use arbitrary::{Arbitrary, Unstructured};

use crate::crypto::prf::Prf;
use crate::engine::generate::{GenSpec, generate};
use crate::engine::recover::CacheMode;
use crate::graph::design::Design;
use crate::graph::reach::reach;
use crate::graph::shape::{Dist, Shape};
use crate::store::hfile;

use super::pick::{DesignPick, SchemePick};
use check::{Checker, check_bulk, check_probe};
use model::{Outcome, WrapCatalogue, model_all};
use tamper::{Run, pick};

/// Most tampering operations one case applies.
pub const MAX_TAMPERS: usize = 8;
/// Most leaves one case recovers one by one with [`crate::engine::recover::recover_key`].
pub const MAX_PROBES: usize = 4;

/// Which roots the recoveries may use.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RootPick {
    /// Every root.
    All,
    /// Root `n` is available when bit `n mod 64` of the mask is set.
    Subset(u64),
}

impl RootPick {
    fn available(self, n: u32) -> bool {
        match self {
            RootPick::All => true,
            RootPick::Subset(mask) => (mask >> (n % 64)) & 1 == 1,
        }
    }
}

/// A tampering operation. Slot, node and offset fields are taken modulo
/// what the hierarchy has, so every value means something.
#[derive(Arbitrary, Clone, Debug, PartialEq, Eq)]
pub enum Tamper {
    /// Flip one bit of a slot's payload.
    FlipBit {
        /// Slot.
        slot: u16,
        /// Bit within the payload.
        bit: u16,
    },
    /// Copy the payload of one slot over another's (another key, group or tenant).
    Move {
        /// Source slot.
        from: u16,
        /// Target slot.
        to: u16,
    },
    /// Copy a payload to another slot under the same KEKs: the move that
    /// kw and kwp cannot notice.
    MoveSameKek {
        /// Source slot.
        from: u16,
        /// Index among the slots under the same KEKs.
        to: u16,
    },
    /// Copy a payload from the same design generated with another seed.
    Foreign {
        /// Slot in the other hierarchy.
        from: u16,
        /// Target slot.
        to: u16,
    },
    /// Overwrite one share of a share-based key with another share.
    ReplaceShare {
        /// Source, among the share slots.
        from: u16,
        /// Target, among the share slots.
        to: u16,
    },
    /// Raise a node's version without re-wrapping anything.
    BumpVersion {
        /// Node.
        node: u16,
        /// Raised by this plus one.
        by: u8,
    },
    /// Rotate a wrapped key: a new version, its own slots wrapped again
    /// (its children are left under the old version).
    Rotate {
        /// Node, among the wrapped (non-root) keys.
        node: u16,
    },
    /// Put back the payload a slot had when generated (an old version restored).
    RestoreOriginal {
        /// Slot.
        slot: u16,
    },
    /// Edit the hierarchy file and read it back.
    File(FileEdit),
}

/// An edit of the encoded hierarchy file.
#[derive(Arbitrary, Clone, Debug, PartialEq, Eq)]
pub enum FileEdit {
    /// XOR one byte (a zero mask counts as 1).
    Xor {
        /// Offset (modulo the file length).
        at: u32,
        /// Mask.
        mask: u8,
    },
    /// Cut the file short (must be refused).
    Truncate {
        /// Bytes kept (modulo the file length).
        keep: u32,
    },
    /// Append bytes (must be refused).
    Extend {
        /// What is appended (at least one byte).
        bytes: Vec<u8>,
    },
    /// Insert one byte.
    Insert {
        /// Offset (modulo the file length).
        at: u32,
        /// The byte.
        byte: u8,
    },
    /// Delete one byte.
    Delete {
        /// Offset (modulo the file length).
        at: u32,
    },
    /// Replace a slot's record by a stored wrap one semiblock shorter or
    /// longer (must be refused).
    ResizeRecord {
        /// Slot.
        slot: u16,
        /// Longer rather than shorter.
        longer: bool,
    },
}

/// One `unwrap_path` case.
#[derive(Arbitrary, Clone, Debug, PartialEq, Eq)]
pub struct PathCase {
    /// Design.
    pub design: DesignPick,
    /// Scheme.
    pub scheme: SchemePick,
    /// Tenants: 1 + this mod 3.
    pub tenants: u8,
    /// Groups per tenant: up to 1 + this mod 3.
    pub groups: u8,
    /// Leaves per group: up to 1 + this mod 4.
    pub leaves: u8,
    /// Counts drawn uniformly up to the maximum, rather than fixed.
    pub uniform: bool,
    /// Seed of every key.
    pub seed: u64,
    /// Roots available to the recoveries.
    pub roots: RootPick,
    /// Tampering, in order (at most [`MAX_TAMPERS`] are applied).
    pub tampers: Vec<Tamper>,
    /// Leaves recovered one by one (modulo the leaf count; at most [`MAX_PROBES`]).
    pub probes: Vec<u16>,
}

impl PathCase {
    /// The design.
    pub fn make_design(&self) -> Design {
        self.design.design()
    }

    /// The tiny shape: 1–3 tenants, 1–3 groups per tenant, 1–4 leaves per group.
    pub fn shape(&self) -> Shape {
        let dist = |max: u32| {
            if self.uniform {
                Dist::Uniform { min: 1, max }
            } else {
                Dist::Fixed(max)
            }
        };
        Shape {
            tenants: 1 + u32::from(self.tenants % 3),
            groups: dist(1 + u32::from(self.groups % 3)),
            leaves: dist(1 + u32::from(self.leaves % 4)),
        }
    }

    fn spec(&self, seed: u64) -> GenSpec {
        GenSpec {
            design: self.make_design(),
            shape: self.shape(),
            scheme: self.scheme.id(),
            seed,
        }
    }
}

/// What one case saw.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PathReport {
    /// Tampering operations applied (file edits that were refused included).
    pub tampers: usize,
    /// File edits refused by the decoder with a typed error.
    pub file_edits_refused: usize,
    /// Leaf keys returned, over every recovery.
    pub keys_returned: u64,
    /// Of which the wrong key, explained as the kw/kwp known limit.
    pub known_limit: u64,
    /// Recoveries (of one leaf or of all) that failed with `UnwrapFailed`.
    pub refused: u64,
    /// Leaves reported unrecoverable from the available roots.
    pub unrecoverable: u64,
}

/// The fuzz target: reads a [`PathCase`] and runs it.
pub fn unwrap_path(data: &[u8]) {
    let mut u = Unstructured::new(data);
    if let Ok(case) = PathCase::arbitrary(&mut u) {
        run_path_case(&case);
    }
}

/// Runs one case and returns what it saw; panics on any broken invariant.
pub fn run_path_case(case: &PathCase) -> PathReport {
    let spec = case.spec(case.seed);
    let (h, ring) = match generate(&spec, &|_| {}) {
        Ok(x) => x,
        Err(e) => panic!(
            "generating a tiny {} hierarchy under {} failed: {e}",
            case.design.design_name(),
            spec.scheme
        ),
    };
    let prf = Prf::new(case.seed);
    let mut cat = WrapCatalogue::default();
    cat.add_all(&h, &prf);
    let mut run = Run {
        case,
        original: h.clone(),
        h,
        prf,
        cat,
        foreign: None,
        report: PathReport::default(),
    };
    for t in case.tampers.iter().take(MAX_TAMPERS) {
        run.apply(t);
    }
    let Run {
        h,
        prf,
        cat,
        mut report,
        ..
    } = run;

    // Whatever the tampering made must still round-trip through the file.
    match hfile::encode(&h).and_then(|b| hfile::decode(&b)) {
        Ok(back) => assert!(
            back == h,
            "a tampered hierarchy does not round-trip through its file"
        ),
        Err(e) => panic!("a tampered hierarchy does not round-trip through its file: {e}"),
    }

    let roots = case.roots;
    let available = move |n: u32| roots.available(n);
    let forward = model_all(&h, &cat, &ring, &available, false);
    let strict = model_all(&h, &cat, &ring, &available, true);
    let checker = Checker {
        h: &h,
        prf: &prf,
        scheme: h.scheme,
    };

    // With nothing tampered, recovery must agree with the analysis engine too.
    if case.tampers.is_empty() {
        let r = reach(&h, &|n| h.is_root(n) && available(n));
        let opened = (0..h.nodes())
            .filter(|&n| h.is_leaf(n) && forward.get(n as usize).is_some_and(|o| o.key().is_some()))
            .count();
        assert_eq!(
            opened as u64,
            r.leaves_open(&h),
            "the model and the reach analysis disagree on an untampered hierarchy"
        );
    }

    for mode in [CacheMode::Cached, CacheMode::Cold] {
        check_bulk(&checker, &ring, &available, mode, &forward, &mut report);
    }

    let leaves: Vec<u32> = (0..h.nodes()).filter(|&n| h.is_leaf(n)).collect();
    for probe in case.probes.iter().take(MAX_PROBES) {
        let Some(&leaf) = pick(*probe, leaves.len()).and_then(|i| leaves.get(i)) else {
            break;
        };
        let want = strict.get(leaf as usize).cloned().unwrap_or(Outcome::Fail);
        check_probe(&checker, &ring, &available, leaf, &want, &mut report);
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(design: &str, scheme: SchemePick, tampers: Vec<Tamper>) -> PathCase {
        PathCase {
            design: DesignPick::named(design).unwrap(),
            scheme,
            tenants: 0,
            groups: 0,
            leaves: 1,
            uniform: false,
            seed: 7,
            roots: RootPick::All,
            tampers,
            probes: vec![0, 1, 2, 3],
        }
    }

    #[test]
    fn untampered_opens_every_leaf_correctly() {
        for design in DesignPick::ALL {
            for scheme in SchemePick::ALL {
                let r = run_path_case(&case(design.design_name(), scheme, vec![]));
                assert_eq!(
                    (r.known_limit, r.refused, r.unrecoverable),
                    (0, 0, 0),
                    "{design:?} {scheme:?}"
                );
                assert!(r.keys_returned > 0);
            }
        }
    }

    /// m365, one tenant, one group, two leaves: slots 0..3 are the DEP's
    /// (under ck1, ck2, ak), 3 and 4 the leaves' (under the DEP).
    #[test]
    fn a_leaf_wrap_moved_under_the_same_dep_is_the_kw_limit_and_refused_by_gcm() {
        let moved = vec![Tamper::MoveSameKek { from: 3, to: 0 }];
        for scheme in [SchemePick::Kw, SchemePick::Kwp] {
            let r = run_path_case(&case("m365", scheme, moved.clone()));
            assert!(r.known_limit > 0, "{scheme:?}: {r:?}");
        }
        for scheme in [SchemePick::Gcm, SchemePick::GcmSiv] {
            let r = run_path_case(&case("m365", scheme, moved.clone()));
            assert_eq!(r.known_limit, 0, "{scheme:?}");
            assert!(r.refused > 0, "{scheme:?}: {r:?}");
        }
    }

    #[test]
    fn a_restored_old_version_is_the_kw_limit_and_refused_by_gcm() {
        // Slot 4 is the second leaf: rotate it (node index among wrapped keys: dep, leaf, leaf), restore.
        let tampers = vec![
            Tamper::Rotate { node: 2 },
            Tamper::RestoreOriginal { slot: 4 },
        ];
        let kw = run_path_case(&case("m365", SchemePick::Kw, tampers.clone()));
        assert!(kw.known_limit > 0, "{kw:?}");
        let gcm = run_path_case(&case("m365", SchemePick::Gcm, tampers));
        assert_eq!(gcm.known_limit, 0);
        assert!(gcm.refused > 0, "{gcm:?}");
    }

    #[test]
    fn bit_flips_and_file_edits_are_refused() {
        for scheme in [SchemePick::Kw, SchemePick::Gcm] {
            let r = run_path_case(&case(
                "threshold",
                scheme,
                vec![Tamper::FlipBit { slot: 0, bit: 9 }],
            ));
            assert!(r.refused > 0, "{r:?}");
            let edits = vec![
                Tamper::File(FileEdit::Truncate { keep: 10 }),
                Tamper::File(FileEdit::Extend { bytes: vec![1] }),
                Tamper::File(FileEdit::ResizeRecord {
                    slot: 1,
                    longer: true,
                }),
                Tamper::File(FileEdit::ResizeRecord {
                    slot: 1,
                    longer: false,
                }),
            ];
            let r = run_path_case(&case("dke", scheme, edits));
            assert_eq!(r.file_edits_refused, 4, "{r:?}");
        }
    }
}
