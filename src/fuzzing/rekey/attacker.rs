//! The attacker of `rekey_model`: the key values and shares it learned
//! ([`Knowledge`]), and what those open when it really unwraps stored wraps
//! (every combination of the values it holds for a slot's KEKs, shares
//! combined whenever enough distinct indices are held). It predicts nothing
//! and asserts nothing about the engine; the operations and checks do.

use std::collections::BTreeMap;

use crate::crypto::scheme::Kek;
use crate::crypto::secret::Key256;
use crate::crypto::shamir;
use crate::error::Error;
use crate::graph::hierarchy::Hierarchy;

/// Key values and shares, by node.
#[derive(Clone, Debug, Default)]
pub(super) struct Knowledge {
    pub(super) keys: BTreeMap<u32, Vec<Key256>>,
    pub(super) shares: BTreeMap<u32, Vec<(u8, Key256)>>,
}

impl Knowledge {
    pub(super) fn add_key(&mut self, n: u32, k: Key256) {
        let list = self.keys.entry(n).or_default();
        if !list.iter().any(|x| x.ct_eq(&k)) {
            list.push(k);
        }
    }

    pub(super) fn add_share(&mut self, n: u32, x: u8, k: Key256) {
        let list = self.shares.entry(n).or_default();
        if !list.iter().any(|(y, v)| *y == x && v.ct_eq(&k)) {
            list.push((x, k));
        }
    }

    pub(super) fn knows(&self, n: u32, k: &Key256) -> bool {
        self.keys
            .get(&n)
            .is_some_and(|l| l.iter().any(|x| x.ct_eq(k)))
    }
}

/// A KEK of `h`'s scheme from a 32-byte key.
pub(super) fn kek(h: &Hierarchy, k: &Key256) -> Kek {
    match Kek::new(h.scheme, k.expose()) {
        Ok(kek) => kek,
        Err(e) => panic!("a 32-byte KEK refused under {}: {e}", h.scheme),
    }
}

/// What an attacker holding `know` opens from the stored wraps of `h`, by
/// really unwrapping them (every combination of the values it holds for a
/// slot's KEKs), added to `know`; shares of a share-based key are combined
/// whenever `threshold` of distinct indices are held.
pub(super) fn attacker_closure(h: &Hierarchy, know: &mut Knowledge) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combinations_need_distinct_indices() {
        let k = |b: u8| Key256::from_bytes([b; 32]);
        let shares = vec![(1, k(1)), (1, k(2)), (2, k(3))];
        assert_eq!(combinations(&shares, 2).len(), 2);
        assert_eq!(combinations(&shares, 3).len(), 0);
        assert_eq!(combinations(&shares, 1).len(), 3);
    }
}
