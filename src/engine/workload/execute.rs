//! The executor of one part of a change plan: for a node range (the global
//! keys, or one tenant), open from the old state what the plan needs
//! ([`execute_range`]), then redo its stored wraps in parallel runs
//! ([`redo_run`]): single-layer wraps grouped by KEK through the batched path,
//! nested ones peeled and rewrapped layer by layer, each run writing into its
//! own part of the payload arena and metering every wrap and unwrap it does.

use std::collections::HashMap;

use rayon::prelude::*;

use crate::crypto::batch::{Binding, KekCache, KekGroups, PreparedKek, rewrap_many, wrap_many};
use crate::crypto::prf::Prf;
use crate::crypto::scheme::Kek;
use crate::crypto::secret::Key256;
use crate::crypto::shamir;
use crate::crypto::wire::encoded_len;
use crate::engine::generate::slot_secrets;
use crate::engine::plan::{ChangePlan, Redo, chosen_slots};
use crate::error::{Error, Result};
use crate::graph::counts::{Counts, record_len};
use crate::graph::hierarchy::{Hierarchy, NO_KEK};
use crate::graph::skeleton::split_parts;
use crate::store::keyring::Keyring;

/// Old and new material of the keys a change touches, for one tenant (or the globals).
struct Keys<'a> {
    h: &'a Hierarchy,
    plan: &'a ChangePlan,
    ring: &'a Keyring,
    old_roots: &'a HashMap<u32, Key256>,
    prf: &'a Prf,
    /// Opened from the old state (their material is unchanged unless re-keyed).
    opened: HashMap<u32, Key256>,
    outer: Option<&'a HashMap<u32, Key256>>,
}

impl Keys<'_> {
    fn old_version(&self, k: u32) -> u32 {
        self.h.version[k as usize] - u32::from(self.plan.changed(self.h, k))
    }

    /// The prepared KEK of `k` at `version` (a root a backend holds: its KEK there).
    fn prepared(&self, k: u32, version: u32, key: &Key256) -> Result<PreparedKek> {
        PreparedKek::for_node(self.h.scheme, self.ring.root_keks(), k, version, key)
    }

    /// A key as it was before the change.
    fn before(&self, k: u32) -> Result<Key256> {
        if self.h.is_root(k) {
            if let Some(old) = self.old_roots.get(&k) {
                return Ok(old.clone());
            }
            return self
                .ring
                .get(k)
                .map(|(_, key)| key.clone())
                .ok_or(Error::Unrecoverable { key: u64::from(k) });
        }
        self.opened
            .get(&k)
            .or_else(|| self.outer.and_then(|o| o.get(&k)))
            .cloned()
            .ok_or(Error::Unrecoverable { key: u64::from(k) })
    }

    /// A key as it is after the change.
    fn after(&self, k: u32) -> Result<Key256> {
        if self.h.is_root(k) {
            return self
                .ring
                .get(k)
                .map(|(_, key)| key.clone())
                .ok_or(Error::Unrecoverable { key: u64::from(k) });
        }
        if self.plan.rekey[k as usize] {
            return Ok(self.prf.node_key(k, self.h.version[k as usize]));
        }
        self.before(k)
    }
}

/// Metered wrap and unwrap of one layer.
struct Meter {
    c: Counts,
}

impl Meter {
    fn count(&mut self, h: &Hierarchy, k: u32, wrap: bool) {
        self.count_many(h, k, 1, wrap);
    }

    fn count_many(&mut self, h: &Hierarchy, k: u32, n: u64, wrap: bool) {
        if wrap {
            self.c.wraps += n;
        } else {
            self.c.unwraps += n;
        }
        if h.is_root(k) {
            self.c.root_ops += n;
        }
    }
}

/// Executes the part of a change plan in node range `nodes`, writing payloads into `payload`
/// (which starts at slot `slot0`). Returns the counts and the opened keys.
#[allow(clippy::too_many_arguments)]
pub(super) fn execute_range(
    st_h: &Hierarchy,
    plan: &ChangePlan,
    ring: &Keyring,
    old_roots: &HashMap<u32, Key256>,
    prf: &Prf,
    outer: Option<&HashMap<u32, Key256>>,
    nodes: core::ops::Range<u32>,
    redo: &[Redo],
    slot0: u32,
    payload: &mut [u8],
) -> Result<(Counts, HashMap<u32, Key256>)> {
    let h = st_h;
    // The hierarchy's arena is lent out in parts: read this range's old wraps from its own part
    // (every slot read below belongs to a node of this range, and is read before it is rewritten).
    let stored = |payload: &[u8], s: u32| -> Result<Vec<u8>> {
        let len = Hierarchy::wrap_len(h.scheme, h.slot_keks(s).len());
        let off = (s - slot0) as usize * h.stride;
        payload
            .get(off..off + len)
            .map(<[u8]>::to_vec)
            .ok_or(Error::Truncated {
                what: "payload part",
                needed: off + len,
                got: payload.len(),
            })
    };
    let mut keys = Keys {
        h,
        plan,
        ring,
        old_roots,
        prf,
        opened: HashMap::new(),
        outer,
    };
    let mut m = Meter {
        c: Counts::default(),
    };
    let mut cache = KekCache::with_roots(ring.root_keks());
    // 1. open, from the old state, what the plan needs
    for n in nodes.clone() {
        if !plan.open[n as usize] {
            continue;
        }
        let role = &h.design.roles[usize::from(h.role[n as usize])];
        let mut got: Vec<(u8, Key256)> = Vec::new();
        for s in chosen_slots(h, n) {
            let ks = h.slot_keks(s).to_vec();
            let mut buf = stored(payload, s)?;
            for layer in (0..ks.len()).rev() {
                let k = ks[layer];
                let old = keys.before(k)?;
                let kek = cache.get(k, keys.old_version(k), || Kek::new(h.scheme, old.expose()))?;
                let mut ctx = h.context_with(n, s, layer, &|x| keys.old_version(x));
                // a re-shared key's old wraps name the generation before
                ctx.share_gen -= u32::from(plan.reshare[n as usize] && !plan.rekey[n as usize]);
                let mut out = [0u8; 256];
                let len = kek.unwrap(&buf, &ctx, &mut out)?;
                m.count(h, k, false);
                buf.clear();
                buf.extend_from_slice(&out[..len]);
                zeroize::Zeroize::zeroize(&mut out);
            }
            let key = Key256::from_slice(&buf).ok_or(Error::UnwrapFailed);
            zeroize::Zeroize::zeroize(&mut buf);
            got.push((h.share_of(n, s), key?));
        }
        let key = if role.shares {
            let refs: Vec<(u8, &Key256)> = got.iter().map(|(x, k)| (*x, k)).collect();
            shamir::combine(&refs)?
        } else {
            got.swap_remove(0).1
        };
        keys.opened.insert(n, key);
    }
    // 2. redo the stored wraps: runs of consecutive slots in parallel (one giant
    // tenant must not leave a core idle), each writing its own part of the arena.
    let mut cuts: Vec<usize> = (REDO_RUN..redo.len()).step_by(REDO_RUN).collect();
    cuts.dedup();
    let mut bounds: Vec<(usize, usize)> = Vec::new();
    let mut a = 0;
    for &c in cuts.iter().chain(std::iter::once(&redo.len())) {
        if c > a {
            bounds.push((a, c));
        }
        a = c;
    }
    let run_slot0 = |i: usize| {
        if i == 0 {
            slot0
        } else {
            redo[bounds[i].0].slot
        }
    };
    let lens: Vec<usize> = (0..bounds.len())
        .map(|i| {
            let end = if i + 1 < bounds.len() {
                run_slot0(i + 1)
            } else {
                slot0 + (payload.len() / h.stride) as u32
            };
            (end - run_slot0(i)) as usize * h.stride
        })
        .collect();
    let parts = split_parts(payload, lens.into_iter());
    let keys_ref = &keys;
    let counts: Vec<Result<Counts>> = bounds
        .par_iter()
        .zip(parts)
        .enumerate()
        .map(|(i, (&(a, b), part))| redo_run(h, keys_ref, prf, &redo[a..b], run_slot0(i), part))
        .collect();
    for c in counts {
        m.c.add(&c?);
    }
    Ok((m.c, keys.opened))
}

/// Stored wraps per parallel run of the executor.
pub(super) const REDO_RUN: usize = 4096;

/// Redoes a run of stored wraps whose slots start at `slot0` in `payload`.
/// Single-layer wraps are grouped by KEK and go through the batched path;
/// nested ones are peeled and rewrapped layer by layer.
fn redo_run(
    h: &Hierarchy,
    keys: &Keys<'_>,
    prf: &Prf,
    redo: &[Redo],
    slot0: u32,
    payload: &mut [u8],
) -> Result<Counts> {
    let mut m = Meter {
        c: Counts::default(),
    };
    let mut cache = KekCache::with_roots(keys.ring.root_keks());
    let stored = |payload: &[u8], s: u32| -> Result<Vec<u8>> {
        let len = Hierarchy::wrap_len(h.scheme, h.slot_keks(s).len());
        let off = (s - slot0) as usize * h.stride;
        payload
            .get(off..off + len)
            .map(<[u8]>::to_vec)
            .ok_or(Error::Truncated {
                what: "payload part",
                needed: off + len,
                got: payload.len(),
            })
    };
    let mut secrets_of: Option<(u32, Vec<Key256>)> = None;
    let mut secret = |n: u32, s: u32| -> Result<Key256> {
        if !h.design.roles[usize::from(h.role[n as usize])].shares {
            return keys.after(n);
        }
        if secrets_of.as_ref().map(|(x, _)| *x) != Some(n) {
            let key = keys.after(n)?;
            secrets_of = Some((n, slot_secrets(h, prf, n, &key)));
        }
        let pos = (s - h.slot_start[n as usize]) as usize;
        secrets_of
            .as_ref()
            .and_then(|(_, v)| v.get(pos))
            .cloned()
            .ok_or(Error::UnwrapFailed)
    };
    // Single-layer wraps, by (KEK, fresh).
    let mut fresh_groups: KekGroups<(u32, u32, Key256)> = Default::default();
    // Rewraps need only the offsets (the reference schemes find node and slot from them).
    let mut peel_groups: KekGroups<()> = KekGroups::with_capacity(redo.len());
    let record1 = encoded_len(1, Hierarchy::wrap_len(h.scheme, 1)) as u64;
    for r in redo {
        let (n, s) = (r.node, r.slot);
        m.c.wraps_rewritten += 1;
        if r.kek != NO_KEK {
            let k = r.kek;
            m.c.bytes_rewritten += record1;
            let off = (s - slot0) as usize * h.stride;
            if r.fresh {
                fresh_groups.push(k, off, (n, s, secret(n, s)?));
            } else {
                peel_groups.push(k, off, ());
            }
            continue;
        }
        let ks = h.slot_keks(s);
        m.c.bytes_rewritten += record_len(h, s) as u64;
        let from = usize::from(r.from_layer);
        let mut cur: Vec<u8> = if r.fresh {
            secret(n, s)?.expose().to_vec()
        } else {
            // peel the changed layers with the old keys
            let mut cur = stored(payload, s)?;
            for layer in (from..ks.len()).rev() {
                let k = ks[layer];
                let old = keys.before(k)?;
                let kek = cache.get(k, keys.old_version(k), || Kek::new(h.scheme, old.expose()))?;
                let ctx = h.context_with(n, s, layer, &|x| keys.old_version(x));
                let mut out = [0u8; 256];
                let len = kek.unwrap(&cur, &ctx, &mut out)?;
                m.count(h, k, false);
                cur.clear();
                cur.extend_from_slice(&out[..len]);
                zeroize::Zeroize::zeroize(&mut out);
            }
            cur
        };
        for (layer, &k) in ks.iter().enumerate().skip(from) {
            let new = keys.after(k)?;
            let kek = cache.get(k, h.version[k as usize], || {
                Kek::new(h.scheme, new.expose())
            })?;
            let ctx = h.context(n, s, layer);
            let nonce = prf.wrap_nonce(&ctx, &cur);
            let mut out = [0u8; 256];
            let len = kek.wrap(&cur, &ctx, &nonce, &mut out)?;
            m.count(h, k, true);
            cur.clear();
            cur.extend_from_slice(&out[..len]);
        }
        write_slot(payload, slot0, h.stride, s, &cur)?;
        zeroize::Zeroize::zeroize(&mut cur);
    }
    let len = Hierarchy::wrap_len(h.scheme, 1);
    for (k, offs, items) in fresh_groups.groups() {
        let new = keys.prepared(k, h.version[k as usize], &keys.after(k)?)?;
        let ctx = |j: usize| h.context(items[j].0, items[j].1, 0);
        let nonce = |j: usize, pt: &[u8]| prf.wrap_nonce(&ctx(j), pt);
        let b = Binding {
            ctx: &ctx,
            new_ctx: &ctx,
            nonce: &nonce,
        };
        wrap_many(&new, &|j| Ok(items[j].2.clone()), payload, offs, &b)?;
        m.count_many(h, k, items.len() as u64, true);
    }
    for (k, offs, items) in peel_groups.groups() {
        let old = keys.prepared(k, keys.old_version(k), &keys.before(k)?)?;
        let new = keys.prepared(k, h.version[k as usize], &keys.after(k)?)?;
        let slot = |j: usize| slot0 + (offs[j] / h.stride) as u32;
        let old_ctx = |j: usize| {
            let s = slot(j);
            h.context_with(h.node_of_slot(s), s, 0, &|x| keys.old_version(x))
        };
        let new_ctx = |j: usize| h.context(h.node_of_slot(slot(j)), slot(j), 0);
        let nonce = |j: usize, pt: &[u8]| prf.wrap_nonce(&new_ctx(j), pt);
        let b = Binding {
            ctx: &old_ctx,
            new_ctx: &new_ctx,
            nonce: &nonce,
        };
        rewrap_many(&old, &new, payload, offs, len, &b)?;
        let n = items.len() as u64;
        m.count_many(h, k, n, false);
        m.count_many(h, k, n, true);
    }
    Ok(m.c)
}

fn write_slot(payload: &mut [u8], slot0: u32, stride: usize, s: u32, w: &[u8]) -> Result<()> {
    let off = (s - slot0) as usize * stride;
    let got = payload.len();
    let dst = payload
        .get_mut(off..off + w.len())
        .ok_or(Error::OutputTooSmall {
            needed: off + w.len(),
            got,
        })?;
    dst.copy_from_slice(w);
    Ok(())
}
