//! The reference model of `unwrap_path`: every wrap the harness made,
//! catalogued by its payload bytes with the KEK keys and contexts it was made
//! under and the key or share it holds ([`WrapCatalogue`]), and a walk over
//! the nodes that picks slots as the recovery engine does but replaces every
//! unwrap by a lookup ([`model_all`]). It predicts outcomes; it never calls
//! the engine's recovery or reach code, and judges nothing itself.

use std::collections::HashMap;

use crate::crypto::prf::Prf;
use crate::crypto::scheme::WrapContext;
use crate::crypto::secret::Key256;
use crate::crypto::shamir;
use crate::engine::generate::slot_secrets;
use crate::graph::hierarchy::Hierarchy;
use crate::store::keyring::Keyring;

/// A wrap the harness made, by its payload: what opens it and what it holds.
struct Origin {
    /// The KEK key of each layer, innermost first.
    kek_keys: Vec<Key256>,
    /// The context of each layer, as wrapped.
    contexts: Vec<WrapContext>,
    /// The key or share wrapped.
    secret: Key256,
}

/// Every wrap the harness made, by payload bytes.
#[derive(Default)]
pub(super) struct WrapCatalogue(HashMap<Vec<u8>, Origin>);

impl WrapCatalogue {
    /// Records slot `s` of node `n` of `h`, wrapped from `secret` with the keys of `prf`.
    pub(super) fn add(&mut self, h: &Hierarchy, prf: &Prf, n: u32, s: u32, secret: &Key256) {
        let keks = h.slot_keks(s);
        let origin = Origin {
            kek_keys: keks
                .iter()
                .map(|&k| prf.node_key(k, version(h, k)))
                .collect(),
            contexts: (0..keks.len())
                .map(|layer| h.context(n, s, layer))
                .collect(),
            secret: secret.clone(),
        };
        self.0.entry(h.slot_payload(s).to_vec()).or_insert(origin);
    }

    /// Records every slot of a freshly generated `h`.
    pub(super) fn add_all(&mut self, h: &Hierarchy, prf: &Prf) {
        for n in (0..h.nodes()).filter(|&n| !h.is_root(n)) {
            let key = prf.node_key(n, version(h, n));
            let secrets = slot_secrets(h, prf, n, &key);
            for (s, secret) in h.slots_of(n).zip(&secrets) {
                self.add(h, prf, n, s, secret);
            }
        }
    }
}

pub(super) fn version(h: &Hierarchy, n: u32) -> u32 {
    h.version.get(n as usize).copied().unwrap_or(0)
}

/// What the model says opening a node gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    Key(Key256),
    Unrecoverable,
    /// The recovery must fail with an error (a stored wrap does not open).
    Fail,
}

impl Outcome {
    pub(super) fn key(&self) -> Option<&Key256> {
        match self {
            Outcome::Key(k) => Some(k),
            _ => None,
        }
    }
}

/// The reference model of [`crate::engine::recover::open_node`]: the same slot choice
/// (the first `threshold` slots whose KEKs are all open), with every unwrap
/// replaced by a catalogue lookup.
fn model_open_node(
    h: &Hierarchy,
    cat: &WrapCatalogue,
    n: u32,
    key_of: &dyn Fn(u32) -> Option<Key256>,
) -> Outcome {
    let role = &h.design.roles[usize::from(h.role[n as usize])];
    let need = usize::from(role.threshold);
    let mut got: Vec<(u8, Key256)> = Vec::new();
    for s in h.slots_of(n) {
        let Some(keks) = h
            .slot_keks(s)
            .iter()
            .map(|&k| key_of(k))
            .collect::<Option<Vec<Key256>>>()
        else {
            continue;
        };
        let Some(origin) = cat.0.get(h.slot_payload(s)) else {
            return Outcome::Fail;
        };
        let keys_match = origin.kek_keys == keks;
        let contexts_match = !h.scheme.binds_context()
            || (0..keks.len())
                .map(|layer| h.context(n, s, layer))
                .eq(origin.contexts.iter().copied());
        if !keys_match || !contexts_match {
            return Outcome::Fail;
        }
        got.push((h.share_of(n, s), origin.secret.clone()));
        if got.len() == need {
            break;
        }
    }
    if got.len() < need {
        return Outcome::Unrecoverable;
    }
    if role.shares {
        let refs: Vec<(u8, &Key256)> = got.iter().map(|(x, k)| (*x, k)).collect();
        return shamir::combine(&refs).map_or(Outcome::Fail, Outcome::Key);
    }
    got.into_iter()
        .next()
        .map_or(Outcome::Unrecoverable, |(_, k)| Outcome::Key(k))
}

/// The model over every node, in node order. `strict`: a node fails when any
/// of its KEKs fails (how [`crate::engine::recover::recover_key`] walks); otherwise a failed KEK only
/// counts as not open (the whole [`crate::engine::recover::recover_leaves`] fails anyway).
pub(super) fn model_all(
    h: &Hierarchy,
    cat: &WrapCatalogue,
    ring: &Keyring,
    available: &dyn Fn(u32) -> bool,
    strict: bool,
) -> Vec<Outcome> {
    let mut out: Vec<Outcome> = Vec::with_capacity(h.nodes() as usize);
    for n in 0..h.nodes() {
        let o = if h.is_root(n) {
            match ring.get(n) {
                Some((v, k)) if available(n) && v == version(h, n) => Outcome::Key(k.clone()),
                _ => Outcome::Unrecoverable,
            }
        } else if strict
            && h.slots_of(n)
                .flat_map(|s| h.slot_keks(s))
                .any(|&k| out.get(k as usize) == Some(&Outcome::Fail))
        {
            Outcome::Fail
        } else {
            model_open_node(h, cat, n, &|k| {
                out.get(k as usize).and_then(Outcome::key).cloned()
            })
        };
        out.push(o);
    }
    out
}
