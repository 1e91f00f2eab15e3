//! The structure of a hierarchy without payloads: layout, roles, versions,
//! slot starts and KEKs, from a design and a shape (or from stored counts).
//! No cryptography: [`crate::engine::generate`] fills the wraps.

use rayon::prelude::*;

use crate::crypto::scheme::SchemeId;
use crate::error::{Error, Result};
use crate::graph::design::Design;
use crate::graph::hierarchy::{
    Hierarchy, Layout, NO_KEK, Position, position_in_group, resolve_parent,
};
use crate::graph::shape::Shape;

/// Nodes per parallel chunk (giant groups are split into several).
const CHUNK_NODES: u32 = 4096;

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
        share_gen: Default::default(),
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
