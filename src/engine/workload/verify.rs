//! Verification, timed and metered apart from the workload: the keys every
//! leaf must have ([`Expected`]), the recovery of every survivor from the new
//! state and its comparison ([`verify_leaves`]), and the adversary's view: the
//! keys an attacker (or the holder of a destroyed root) holds after an event
//! ([`hostile_keys`]), tried against every stored wrap of the new state, which
//! must all refuse them ([`try_hostile`]). It reads a state; it never changes one.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::crypto::batch::KekCache;
use crate::crypto::prf::Prf;
use crate::crypto::root::RootKeks;
use crate::crypto::scheme::Kek;
use crate::crypto::secret::Key256;
use crate::crypto::shamir;
use crate::engine::plan::ChangePlan;
use crate::engine::recover::{CacheMode, OpenStats, open_slot, recover_leaves};
use crate::error::{Error, Result};
use crate::graph::hierarchy::Hierarchy;

use super::rows::Verification;
use super::state::State;

/// Expected leaf keys, by node (zeroized on drop).
pub(super) struct Expected {
    pub(super) keys: Vec<Option<Key256>>,
}

impl Expected {
    pub(super) fn of(st: &State) -> Result<(Expected, u64)> {
        let h = &st.h;
        let mut keys: Vec<Option<Key256>> = vec![None; h.nodes() as usize];
        let mut unwraps = 0;
        match st.gen_seed {
            Some(seed) => {
                let prf = Prf::new(seed);
                for g in 0..h.groups() {
                    for n in h.group_leaf_range(g) {
                        keys[n as usize] = Some(prf.node_key(n, h.version[n as usize]));
                    }
                }
            }
            None => {
                let got = Mutex::new(Vec::new());
                let stats = recover_leaves(h, &st.ring, &|_| true, CacheMode::Cold, &|n, k| {
                    if let Ok(mut g) = got.lock() {
                        g.push((n, k.clone()));
                    }
                })?;
                unwraps = stats.ops.unwraps;
                for (n, k) in got.into_inner().map_err(|_| Error::Shares("poisoned"))? {
                    keys[n as usize] = Some(k);
                }
            }
        }
        Ok((Expected { keys }, unwraps))
    }
}

/// A 64-bit fingerprint of a key: the XOR of its four words, each rotated
/// apart, so that any change confined to one word (a semiblock, as a KW bug
/// would make) always changes it. 0 stands for "no key expected" (a key
/// fingerprinting to 0 would pass there: probability 2^-64).
pub(super) fn fingerprint(k: &Key256) -> u64 {
    let w = k.expose().as_chunks::<8>().0;
    w.iter().enumerate().fold(0u64, |x, (i, c)| {
        x ^ u64::from_le_bytes(*c).rotate_left(16 * i as u32)
    })
}

/// Recovers every leaf from the current state with the roots `available`
/// admits and compares with `expected`; leaves with no expected key must not recover.
pub(super) fn verify_leaves(
    st: &State,
    expected: &Expected,
    available: &(dyn Fn(u32) -> bool + Sync),
) -> Result<Verification> {
    let start = Instant::now();
    let bad = Mutex::new((0u64, 0u64));
    let stats =
        recover_leaves(
            &st.h,
            &st.ring,
            available,
            CacheMode::Cached,
            &|n, k| match &expected.keys[n as usize] {
                Some(e) if e == k => {}
                Some(_) => {
                    if let Ok(mut b) = bad.lock() {
                        b.0 += 1;
                    }
                }
                None => {
                    if let Ok(mut b) = bad.lock() {
                        b.1 += 1;
                    }
                }
            },
        )?;
    let (wrong, extra) = bad.into_inner().unwrap_or((u64::MAX, u64::MAX));
    let must = expected.keys.iter().filter(|k| k.is_some()).count() as u64;
    let ok_count = stats.leaves_recovered - wrong - extra;
    Ok(Verification {
        verified: wrong == 0 && extra == 0 && ok_count == must,
        leaves_checked: ok_count,
        leaves_wrong: wrong + (must - ok_count.min(must)),
        leaves_not_shredded: extra,
        unwraps: stats.ops.unwraps,
        seconds: start.elapsed().as_secs_f64(),
        ..Verification::default()
    })
}

/// Failures named in a row (the audit counts them all).
const NAMED_FAILURES: usize = 20;

/// Adds the audit of every stored wrap of every slot (of the keys `include`
/// admits) to `v`: a slot that does not open, or opens to another key than
/// its siblings, fails the verification and is named.
pub(super) fn audit_into(st: &State, v: &mut Verification, include: &(dyn Fn(u32) -> bool + Sync)) {
    let start = Instant::now();
    let a = crate::engine::audit::audit_where(&st.h, &st.ring, include);
    v.slots_checked = a.slots_checked;
    v.slots_failed = a.failed;
    v.slot_failures = a
        .failures
        .iter()
        .take(NAMED_FAILURES)
        .map(|f| f.to_string())
        .collect();
    v.unwraps += a.slots_checked;
    v.verified = v.verified && a.ok();
    v.notes.push(if a.ok() {
        format!(
            "every stored wrap of every slot opens and agrees ({} wraps)",
            a.slots_checked
        )
    } else {
        format!("slot audit failed: {}", a.summary())
    });
    v.seconds += start.elapsed().as_secs_f64();
}

/// Keys an adversary holds after the event, by node: for a compromise, the
/// revoked roots and everything they open through the old wraps (and the
/// shares they open); for a rotation, the retired root versions alone.
/// With roots in a backend, the old roots are held as their KEKs in the
/// backend (`held`): the reference keeps the old version alive there until
/// the check is done, so the adversary's copy is really tried.
pub(super) struct Hostile {
    keys: HashMap<u32, Key256>,
    held: HashMap<u32, Kek>,
    shares: Vec<(u32, u8, Key256)>,
}

pub(super) fn hostile_keys(
    st: &State,
    plan: &ChangePlan,
    compromise: bool,
    unwraps: &mut u64,
) -> Result<Hostile> {
    let h = &st.h;
    let mut keys: HashMap<u32, Key256> = HashMap::new();
    // A compromise: the leaked roots (not the others a remedy rotates); a
    // rotation: every retired version.
    let held = if compromise && !plan.leaked.is_empty() {
        &plan.leaked
    } else {
        &plan.replaced_roots // a rotation (or a plan of one run as a compromise)
    };
    let mut held_keks = HashMap::new();
    for &r in held {
        if let Some((v, k)) = st.ring.get(r) {
            keys.insert(r, k.clone());
            if let Some(kek) = st.ring.root_keks().and_then(|b| b.root_kek(r, v)) {
                held_keks.insert(r, kek);
            }
        }
    }
    let mut shares = Vec::new();
    if !compromise {
        return Ok(Hostile {
            keys,
            held: held_keks,
            shares,
        });
    }
    let mut cache = KekCache::with_roots(st.ring.root_keks());
    for n in 0..h.nodes() {
        if h.is_root(n) {
            continue;
        }
        let role = &h.design.roles[usize::from(h.role[n as usize])];
        let mut got: Vec<(u8, Key256)> = Vec::new();
        for s in h.slots_of(n) {
            let ks = h.slot_keks(s);
            if !ks.iter().all(|k| keys.contains_key(k)) {
                continue;
            }
            let kv: Vec<&Key256> = ks.iter().filter_map(|k| keys.get(k)).collect();
            let mut stats = OpenStats::default();
            let k = open_slot(h, &mut cache, n, s, &kv, &mut stats)?;
            *unwraps += stats.unwraps;
            got.push((h.share_of(n, s), k));
        }
        if got.len() >= usize::from(role.threshold) && !got.is_empty() {
            let key = if role.shares {
                let refs: Vec<(u8, &Key256)> = got.iter().map(|(x, k)| (*x, k)).collect();
                shamir::combine(&refs)?
            } else {
                got.swap_remove(0).1
            };
            keys.insert(n, key);
        } else {
            shares.extend(got.into_iter().map(|(x, k)| (n, x, k)));
        }
    }
    Ok(Hostile {
        keys,
        held: held_keks,
        shares,
    })
}

/// Tries every stored wrap of the new state whose outermost KEK the adversary
/// holds (at whatever version): peeling that layer with the adversary's key
/// must fail. Returns (attempts, opened). Then each leaked share, combined
/// with the new shares of its key, must not rebuild the key.
pub(super) fn try_hostile(
    h: &Hierarchy,
    roots: Option<&dyn RootKeks>,
    hostile: &Hostile,
    current: &dyn Fn(u32) -> Option<Key256>,
) -> Result<(u64, u64)> {
    let mut attempts = 0u64;
    let mut opened = 0u64;
    let mut out = [0u8; 256];
    for n in 0..h.nodes() {
        for s in h.slots_of(n) {
            let ks = h.slot_keks(s);
            let Some((&outer, _)) = ks.split_last() else {
                continue;
            };
            let Some(key) = hostile.keys.get(&outer) else {
                continue;
            };
            attempts += 1;
            let soft;
            let kek = match hostile.held.get(&outer) {
                Some(k) => k,
                None => {
                    soft = Kek::new(h.scheme, key.expose())?;
                    &soft
                }
            };
            match kek.unwrap(h.slot_payload(s), &h.context(n, s, ks.len() - 1), &mut out) {
                Ok(_) => opened += 1,
                Err(Error::UnwrapFailed) => {}
                Err(e) => return Err(e),
            }
        }
    }
    out.fill(0);
    for (n, x, leaked) in &hostile.shares {
        let Some(key) = current(*n) else { continue };
        let mut cache = KekCache::with_roots(roots);
        let mut stats = OpenStats::default();
        // a new share other than the leaked one's x, opened by the owner
        for s in h.slots_of(*n) {
            if h.share_of(*n, s) == *x {
                continue;
            }
            let kv: Option<Vec<Key256>> = h.slot_keks(s).iter().map(|&k| current(k)).collect();
            let Some(kv) = kv else { continue };
            let refs: Vec<&Key256> = kv.iter().collect();
            let fresh = open_slot(h, &mut cache, *n, s, &refs, &mut stats)?;
            attempts += 1;
            if shamir::combine(&[(*x, leaked), (h.share_of(*n, s), &fresh)])? == key {
                opened += 1;
            }
            break;
        }
    }
    Ok((attempts, opened))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_changes_with_any_change_confined_to_one_word() {
        let base = Key256::from_bytes(core::array::from_fn(|i| (i as u8).wrapping_mul(37)));
        let fp = fingerprint(&base);
        for word in 0..4 {
            // every single bit, and whole-word replacements
            for bit in 0..64 {
                let mut k = base.clone();
                k.expose_mut()[word * 8 + bit / 8] ^= 1 << (bit % 8);
                assert_ne!(fingerprint(&k), fp, "word {word} bit {bit}");
            }
            for fill in [0u8, 0xff, 0x5a] {
                let mut k = base.clone();
                k.expose_mut()[word * 8..word * 8 + 8].fill(fill);
                if k != base {
                    assert_ne!(fingerprint(&k), fp, "word {word} := {fill:#x}");
                }
            }
        }
        // bytes moved from one word to another are seen too
        let mut k = base.clone();
        k.expose_mut().swap(0, 8);
        assert_ne!(fingerprint(&k), fp);
    }
}
