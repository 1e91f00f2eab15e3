//! The generator: a design, a shape, a scheme and a seed make a hierarchy.
//!
//! Every key is `Prf::node_key(node, version)`, every nonce
//! `Prf::nonce(slot, layer, generation)`, every share polynomial
//! `Prf::key(Share, node, generation)`: pure functions of the seed and of
//! positions. The work is cut into chunks of consecutive nodes that are filled
//! in parallel, each into its own disjoint part of the arrays, so the result
//! is byte-identical whatever the thread count.

use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use crate::design::Design;
use crate::error::{Error, Result};
use crate::keyring::Keyring;
use crate::model::{Hierarchy, Layout, NO_KEK, Position, position_in_group, resolve_parent};
use crate::plan::Counts;
use crate::prf::{Domain, Prf};
use crate::scheme::{Kek, SchemeId};
use crate::secret::Key256;
use crate::shamir;
use crate::shape::Shape;

/// What to generate.
#[derive(Clone, Debug)]
pub struct GenSpec {
    /// The design.
    pub design: Design,
    /// The shape.
    pub shape: Shape,
    /// The wrap scheme.
    pub scheme: SchemeId,
    /// The seed of every key and nonce.
    pub seed: u64,
}

/// Nodes per parallel chunk (giant groups are split into several).
const CHUNK_NODES: u32 = 4096;

/// Builds the hierarchy and its keyring. `progress` is called with the number
/// of nodes finished since its last call (from any thread).
pub fn generate(spec: &GenSpec, progress: &(dyn Fn(u64) + Sync)) -> Result<(Hierarchy, Keyring)> {
    let mut h = skeleton(&spec.design, &spec.shape, spec.scheme, spec.seed)?;
    let prf = Prf::new(spec.seed);
    fill_wraps(&mut h, &prf, progress)?;
    let keyring = Keyring::from_prf(&h, &prf);
    Ok((h, keyring))
}

/// The structure without payloads: layout, roles, versions, slot starts, KEKs.
pub fn skeleton(design: &Design, shape: &Shape, scheme: SchemeId, seed: u64) -> Result<Hierarchy> {
    shape.validate()?;
    if let Some(cap) = design.max_groups_per_tenant
        && shape.groups.max() > cap
    {
        return Err(Error::InvalidShape(format!(
            "design {} allows at most {cap} groups per tenant (Exchange Online: 50 DEPs per tenant); the shape asks for up to {}",
            design.name,
            shape.groups.max()
        )));
    }
    let mut tenant_groups = Vec::with_capacity(shape.tenants as usize);
    let mut group_leaves = Vec::new();
    let mut total: u64 = 0;
    for t in 0..shape.tenants {
        let g = shape.groups_of(t, seed);
        tenant_groups.push(g);
        for j in 0..g {
            let l = shape.leaves_of(t, j, seed);
            total += u64::from(l);
            group_leaves.push(l);
        }
        if total >= u64::from(NO_KEK) {
            return Err(Error::InvalidShape(
                "more than 2^32 leaves: use a smaller shape".into(),
            ));
        }
    }
    skeleton_from_counts(design, scheme, &tenant_groups, &group_leaves)
}

/// The structure from explicit counts: groups of each tenant, leaves of each group.
pub fn skeleton_from_counts(
    design: &Design,
    scheme: SchemeId,
    tenant_groups: &[u32],
    counts: &[u32],
) -> Result<Hierarchy> {
    design.validate()?;
    let layout = Layout::of(design);
    if tenant_groups.is_empty() || tenant_groups.contains(&0) || counts.contains(&0) {
        return Err(Error::InvalidShape(
            "every tenant needs a group and every group a leaf".into(),
        ));
    }
    if tenant_groups.iter().map(|&g| u64::from(g)).sum::<u64>() != counts.len() as u64 {
        return Err(Error::InvalidShape("group counts do not add up".into()));
    }
    if let Some(cap) = design.max_groups_per_tenant
        && tenant_groups.iter().any(|&g| g > cap)
    {
        return Err(Error::InvalidShape(format!(
            "design {} allows at most {cap} groups per tenant",
            design.name
        )));
    }
    let head = layout.group_head();
    let mut tenant_node_start = Vec::with_capacity(tenant_groups.len() + 1);
    let mut tenant_group_start = Vec::with_capacity(tenant_groups.len() + 1);
    let mut group_node_start = Vec::with_capacity(counts.len() + 1);
    let group_leaves = counts.to_vec();
    let mut next: u64 = layout.global_roles.len() as u64;
    let limit = u64::from(NO_KEK) - 1;
    let mut g = 0usize;
    for &tg in tenant_groups {
        tenant_node_start.push(next as u32);
        tenant_group_start.push(g as u32);
        next += layout.tenant_roles.len() as u64;
        for _ in 0..tg {
            group_node_start.push(next as u32);
            next += head + u64::from(group_leaves[g]);
            g += 1;
            if next > limit {
                return Err(Error::InvalidShape(format!(
                    "more than {limit} keys: use a smaller shape"
                )));
            }
        }
    }
    tenant_node_start.push(next as u32);
    tenant_group_start.push(group_leaves.len() as u32);
    group_node_start.push(next as u32);
    let nodes = next as usize;

    // Roles and slot starts, in node order.
    let mut role = Vec::with_capacity(nodes);
    let mut slot_start = Vec::with_capacity(nodes + 1);
    let mut slots: u64 = 0;
    let push = |r: u8, role: &mut Vec<u8>, slot_start: &mut Vec<u32>, slots: &mut u64| {
        role.push(r);
        slot_start.push(*slots as u32);
        *slots += design.roles[usize::from(r)].slots.len() as u64;
    };
    for &r in &layout.global_roles {
        push(r, &mut role, &mut slot_start, &mut slots);
    }
    for t in 0..tenant_groups.len() {
        for &r in &layout.tenant_roles {
            push(r, &mut role, &mut slot_start, &mut slots);
        }
        for g in tenant_group_start[t]..tenant_group_start[t + 1] {
            for &r in &layout.group_roles {
                push(r, &mut role, &mut slot_start, &mut slots);
            }
            for (i, &w) in layout.level_width.iter().enumerate() {
                for _ in 0..w {
                    push(
                        layout.level_roles[i],
                        &mut role,
                        &mut slot_start,
                        &mut slots,
                    );
                }
            }
            for _ in 0..group_leaves[g as usize] {
                push(layout.leaf_role, &mut role, &mut slot_start, &mut slots);
            }
        }
        if slots > limit {
            return Err(Error::InvalidShape(format!(
                "more than {limit} stored wraps: use a smaller shape"
            )));
        }
    }
    slot_start.push(slots as u32);
    let max_layers = design.max_layers();
    let stride = Hierarchy::wrap_len(scheme, max_layers);
    let mut h = Hierarchy {
        design: design.clone(),
        scheme,
        generation: 0,
        tenant_node_start,
        tenant_group_start,
        group_node_start,
        group_leaves,
        group_head: head as u32,
        role,
        version: vec![1; nodes],
        slot_start,
        keks: vec![NO_KEK; slots as usize * max_layers],
        max_layers,
        stride,
        payload: vec![0; slots as usize * stride],
    };
    fill_keks(&mut h, &layout);
    Ok(h)
}

/// Chunks of consecutive nodes: the global head, each tenant head, each group
/// cut into runs of at most [`CHUNK_NODES`].
pub fn chunks(h: &Hierarchy) -> Vec<(u32, u32)> {
    let mut out = vec![(0, h.tenant_node_start[0])];
    for t in 0..h.tenants() {
        let head = h.tenant_head(t);
        out.push((head.start, head.end));
        for g in h.tenant_group_start[t as usize]..h.tenant_group_start[t as usize + 1] {
            let (mut lo, hi) = (h.group_range(g).start, h.group_range(g).end);
            while lo < hi {
                let end = hi.min(lo.saturating_add(CHUNK_NODES));
                out.push((lo, end));
                lo = end;
            }
        }
    }
    out.retain(|(a, b)| a < b);
    out
}

/// Splits `data` into consecutive mutable parts of the given lengths.
pub fn split_parts<T>(mut data: &mut [T], lens: impl Iterator<Item = usize>) -> Vec<&mut [T]> {
    let mut out = Vec::new();
    for len in lens {
        let (a, b) = data.split_at_mut(len);
        out.push(a);
        data = b;
    }
    out
}

/// Position of node `n`, knowing the chunk it lies in starts a known region.
fn position_fast(h: &Hierarchy, layout: &Layout, n: u32, hint_group: Option<u32>) -> Position {
    match hint_group {
        Some(g) => {
            let t = h.tenant_of(n);
            position_in_group(
                layout,
                t,
                g,
                u64::from(n - h.group_node_start[g as usize]),
                u64::from(h.group_leaves[g as usize]),
            )
        }
        None => h.position(layout, n),
    }
}

fn fill_keks(h: &mut Hierarchy, layout: &Layout) {
    let chunks = chunks(h);
    let lens = chunks.iter().map(|&(a, b)| {
        (h.slot_start[b as usize] - h.slot_start[a as usize]) as usize * h.max_layers
    });
    let mut keks = std::mem::take(&mut h.keks);
    let parts = split_parts(&mut keks, lens);
    let hh = &*h;
    chunks.par_iter().zip(parts).for_each(|(&(lo, hi), part)| {
        let group = hh.group_of(lo);
        let slot0 = hh.slot_start[lo as usize];
        for n in lo..hi {
            let pos = position_fast(hh, layout, n, group);
            let role = &hh.design.roles[usize::from(hh.role[n as usize])];
            for (p, s) in hh.slots_of(n).enumerate() {
                let row = &mut part[(s - slot0) as usize * hh.max_layers..][..hh.max_layers];
                for (layer, &pr) in role.slots[p].iter().enumerate() {
                    row[layer] = resolve_parent(
                        layout,
                        &hh.design,
                        pr,
                        pos,
                        |t| hh.tenant_node_start[t as usize],
                        |g| hh.group_node_start[g as usize],
                        |g| u64::from(hh.group_leaves[g as usize]),
                    );
                }
            }
        }
    });
    h.keks = keks;
}

/// A few prepared KEKs, most recent first: consecutive slots mostly share KEKs.
pub struct KekCache {
    entries: Vec<(u32, u32, Kek)>,
}

impl KekCache {
    /// An empty cache (it allocates on its first miss: many callers never miss).
    pub fn new() -> Self {
        KekCache {
            entries: Vec::new(),
        }
    }

    /// The prepared KEK of `(node, version)`, built with `make` on a miss.
    pub fn get(
        &mut self,
        node: u32,
        version: u32,
        make: impl FnOnce() -> Result<Kek>,
    ) -> Result<&Kek> {
        if let Some(i) = self
            .entries
            .iter()
            .position(|(n, v, _)| *n == node && *v == version)
        {
            if i != 0 {
                self.entries.swap(0, i);
            }
        } else {
            let kek = make()?;
            if self.entries.len() == 8 {
                self.entries.pop();
            }
            self.entries.insert(0, (node, version, kek));
        }
        Ok(&self.entries[0].2)
    }
}

impl Default for KekCache {
    fn default() -> Self {
        Self::new()
    }
}

/// Shares (or the whole key) that node `n`'s slots hold, in slot order.
pub fn slot_secrets(
    h: &Hierarchy,
    prf: &Prf,
    n: u32,
    key: &Key256,
    generation: u32,
) -> Vec<Key256> {
    let role = &h.design.roles[usize::from(h.role[n as usize])];
    if !role.shares {
        return vec![key.clone(); role.slots.len()];
    }
    let coeffs: Vec<Key256> = (1..role.threshold)
        .map(|i| {
            prf.key(
                Domain::Share,
                (u64::from(n) << 8) | u64::from(i),
                generation,
            )
        })
        .collect();
    (1..=role.slots.len() as u8)
        .map(|x| shamir::share(key, &coeffs, x))
        .collect()
}

/// Wraps `secret` through every layer of slot `s` of node `n`, writing the
/// payload. `kek_key(k)` gives the material of KEK node `k` at its current version.
#[allow(clippy::too_many_arguments)]
pub fn wrap_slot(
    h: &Hierarchy,
    prf: &Prf,
    cache: &mut KekCache,
    n: u32,
    s: u32,
    secret: &Key256,
    generation: u32,
    kek_key: &dyn Fn(u32) -> Result<Key256>,
    out: &mut [u8],
) -> Result<usize> {
    let keks = h.slot_keks(s);
    let mut buf = [0u8; 256];
    let mut cur = [0u8; 256];
    cur[..32].copy_from_slice(secret.expose());
    let mut cur_len = 32;
    for (layer, &k) in keks.iter().enumerate() {
        let kek = cache.get(k, h.version[k as usize], || {
            Kek::new(h.scheme, kek_key(k)?.expose())
        })?;
        let ctx = h.context(n, s, layer);
        let nonce = prf.nonce(s, layer as u8, generation);
        let len = kek.wrap(&cur[..cur_len], &ctx, &nonce, &mut buf)?;
        cur[..len].copy_from_slice(&buf[..len]);
        cur_len = len;
    }
    zeroize::Zeroize::zeroize(&mut buf);
    let got = out.len();
    let dst = out.get_mut(..cur_len).ok_or(Error::OutputTooSmall {
        needed: cur_len,
        got,
    })?;
    dst.copy_from_slice(&cur[..cur_len]);
    zeroize::Zeroize::zeroize(&mut cur);
    Ok(cur_len)
}

fn fill_wraps(h: &mut Hierarchy, prf: &Prf, progress: &(dyn Fn(u64) + Sync)) -> Result<()> {
    fill_wraps_metered(h, prf, progress).map(|_| ())
}

/// Wraps every slot of a skeleton, counting each wrap (and each performed with a root key).
pub fn fill_wraps_metered(
    h: &mut Hierarchy,
    prf: &Prf,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Counts> {
    let chunks = chunks(h);
    let lens = chunks
        .iter()
        .map(|&(a, b)| (h.slot_start[b as usize] - h.slot_start[a as usize]) as usize * h.stride);
    let mut payload = std::mem::take(&mut h.payload);
    let parts = split_parts(&mut payload, lens);
    let hh = &*h;
    let done = AtomicU64::new(0);
    let kek_key = |k: u32| Ok(prf.node_key(k, hh.version[k as usize]));
    let res: Result<Vec<Counts>> = chunks
        .par_iter()
        .zip(parts)
        .map(|(&(lo, hi), part)| {
            let mut cache = KekCache::new();
            let mut c = Counts::default();
            let slot0 = hh.slot_start[lo as usize];
            // Single-layer slots are grouped by KEK and wrapped in batches; nested slots one by one.
            let mut by_kek: KekGroups<(u32, u32, Key256)> = KekGroups::default();
            for n in lo..hi {
                if hh.is_root(n) {
                    continue;
                }
                let key = prf.node_key(n, hh.version[n as usize]);
                let secrets = slot_secrets(hh, prf, n, &key, hh.generation);
                for (s, secret) in hh.slots_of(n).zip(secrets) {
                    for &k in hh.slot_keks(s) {
                        c.wraps += 1;
                        c.root_ops += u64::from(hh.is_root(k));
                    }
                    c.wraps_rewritten += 1;
                    c.bytes_rewritten += crate::plan::record_len(hh, s) as u64;
                    match hh.slot_keks(s) {
                        [k] => by_kek.push(*k, (s - slot0) as usize * hh.stride, (n, s, secret)),
                        _ => {
                            let off = (s - slot0) as usize * hh.stride;
                            wrap_slot(
                                hh,
                                prf,
                                &mut cache,
                                n,
                                s,
                                &secret,
                                hh.generation,
                                &kek_key,
                                &mut part[off..off + hh.stride],
                            )?;
                        }
                    }
                }
            }
            for (kek, offs, items) in by_kek.groups() {
                let prepared = crate::batch::PreparedKek::new(hh.scheme, &kek_key(kek)?)?;
                let ctx = |j: usize| hh.context(items[j].0, items[j].1, 0);
                let nonce = |j: usize| prf.nonce(items[j].1, 0, hh.generation);
                let b = crate::batch::Binding {
                    ctx: &ctx,
                    new_ctx: &ctx,
                    nonce: &nonce,
                };
                crate::batch::wrap_many(&prepared, &|j| Ok(items[j].2.clone()), part, offs, &b)?;
            }
            let nodes = u64::from(hi - lo);
            done.fetch_add(nodes, Ordering::Relaxed);
            progress(nodes);
            Ok(c)
        })
        .collect();
    h.payload = payload;
    let mut total = Counts::default();
    for c in res? {
        total.add(&c);
    }
    Ok(total)
}

/// Work items grouped by KEK, in the order each KEK was first seen: per KEK,
/// the arena offsets of its stored wraps (ready for [`crate::batch`]) and an
/// item of the caller's for each.
pub struct KekGroups<T> {
    index: std::collections::HashMap<u32, usize>,
    last: Option<(u32, usize)>,
    /// The first `used` are in use; the rest are kept (empty) for reuse.
    groups: Vec<(u32, Vec<usize>, Vec<T>)>,
    used: usize,
    first_capacity: usize,
}

impl<T> Default for KekGroups<T> {
    fn default() -> Self {
        KekGroups {
            index: std::collections::HashMap::new(),
            last: None,
            groups: Vec::new(),
            used: 0,
            first_capacity: 0,
        }
    }
}

impl<T> KekGroups<T> {
    /// Room for `n` items under the first KEK (the usual case: one KEK per run).
    pub fn with_capacity(n: usize) -> Self {
        KekGroups {
            first_capacity: n,
            ..KekGroups::default()
        }
    }

    /// Empties the groups, keeping their memory for the next use.
    pub fn clear(&mut self) {
        for (_, offs, items) in &mut self.groups[..self.used] {
            offs.clear();
            items.clear();
        }
        self.used = 0;
        self.index.clear();
        self.last = None;
    }

    /// Files the wrap at arena offset `off`, with `item`, under `kek`
    /// (consecutive pushes under one KEK skip the hash).
    pub fn push(&mut self, kek: u32, off: usize, item: T) {
        self.extend(kek, [off].into_iter(), [item].into_iter());
    }

    /// Files wraps at arena offsets `offs`, with `items` (one each, in order),
    /// under `kek`. A stretch filed at once streams into the group's buffers.
    pub fn extend(
        &mut self,
        kek: u32,
        offs: impl ExactSizeIterator<Item = usize>,
        items: impl ExactSizeIterator<Item = T>,
    ) {
        debug_assert_eq!(offs.len(), items.len());
        let g = match self.last {
            Some((k, g)) if k == kek => g,
            _ => {
                let next = self.used;
                let g = *self.index.entry(kek).or_insert(next);
                if g == next {
                    if let Some(slot) = self.groups.get_mut(next) {
                        slot.0 = kek;
                    } else {
                        let cap = core::mem::take(&mut self.first_capacity);
                        self.groups
                            .push((kek, Vec::with_capacity(cap), Vec::with_capacity(cap)));
                    }
                    self.used += 1;
                }
                self.last = Some((kek, g));
                g
            }
        };
        if let Some((_, o, i)) = self.groups.get_mut(g) {
            let n = offs.len().min(items.len());
            o.extend(offs.take(n));
            i.extend(items.take(n));
        }
    }

    /// The groups: each KEK with its offsets and items, in first-seen order.
    pub fn groups(&self) -> impl Iterator<Item = (u32, &[usize], &[T])> {
        self.groups[..self.used]
            .iter()
            .map(|(k, o, i)| (*k, o.as_slice(), i.as_slice()))
    }
}
