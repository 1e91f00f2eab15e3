//! The judgement of `unwrap_path`: every key a recovery returns against the
//! generator's key and the model's prediction, every outcome (opened,
//! unrecoverable, refused) against the model, for [`recover_leaves`] (cached
//! and cold) and [`recover_key`]. A wrong key under gcm/gcm-siv is always a
//! failure; under kw/kwp only the known limit the model explains is accepted.

use std::sync::Mutex;

use crate::crypto::prf::Prf;
use crate::crypto::scheme::SchemeId;
use crate::crypto::secret::Key256;
use crate::engine::recover::{CacheMode, recover_key, recover_leaves};
use crate::error::Error;
use crate::graph::hierarchy::Hierarchy;
use crate::store::keyring::Keyring;

use super::PathReport;
use super::model::{Outcome, version};

/// Judges every key a recovery returns.
pub(super) struct Checker<'a> {
    pub(super) h: &'a Hierarchy,
    pub(super) prf: &'a Prf,
    pub(super) scheme: SchemeId,
}

impl Checker<'_> {
    /// Checks `got` for `leaf` against the generator's key and the model's
    /// prediction; returns whether it is the kw/kwp known limit.
    fn judge(&self, leaf: u32, got: &Key256, model: Option<&Key256>, by: &str) -> bool {
        let scheme = self.scheme;
        let right = self.prf.node_key(leaf, version(self.h, leaf));
        let wrong = !got.ct_eq(&right);
        if wrong {
            assert!(
                !scheme.binds_context(),
                "{scheme}: {by} opened leaf {leaf} to a WRONG key"
            );
            assert!(
                model.is_some_and(|m| m.ct_eq(got)),
                "{scheme}: {by} opened leaf {leaf} to a wrong key that no same-KEK move explains"
            );
        }
        assert!(
            model.is_some_and(|m| m.ct_eq(got)),
            "{scheme}: {by} opened leaf {leaf}; the model predicts another outcome"
        );
        wrong
    }
}

pub(super) fn check_bulk(
    c: &Checker<'_>,
    ring: &Keyring,
    available: &(dyn Fn(u32) -> bool + Sync),
    mode: CacheMode,
    model: &[Outcome],
    report: &mut PathReport,
) {
    let h = c.h;
    let got: Mutex<Vec<(u32, Key256)>> = Mutex::new(Vec::new());
    let sink = |leaf: u32, key: &Key256| {
        if let Ok(mut g) = got.lock() {
            g.push((leaf, key.clone()));
        }
    };
    let res = recover_leaves(h, ring, available, mode, &sink);
    let got = got.into_inner().unwrap_or_default();
    let by = match mode {
        CacheMode::Cached => "recover_leaves (cached)",
        CacheMode::Cold => "recover_leaves (cold)",
    };
    for (leaf, key) in &got {
        assert!(
            h.is_leaf(*leaf),
            "{by} returned a key for {leaf}, not a leaf"
        );
        report.keys_returned += 1;
        report.known_limit += u64::from(c.judge(
            *leaf,
            key,
            model.get(*leaf as usize).and_then(Outcome::key),
            by,
        ));
    }
    let fails = model.contains(&Outcome::Fail);
    let leaf_outcomes = || {
        (0..h.nodes())
            .filter(|&n| h.is_leaf(n))
            .filter_map(|n| model.get(n as usize))
    };
    match res {
        Ok(stats) => {
            let opened = leaf_outcomes().filter(|o| o.key().is_some()).count() as u64;
            let lost = leaf_outcomes()
                .filter(|o| **o == Outcome::Unrecoverable)
                .count() as u64;
            report.unrecoverable += stats.leaves_unrecoverable;
            assert_eq!(
                stats.leaves_recovered,
                got.len() as u64,
                "{by}: leaves_recovered differs from the keys handed out"
            );
            if mode == CacheMode::Cached {
                assert!(
                    !fails,
                    "{by} succeeded where a stored wrap the model says fails must be opened"
                );
            }
            if !fails {
                assert_eq!(
                    (stats.leaves_recovered, stats.leaves_unrecoverable),
                    (opened, lost),
                    "{by}: counts differ from the model"
                );
            }
        }
        Err(Error::UnwrapFailed) => {
            report.refused += 1;
            assert!(
                fails,
                "{by} refused a hierarchy the model opens without a failure"
            );
        }
        Err(e) => panic!("{by} failed with an unexpected error: {e:?}"),
    }
}

/// Recovers `leaf` alone with [`recover_key`] and checks the outcome against
/// the model's (strict) prediction `want`.
pub(super) fn check_probe(
    c: &Checker<'_>,
    ring: &Keyring,
    available: &dyn Fn(u32) -> bool,
    leaf: u32,
    want: &Outcome,
    report: &mut PathReport,
) {
    let h = c.h;
    match recover_key(h, ring, available, leaf) {
        Ok((key, used)) => {
            report.keys_returned += 1;
            report.known_limit += u64::from(c.judge(leaf, &key, want.key(), "recover_key"));
            for r in used {
                assert!(
                    h.is_root(r) && available(r),
                    "recover_key used {r}, not an available root"
                );
            }
        }
        Err(Error::Unrecoverable { key }) => {
            report.unrecoverable += 1;
            assert_eq!(
                key,
                u64::from(leaf),
                "recover_key names another key as unrecoverable"
            );
            assert_eq!(
                *want,
                Outcome::Unrecoverable,
                "recover_key found leaf {leaf} unrecoverable; the model: {want:?}"
            );
        }
        Err(Error::UnwrapFailed) => {
            report.refused += 1;
            assert_eq!(
                *want,
                Outcome::Fail,
                "recover_key refused leaf {leaf}; the model: {want:?}"
            );
        }
        Err(e) => panic!("recover_key failed with an unexpected error: {e:?}"),
    }
}
