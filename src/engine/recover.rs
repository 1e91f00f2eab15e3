//! Opening keys from the roots a keyring holds: one slot ([`open_slot`]), one
//! key through its first satisfying slots ([`open_node`], [`recover_key`]),
//! and every leaf in bulk ([`recover_leaves`]), with the prepared KEK of each
//! intermediate built once per thread; they report which roots were used and
//! how many unwraps it took. Who *could* open what, without cryptography, is
//! [`crate::graph::reach`]; opening every slot of every key is
//! [`crate::engine::audit`].
//!
//! Slots are picked as the reach analysis picks them: the first `threshold`
//! slots, in slot order, whose every layer is under an openable key. Nodes
//! are in topological order, so one forward pass settles everything.
//!
//! One concern in one file, past 700 lines: the bulk path (tenants cut into
//! pieces, runs batched by KEK, buffers reused) is most of it, and it shares
//! the slot choice and the counting with the single-key path it must agree
//! with.

use std::collections::HashMap;

use rayon::prelude::*;
use zeroize::Zeroize;

use crate::crypto::batch::KekCache;
use crate::crypto::scheme::Kek;
use crate::crypto::secret::Key256;
use crate::crypto::shamir;
use crate::error::{Error, Result};
use crate::graph::hierarchy::Hierarchy;
use crate::store::keyring::Keyring;

/// Counts of work done by a recovery.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct OpenStats {
    /// Unwrap operations (one per layer opened).
    pub unwraps: u64,
    /// Of which performed with a root key.
    pub root_ops: u64,
    /// Shares combined.
    pub combines: u64,
}

impl OpenStats {
    /// Sums two counts.
    pub fn add(&mut self, o: &OpenStats) {
        self.unwraps += o.unwraps;
        self.root_ops += o.root_ops;
        self.combines += o.combines;
    }
}

/// Opens slot `s` of node `n`, given the keys of its KEKs (innermost first),
/// at the current versions.
pub fn open_slot(
    h: &Hierarchy,
    cache: &mut KekCache,
    n: u32,
    s: u32,
    keks: &[&Key256],
    stats: &mut OpenStats,
) -> Result<Key256> {
    open_slot_with(h, cache, n, s, keks, &|k| h.version[k as usize], stats)
}

/// Opens slot `s` of node `n` with the versions `ver` names (the state before a workload).
pub fn open_slot_with(
    h: &Hierarchy,
    cache: &mut KekCache,
    n: u32,
    s: u32,
    keks: &[&Key256],
    ver: &dyn Fn(u32) -> u32,
    stats: &mut OpenStats,
) -> Result<Key256> {
    let layers = h.slot_keks(s);
    if layers.len() != keks.len() {
        return Err(Error::UnwrapFailed);
    }
    let mut cur = [0u8; 256];
    let payload = h.slot_payload(s);
    cur[..payload.len()].copy_from_slice(payload);
    let mut cur_len = payload.len();
    let mut buf = [0u8; 256];
    let res = (|| {
        for layer in (0..layers.len()).rev() {
            let k = layers[layer];
            let kek = cache.get(k, ver(k), || Kek::new(h.scheme, keks[layer].expose()))?;
            let len = kek.unwrap(&cur[..cur_len], &h.context_with(n, s, layer, ver), &mut buf)?;
            stats.unwraps += 1;
            if h.is_root(k) {
                stats.root_ops += 1;
            }
            cur[..len].copy_from_slice(&buf[..len]);
            cur_len = len;
        }
        Key256::from_slice(&cur[..cur_len]).ok_or(Error::UnwrapFailed)
    })();
    cur.zeroize();
    buf.zeroize();
    res
}

/// Opens node `n` from the keys of its KEKs, as given by `key_of`
/// (`None`: not available). Returns the key, or `Unrecoverable`.
pub fn open_node<'k>(
    h: &Hierarchy,
    cache: &mut KekCache,
    n: u32,
    key_of: &dyn Fn(u32) -> Option<&'k Key256>,
    stats: &mut OpenStats,
) -> Result<Key256> {
    open_node_with(h, cache, n, key_of, &|k| h.version[k as usize], stats)
}

/// [`open_node`] with the versions `ver` names.
pub fn open_node_with<'k>(
    h: &Hierarchy,
    cache: &mut KekCache,
    n: u32,
    key_of: &dyn Fn(u32) -> Option<&'k Key256>,
    ver: &dyn Fn(u32) -> u32,
    stats: &mut OpenStats,
) -> Result<Key256> {
    let role = &h.design.roles[usize::from(h.role[n as usize])];
    let need = usize::from(role.threshold);
    let mut got: Vec<(u8, Key256)> = Vec::with_capacity(need);
    for s in h.slots_of(n) {
        let keks: Option<Vec<&Key256>> = h.slot_keks(s).iter().map(|&k| key_of(k)).collect();
        let Some(keks) = keks else { continue };
        let k = open_slot_with(h, cache, n, s, &keks, ver, stats)?;
        got.push((h.share_of(n, s), k));
        if got.len() == need {
            break;
        }
    }
    if got.len() < need {
        return Err(Error::Unrecoverable { key: u64::from(n) });
    }
    if role.shares {
        stats.combines += 1;
        let refs: Vec<(u8, &Key256)> = got.iter().map(|(x, k)| (*x, k)).collect();
        shamir::combine(&refs)
    } else {
        Ok(got.swap_remove(0).1)
    }
}

/// Recovers one key from the roots `ring` holds for which `available` is true.
/// Returns the key and the roots used.
pub fn recover_key(
    h: &Hierarchy,
    ring: &Keyring,
    available: &dyn Fn(u32) -> bool,
    n: u32,
) -> Result<(Key256, Vec<u32>)> {
    let mut memo: HashMap<u32, Option<Key256>> = HashMap::new();
    let mut roots = Vec::new();
    let mut stats = OpenStats::default();
    let mut cache = KekCache::with_roots(ring.root_keks());
    let k = recover_rec(
        h, ring, available, n, &mut memo, &mut roots, &mut cache, &mut stats,
    )?
    .ok_or(Error::Unrecoverable { key: u64::from(n) })?;
    roots.sort_unstable();
    roots.dedup();
    Ok((k, roots))
}

#[allow(clippy::too_many_arguments)]
fn recover_rec(
    h: &Hierarchy,
    ring: &Keyring,
    available: &dyn Fn(u32) -> bool,
    n: u32,
    memo: &mut HashMap<u32, Option<Key256>>,
    roots: &mut Vec<u32>,
    cache: &mut KekCache,
    stats: &mut OpenStats,
) -> Result<Option<Key256>> {
    if let Some(k) = memo.get(&n) {
        return Ok(k.clone());
    }
    let k = if h.is_root(n) {
        match ring.get(n) {
            Some((v, k)) if available(n) && v == h.version[n as usize] => {
                roots.push(n);
                Some(k.clone())
            }
            _ => None,
        }
    } else {
        // Open the parents this node may need, then the node itself.
        let mut parents: Vec<u32> = h
            .slots_of(n)
            .flat_map(|s| h.slot_keks(s).to_vec())
            .collect();
        parents.sort_unstable();
        parents.dedup();
        let mut keys: HashMap<u32, Key256> = HashMap::new();
        let mut path_roots = Vec::new();
        for p in parents {
            if let Some(k) =
                recover_rec(h, ring, available, p, memo, &mut path_roots, cache, stats)?
            {
                keys.insert(p, k);
            }
        }
        match open_node(h, cache, n, &|k| keys.get(&k), stats) {
            Ok(k) => {
                // Report only the roots below the slots actually used.
                let used = used_parents(h, n, &|k| keys.contains_key(&k));
                roots.extend(
                    path_roots
                        .iter()
                        .copied()
                        .filter(|r| used.iter().any(|&u| u == *r || reaches_root(h, u, *r))),
                );
                Some(k)
            }
            Err(Error::Unrecoverable { .. }) => None,
            Err(e) => return Err(e),
        }
    };
    memo.insert(n, k.clone());
    Ok(k)
}

/// The KEKs of the slots [`open_node`] would use, given which KEKs are open.
pub fn used_parents(h: &Hierarchy, n: u32, open: &dyn Fn(u32) -> bool) -> Vec<u32> {
    let role = &h.design.roles[usize::from(h.role[n as usize])];
    h.slots_of(n)
        .filter(|&s| h.slot_keks(s).iter().all(|&k| open(k)))
        .take(usize::from(role.threshold))
        .flat_map(|s| h.slot_keks(s).to_vec())
        .collect()
}

fn reaches_root(h: &Hierarchy, from: u32, root: u32) -> bool {
    from == root
        || h.slots_of(from)
            .any(|s| h.slot_keks(s).iter().any(|&k| reaches_root(h, k, root)))
}

/// How [`recover_leaves`] treats intermediate keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum CacheMode {
    /// Each intermediate opened once per tenant and kept.
    Cached,
    /// The whole path opened again for every leaf (a service with no cache).
    Cold,
}

/// Totals of a bulk recovery.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct BulkStats {
    /// Work done.
    pub ops: OpenStats,
    /// Leaves recovered.
    pub leaves_recovered: u64,
    /// Leaves that could not be recovered from the available roots.
    pub leaves_unrecoverable: u64,
    /// Root operations by root role name.
    pub root_ops_by_role: Vec<(String, u64)>,
    /// Per tenant: leaves recovered and the wall time of that tenant's work, in ns.
    pub per_tenant_ns: Vec<u64>,
}

/// Recovers every leaf from the roots `ring` holds where `available` is true,
/// calling `sink(leaf, key)` for each recovered leaf (from any thread).
/// Tenants run in parallel.
pub fn recover_leaves(
    h: &Hierarchy,
    ring: &Keyring,
    available: &(dyn Fn(u32) -> bool + Sync),
    mode: CacheMode,
    sink: &(dyn Fn(u32, &Key256) + Sync),
) -> Result<BulkStats> {
    let mut global_stats = OpenStats::default();
    let globals: HashMap<u32, Key256> = if mode == CacheMode::Cached {
        open_range(
            h,
            ring,
            available,
            0..h.tenant_node_start[0],
            &HashMap::new(),
            &mut global_stats,
        )?
    } else {
        HashMap::new()
    };
    // Tenants in pieces of about equal work (see `crate::engine::par`), one rayon job each.
    let weights: Vec<u64> = (0..h.tenants())
        .map(|t| {
            h.tenant_leaves(t)
                + u64::from(h.tenant_group_start[t as usize + 1] - h.tenant_group_start[t as usize])
                + 1
        })
        .collect();
    let target = crate::engine::par::target(weights.iter().sum(), u64::from(LEAF_RUN));
    let pieces = crate::engine::par::pieces(&weights, target);
    // Each piece's tenants run in turn on one thread, reusing its buffers.
    let per: Vec<Result<(Outcome, Vec<u64>)>> = pieces
        .into_par_iter()
        .with_max_len(1)
        .map(|r| {
            let mut o = Outcome::new(h);
            let mut ns = Vec::with_capacity(r.len());
            let mut scratch = Scratch::new(h);
            for t in r {
                let start = std::time::Instant::now();
                // A tenant heavier than a piece is split further: its groups
                // and runs of leaves become rayon jobs.
                let split = weights[t] > target;
                recover_tenant(
                    h,
                    ring,
                    available,
                    mode,
                    &globals,
                    t as u32,
                    split,
                    &mut scratch,
                    &mut o,
                    sink,
                )?;
                ns.push(start.elapsed().as_nanos() as u64);
            }
            Ok((o, ns))
        })
        .collect();
    let mut out = BulkStats {
        ops: global_stats,
        ..BulkStats::default()
    };
    let mut by_role = vec![0u64; h.design.roles.len()];
    for r in per {
        let (o, ns) = r?;
        out.ops.add(&o.stats);
        out.leaves_recovered += o.ok;
        out.leaves_unrecoverable += o.bad;
        for (a, b) in by_role.iter_mut().zip(o.root_ops) {
            *a += b;
        }
        out.per_tenant_ns.extend(ns);
    }
    out.root_ops_by_role = h
        .design
        .roles
        .iter()
        .zip(by_role)
        .filter(|(r, c)| r.is_root() && *c > 0)
        .map(|(r, c)| (r.name.clone(), c))
        .collect();
    Ok(out)
}

/// Keys opened so far, by node.
type KeyMap = HashMap<u32, Key256>;

/// What one part of a bulk recovery did.
#[derive(Default)]
struct Outcome {
    stats: OpenStats,
    ok: u64,
    bad: u64,
    /// Root operations by role.
    root_ops: Vec<u64>,
}

impl Outcome {
    fn new(h: &Hierarchy) -> Self {
        Outcome {
            root_ops: vec![0; h.design.roles.len()],
            ..Outcome::default()
        }
    }

    fn add(&mut self, o: &Outcome) {
        self.stats.add(&o.stats);
        self.ok += o.ok;
        self.bad += o.bad;
        for (a, b) in self.root_ops.iter_mut().zip(&o.root_ops) {
            *a += b;
        }
    }
}

/// Leaves per parallel run within a group.
const LEAF_RUN: u32 = 4096;

/// Buffers a thread reuses from one tenant to the next: most tenants are
/// small, and allocating these per tenant cost more than opening its leaves.
struct Scratch {
    /// The tenant's head keys.
    tenant: KeyMap,
    /// Each group's head keys, by group index within the tenant.
    maps: Vec<KeyMap>,
    /// Runs of leaves.
    runs: Vec<Run>,
    /// Leaves filed by KEK.
    groups: ByKek,
    /// Root operations of tenant heads (not attributed to a role).
    head_root_ops: Vec<u64>,
}

impl Scratch {
    fn new(h: &Hierarchy) -> Self {
        Scratch {
            tenant: KeyMap::new(),
            maps: Vec::new(),
            runs: Vec::new(),
            groups: ByKek::default(),
            head_root_ops: vec![0; h.design.roles.len()],
        }
    }
}

/// Recovers the leaves of tenant `t` into `o`. With `split`, its groups and
/// runs of [`LEAF_RUN`] leaves are rayon jobs (a tenant heavier than a piece
/// of work); without, one pass opens them all, batching by KEK across groups.
#[allow(clippy::too_many_arguments)]
fn recover_tenant(
    h: &Hierarchy,
    ring: &Keyring,
    available: &(dyn Fn(u32) -> bool + Sync),
    mode: CacheMode,
    globals: &KeyMap,
    t: u32,
    split: bool,
    s: &mut Scratch,
    o: &mut Outcome,
    sink: &(dyn Fn(u32, &Key256) + Sync),
) -> Result<()> {
    let groups = h.tenant_group_start[t as usize]..h.tenant_group_start[t as usize + 1];
    // Runs of leaves: whole groups, or pieces of them when split.
    s.runs.clear();
    s.runs.extend(groups.clone().flat_map(|g| {
        let r = h.group_leaf_range(g);
        let step = if split {
            LEAF_RUN
        } else {
            r.len().max(1) as u32
        };
        (r.start..r.end)
            .step_by(step as usize)
            .map(move |a| (g, a..a.saturating_add(step).min(r.end)))
    }));
    if mode == CacheMode::Cold {
        // Every leaf opens its own path from the roots; nothing is kept.
        let cold = |leaves: core::ops::Range<u32>, o: &mut Outcome| -> Result<()> {
            for leaf in leaves {
                let mut cache = KekCache::with_roots(ring.root_keks());
                match open_path(
                    h,
                    ring,
                    available,
                    leaf,
                    &mut cache,
                    &mut o.stats,
                    &mut o.root_ops,
                ) {
                    Ok(k) => {
                        o.ok += 1;
                        sink(leaf, &k);
                    }
                    Err(Error::Unrecoverable { .. }) => o.bad += 1,
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        };
        return over_runs(h, split, &s.runs, &mut s.groups, o, |runs, _, o| {
            runs.iter().try_for_each(|(_, r)| cold(r.clone(), o))
        });
    }
    s.tenant.clear();
    open_range_with(
        h,
        ring,
        available,
        h.tenant_head(t),
        &[globals],
        &mut KekCache::with_roots(ring.root_keks()),
        &mut o.stats,
        &mut s.head_root_ops,
        &mut s.tenant,
    )?;
    // Each group's head (the keys its leaves sit under).
    s.maps.truncate(groups.len());
    s.maps.iter_mut().for_each(KeyMap::clear);
    s.maps.resize_with(groups.len(), KeyMap::new);
    let tenant = &s.tenant;
    let open_group = |g: u32, m: &mut KeyMap, o: &mut Outcome| -> Result<()> {
        let head = h.group_node_start[g as usize]..h.group_leaf_range(g).start;
        if head.is_empty() {
            return Ok(());
        }
        open_range_with(
            h,
            ring,
            available,
            head,
            &[tenant, globals],
            &mut KekCache::with_roots(ring.root_keks()),
            &mut o.stats,
            &mut o.root_ops,
            m,
        )
    };
    if split {
        let parts: Vec<Result<Outcome>> = groups
            .clone()
            .into_par_iter()
            .zip(s.maps.par_iter_mut())
            .map(|(g, m)| {
                let mut po = Outcome::new(h);
                open_group(g, m, &mut po).map(|()| po)
            })
            .collect();
        for p in parts {
            o.add(&p?);
        }
    } else {
        for (g, m) in groups.clone().zip(s.maps.iter_mut()) {
            open_group(g, m, o)?;
        }
    }
    let (first_group, outer, maps) = (groups.start, [&s.tenant, globals], &s.maps);
    over_runs(h, split, &s.runs, &mut s.groups, o, |runs, by_kek, o| {
        open_leaves(h, ring, runs, maps, first_group, &outer, by_kek, o, sink)
    })
}

/// Runs of leaves: (group, leaves).
type Run = (u32, core::ops::Range<u32>);

/// Leaves filed by the KEK of their chosen slot.
type ByKek = crate::crypto::batch::KekGroups<u32>;

/// Calls `f` on all of `runs` at once, into `o` with the reused `groups`;
/// or, with `split`, on each run as a rayon job of its own (each with its
/// own `Outcome`, added to `o`, and its own `KekGroups`).
fn over_runs(
    h: &Hierarchy,
    split: bool,
    runs: &[Run],
    groups: &mut ByKek,
    o: &mut Outcome,
    f: impl Fn(&[Run], &mut ByKek, &mut Outcome) -> Result<()> + Sync,
) -> Result<()> {
    if !split {
        return f(runs, groups, o);
    }
    let parts: Vec<Result<Outcome>> = runs
        .par_iter()
        .map(|run| {
            let mut po = Outcome::new(h);
            let mut kg = ByKek::default();
            f(core::slice::from_ref(run), &mut kg, &mut po).map(|()| po)
        })
        .collect();
    for p in parts {
        o.add(&p?);
    }
    Ok(())
}

/// Opens the leaves of `runs` (group, leaves) into `o`, calling `sink` for
/// each: group `g`'s head keys are `maps[g - first_group]`, the keys above
/// are in `outer`. Leaves whose chosen slot is a single wrap are filed by KEK
/// in `groups`, across all the runs, and opened in batches
/// ([`crate::crypto::batch`]); the others one by one.
#[allow(clippy::too_many_arguments)]
fn open_leaves(
    h: &Hierarchy,
    ring: &Keyring,
    runs: &[Run],
    maps: &[KeyMap],
    first_group: u32,
    outer: &[&KeyMap],
    groups: &mut ByKek,
    o: &mut Outcome,
    sink: &(dyn Fn(u32, &Key256) + Sync),
) -> Result<()> {
    let role = &h.design.roles[usize::from(h.design.leaf_role())];
    let single = role.threshold == 1;
    let mut cache = KekCache::with_roots(ring.root_keks());
    groups.clear();
    let in_outer = |k: u32| outer.iter().find_map(|m| m.get(&k));
    let empty = KeyMap::new();
    for (g, leaves) in runs {
        let here = maps.get((g - first_group) as usize).unwrap_or(&empty);
        let key_of = |k: u32| here.get(&k).or_else(|| in_outer(k));
        // Consecutive leaves mostly sit under the same KEK: remember the last one known open.
        let last_open: core::cell::Cell<Option<u32>> = core::cell::Cell::new(None);
        let is_open = |k: u32| {
            if last_open.get() == Some(k) {
                return true;
            }
            let open = key_of(k).is_some();
            if open {
                last_open.set(Some(k));
            }
            open
        };
        let mut leaf = leaves.start;
        while leaf < leaves.end {
            // The usual case first: a stretch of leaves whose first slot is a
            // single wrap under the KEK the leaf before used (no search, no
            // lookup), filed at once.
            if single && let Some(k) = last_open.get() {
                let stretch = leaf..(leaf..leaves.end)
                    .find(|&l| h.single_first_slot(l) != Some(k))
                    .unwrap_or(leaves.end);
                if !stretch.is_empty() {
                    let starts = &h.slot_start[stretch.start as usize..stretch.end as usize];
                    groups.extend(
                        k,
                        starts.iter().map(|&s| s as usize * h.stride),
                        stretch.clone(),
                    );
                    leaf = stretch.end;
                    continue;
                }
            }
            // Otherwise the first slot whose KEKs are all open.
            let first = h
                .slots_of(leaf)
                .find(|&s| h.slot_keks(s).iter().all(|&k| is_open(k)));
            match first.map(|s| (s, h.slot_keks(s))) {
                Some((s, [k])) if single => {
                    groups.push(*k, s as usize * h.stride, leaf);
                }
                _ => {
                    let before = o.stats.root_ops;
                    match open_node(h, &mut cache, leaf, &key_of, &mut o.stats) {
                        Ok(k) => {
                            count_root_ops(
                                h,
                                leaf,
                                &key_of,
                                o.stats.root_ops - before,
                                &mut o.root_ops,
                            );
                            o.ok += 1;
                            sink(leaf, &k);
                        }
                        Err(Error::Unrecoverable { .. }) => o.bad += 1,
                        Err(e) => return Err(e),
                    }
                }
            }
            leaf += 1;
        }
    }
    for (kek, offs, items) in groups.groups() {
        let key = runs
            .iter()
            .filter_map(|(g, _)| maps.get((g - first_group) as usize))
            .filter(|m| !m.is_empty())
            .find_map(|m| m.get(&kek))
            .or_else(|| in_outer(kek))
            .ok_or(Error::Unrecoverable {
                key: u64::from(kek),
            })?;
        let prepared = crate::crypto::batch::PreparedKek::for_node(
            h.scheme,
            ring.root_keks(),
            kek,
            h.version[kek as usize],
            key,
        )?;
        let ctx = |j: usize| h.context(items[j], (offs[j] / h.stride) as u32, 0);
        let b = crate::crypto::batch::Binding {
            ctx: &ctx,
            new_ctx: &ctx,
            nonce: &|_, _| [0; crate::crypto::scheme::NONCE_LEN],
        };
        let len = Hierarchy::wrap_len(h.scheme, 1);
        crate::crypto::batch::unwrap_many(
            &prepared,
            &h.payload,
            offs,
            len,
            &b,
            |j, k: &Key256| sink(items[j], k),
        )?;
        let n = items.len() as u64;
        o.stats.unwraps += n;
        if h.is_root(kek) {
            o.stats.root_ops += n;
            o.root_ops[usize::from(h.role[kek as usize])] += n;
        }
        o.ok += n;
    }
    Ok(())
}

fn count_root_ops<'k>(
    h: &Hierarchy,
    n: u32,
    key_of: &dyn Fn(u32) -> Option<&'k Key256>,
    ops: u64,
    by_role: &mut [u64],
) {
    if ops == 0 {
        return;
    }
    for k in used_parents(h, n, &|k| key_of(k).is_some()) {
        if h.is_root(k) {
            by_role[usize::from(h.role[k as usize])] += 1;
        }
    }
}

/// Opens the nodes of `range` in order (roots from the ring, the rest from
/// already-open keys in `outer` or earlier in the range).
fn open_range(
    h: &Hierarchy,
    ring: &Keyring,
    available: &(dyn Fn(u32) -> bool + Sync),
    range: core::ops::Range<u32>,
    outer: &HashMap<u32, Key256>,
    stats: &mut OpenStats,
) -> Result<HashMap<u32, Key256>> {
    let mut by_role = vec![0u64; h.design.roles.len()];
    let mut here = HashMap::new();
    open_range_with(
        h,
        ring,
        available,
        range,
        &[outer],
        &mut KekCache::with_roots(ring.root_keks()),
        stats,
        &mut by_role,
        &mut here,
    )?;
    Ok(here)
}

/// [`open_range`] into `here`, with the keys above in `outer`.
#[allow(clippy::too_many_arguments)]
fn open_range_with(
    h: &Hierarchy,
    ring: &Keyring,
    available: &(dyn Fn(u32) -> bool + Sync),
    range: core::ops::Range<u32>,
    outer: &[&HashMap<u32, Key256>],
    cache: &mut KekCache,
    stats: &mut OpenStats,
    by_role: &mut [u64],
    here: &mut HashMap<u32, Key256>,
) -> Result<()> {
    // The range's roots, found in one search of the ring.
    let mut roots = ring.range(range.clone()).peekable();
    for n in range {
        if h.is_root(n) {
            while roots.next_if(|&(m, _, _)| m < n).is_some() {}
            if let Some((_, v, k)) = roots.next_if(|&(m, _, _)| m == n)
                && available(n)
                && v == h.version[n as usize]
            {
                here.insert(n, k.clone());
            }
            continue;
        }
        let key_of = |k: u32| {
            here.get(&k)
                .or_else(|| outer.iter().find_map(|m| m.get(&k)))
        };
        let before = stats.root_ops;
        match open_node(h, cache, n, &key_of, stats) {
            Ok(k) => {
                count_root_ops(h, n, &key_of, stats.root_ops - before, by_role);
                here.insert(n, k);
            }
            Err(Error::Unrecoverable { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Opens `n` from the roots alone, opening every key on the way (cold path).
fn open_path(
    h: &Hierarchy,
    ring: &Keyring,
    available: &(dyn Fn(u32) -> bool + Sync),
    n: u32,
    cache: &mut KekCache,
    stats: &mut OpenStats,
    by_role: &mut [u64],
) -> Result<Key256> {
    if h.is_root(n) {
        return match ring.get(n) {
            Some((v, k)) if available(n) && v == h.version[n as usize] => Ok(k.clone()),
            _ => Err(Error::Unrecoverable { key: u64::from(n) }),
        };
    }
    // Open parents lazily, slot by slot, as open_node would use them.
    let role = &h.design.roles[usize::from(h.role[n as usize])];
    let mut keys: HashMap<u32, Key256> = HashMap::new();
    let mut usable = 0;
    for s in h.slots_of(n) {
        let mut all = true;
        for &k in h.slot_keks(s) {
            if let std::collections::hash_map::Entry::Vacant(e) = keys.entry(k) {
                match open_path(h, ring, available, k, cache, stats, by_role) {
                    Ok(key) => {
                        e.insert(key);
                    }
                    Err(Error::Unrecoverable { .. }) => all = false,
                    Err(e) => return Err(e),
                }
            }
        }
        if all {
            usable += 1;
            if usable == usize::from(role.threshold) {
                break;
            }
        }
    }
    let key_of = |k: u32| keys.get(&k);
    let before = stats.root_ops;
    let r = open_node(h, cache, n, &key_of, stats);
    count_root_ops(h, n, &key_of, stats.root_ops - before, by_role);
    r
}
