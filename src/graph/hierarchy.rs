//! The key graph: every key of a hierarchy, its slots, and the stored wraps,
//! in struct-of-arrays form.
//!
//! Nodes are numbered in topological order (a key's wrapping keys always have
//! smaller numbers) and laid out so that every tenant, and every group within
//! it, is a contiguous range:
//!
//! ```text
//! [global keys] [tenant 0: tenant keys [group 0: group keys, level-1 keys, ..., leaves] [group 1 ...]] [tenant 1 ...]
//! ```
//!
//! Per node: role (1 byte), version (4), first slot (4). Per slot: its KEKs
//! (4 bytes per layer, `max_layers` wide, padded with [`NO_KEK`]) and its
//! payload in one arena with a fixed stride (the wrap length of a slot with
//! the most layers). Shares are numbered by slot position. There is no
//! allocation per key; a leaf of `m365` under `kw` costs 9 + 4 + 40 = 53 bytes
//! plus its share of the groups' and tenants' keys ([`Hierarchy::bytes_per_leaf`]).
//!
//! This module stores and answers questions about structure. It performs no
//! cryptography: [`crate::engine::generate`] fills it, [`crate::engine::recover`] opens it.

use core::ops::Range;

use crate::crypto::scheme::{GLOBAL_TENANT, SchemeId, WrapContext};
use crate::crypto::secret::KEY_LEN;
use crate::crypto::wire::{KeyRef, StoredWrap};
use crate::error::{Error, Result};
use crate::graph::design::{Design, RoleId, Scope};
use crate::graph::shape::Shape;

/// Filler in the KEK table for a slot with fewer layers than the widest.
pub const NO_KEK: u32 = u32::MAX;

/// Where a node sits: what the generator and resolver need to name its parents.
#[allow(missing_docs)] // fields are the coordinates they name
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
    /// A global key: index among the global roles.
    Global,
    /// A tenant key.
    Tenant(u32),
    /// A group key of tenant's group `g` (global group index).
    Group(u32, u32),
    /// Tree level `level` (1-based), `index` within the group's level.
    Level {
        tenant: u32,
        group: u32,
        level: u8,
        index: u64,
    },
    /// Leaf `ordinal` of group `group`.
    Leaf {
        tenant: u32,
        group: u32,
        ordinal: u64,
    },
}

/// A hierarchy: structure plus stored wraps. Holds no plaintext key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hierarchy {
    /// The design it was built from.
    pub design: Design,
    /// The wrap scheme of every slot.
    pub scheme: SchemeId,
    /// Counter of mutating operations; nonces are unique per (slot, layer, generation).
    pub generation: u32,
    /// First node of each tenant, and one past the last (len tenants + 1).
    pub tenant_node_start: Vec<u32>,
    /// First group of each tenant, and the total (len tenants + 1).
    pub tenant_group_start: Vec<u32>,
    /// First node of each group, and one past the last (len groups + 1).
    pub group_node_start: Vec<u32>,
    /// Number of leaves of each group (they close the group's range).
    pub group_leaves: Vec<u32>,
    /// Nodes of a group before its leaves (group keys and tree levels; from the design).
    pub group_head: u32,
    /// Role of each node.
    pub role: Vec<RoleId>,
    /// Version of each node.
    pub version: Vec<u32>,
    /// Share generation of each share-based key that was re-shared (absent: 0).
    /// A re-share keeps the key and its version and draws a new polynomial;
    /// the generation names the polynomial and is bound into every share wrap.
    /// Sparse: only share-based keys (a few per group) can be in it.
    pub share_gen: std::collections::BTreeMap<u32, u32>,
    /// First slot of each node, and the total (len nodes + 1).
    pub slot_start: Vec<u32>,
    /// KEK table: `max_layers` entries per slot, innermost first, padded with [`NO_KEK`].
    pub keks: Vec<u32>,
    /// Width of the KEK table.
    pub max_layers: usize,
    /// Payload stride (bytes per slot in `payload`).
    pub stride: usize,
    /// Payload arena.
    pub payload: Vec<u8>,
}

/// Static facts about a design's per-group layout.
#[derive(Clone, Debug)]
pub struct Layout {
    /// Roles of the keys before the first tenant, in node order: the global
    /// roles, then each forest's forest-scoped roles, forest by forest.
    pub global_roles: Vec<RoleId>,
    /// Number of global-scope roles (the first entries of `global_roles`).
    pub global_count: usize,
    /// Roles of forest scope, in order (repeated per forest in `global_roles`).
    pub forest_roles: Vec<RoleId>,
    /// Forests.
    pub forests: u32,
    /// Roles of tenant scope, in order.
    pub tenant_roles: Vec<RoleId>,
    /// Roles of group scope, in order.
    pub group_roles: Vec<RoleId>,
    /// Role of each tree level (index 0 is level 1).
    pub level_roles: Vec<RoleId>,
    /// Number of nodes at each level within a group.
    pub level_width: Vec<u64>,
    /// The leaf role.
    pub leaf_role: RoleId,
    /// Index of each role among the roles of its scope.
    pub index_in_scope: Vec<u32>,
}

impl Layout {
    /// The layout of a design.
    pub fn of(design: &Design) -> Layout {
        let pick = |s: Scope| -> Vec<RoleId> {
            (0..design.roles.len() as RoleId)
                .filter(|&r| design.roles[usize::from(r)].scope == s)
                .collect()
        };
        let level_roles: Vec<RoleId> = (1..=design.fanouts.len() as u8)
            .flat_map(|l| pick(Scope::Level(l)))
            .collect();
        let mut level_width = Vec::new();
        let mut w = 1u64;
        for &f in &design.fanouts {
            w *= u64::from(f);
            level_width.push(w);
        }
        let mut index_in_scope = vec![0u32; design.roles.len()];
        for list in [
            pick(Scope::Global),
            pick(Scope::Forest),
            pick(Scope::Tenant),
            pick(Scope::Group),
        ] {
            for (i, r) in list.iter().enumerate() {
                index_in_scope[usize::from(*r)] = i as u32;
            }
        }
        let forest_roles = pick(Scope::Forest);
        let forests = if forest_roles.is_empty() {
            0
        } else {
            design.forests
        };
        let mut global_roles = pick(Scope::Global);
        let global_count = global_roles.len();
        for _ in 0..forests {
            global_roles.extend_from_slice(&forest_roles);
        }
        Layout {
            global_roles,
            global_count,
            forest_roles,
            forests: design.forests,
            tenant_roles: pick(Scope::Tenant),
            group_roles: pick(Scope::Group),
            level_roles,
            level_width,
            leaf_role: design.leaf_role(),
            index_in_scope,
        }
    }

    /// Nodes of a group with `leaves` leaves, before its leaves.
    pub fn group_head(&self) -> u64 {
        self.group_roles.len() as u64 + self.level_width.iter().sum::<u64>()
    }

    /// The width of the bottom level (1 without tree levels).
    pub fn bottom_width(&self) -> u64 {
        self.level_width.last().copied().unwrap_or(1)
    }

    /// Index of the bottom-level node above leaf `ordinal` of `leaves`
    /// (leaves are spread over the bottom level in contiguous runs).
    pub fn bottom_of_leaf(&self, ordinal: u64, leaves: u64) -> u64 {
        (ordinal * self.bottom_width()) / leaves.max(1)
    }
}

impl Hierarchy {
    /// Number of keys.
    pub fn nodes(&self) -> u32 {
        self.role.len() as u32
    }

    /// Number of slots (stored wraps).
    pub fn slots(&self) -> u32 {
        self.slot_start.last().copied().unwrap_or(0)
    }

    /// Number of tenants.
    pub fn tenants(&self) -> u32 {
        (self.tenant_node_start.len() - 1) as u32
    }

    /// Number of groups.
    pub fn groups(&self) -> u32 {
        (self.group_node_start.len() - 1) as u32
    }

    /// Number of leaves.
    pub fn leaves(&self) -> u64 {
        self.group_leaves.iter().map(|&l| u64::from(l)).sum()
    }

    /// The layout of this hierarchy's design.
    pub fn layout(&self) -> Layout {
        Layout::of(&self.design)
    }

    /// Slots of node `n`.
    pub fn slots_of(&self, n: u32) -> Range<u32> {
        self.slot_start[n as usize]..self.slot_start[n as usize + 1]
    }

    /// The node slot `s` belongs to (a binary search: for the reference
    /// schemes' contexts, not for a hot loop).
    pub fn node_of_slot(&self, s: u32) -> u32 {
        // slot_start is non-decreasing; the node is the last one starting at or before s
        (self.slot_start.partition_point(|&start| start <= s) as u32).saturating_sub(1)
    }

    /// The KEKs of slot `s`, innermost first.
    pub fn slot_keks(&self, s: u32) -> &[u32] {
        let row = &self.keks[s as usize * self.max_layers..][..self.max_layers];
        let used = row
            .iter()
            .position(|&k| k == NO_KEK)
            .unwrap_or(self.max_layers);
        &row[..used]
    }

    /// The single KEK of node `n`'s first slot, if that slot is one wrap
    /// (the check on the hot path of a bulk recovery: two loads, no search).
    pub fn single_first_slot(&self, n: u32) -> Option<u32> {
        let s = *self.slot_start.get(n as usize)? as usize;
        if s >= *self.slot_start.get(n as usize + 1)? as usize {
            return None;
        }
        match self
            .keks
            .get(s * self.max_layers..(s + 1) * self.max_layers)?
        {
            [k] | [k, NO_KEK, ..] if *k != NO_KEK => Some(*k),
            _ => None,
        }
    }

    /// Share index (x-coordinate) of slot `s` of node `n`: position + 1 for a
    /// share-based role, 0 otherwise.
    pub fn share_of(&self, n: u32, s: u32) -> u8 {
        if self.design.roles[usize::from(self.role[n as usize])].shares {
            (s - self.slot_start[n as usize] + 1) as u8
        } else {
            0
        }
    }

    /// Length of the wrap in a slot with `layers` layers (keys and shares are 32 bytes).
    pub fn wrap_len(scheme: SchemeId, layers: usize) -> usize {
        let mut len = KEY_LEN;
        for _ in 0..layers {
            len = scheme.wrapped_len(len).unwrap_or(0);
        }
        len
    }

    /// The stored payload of slot `s`.
    pub fn slot_payload(&self, s: u32) -> &[u8] {
        let len = Self::wrap_len(self.scheme, self.slot_keks(s).len());
        &self.payload[s as usize * self.stride..][..len]
    }

    /// Tenant of node `n` ([`GLOBAL_TENANT`] for a global key).
    pub fn tenant_of(&self, n: u32) -> u32 {
        match self.tenant_node_start.partition_point(|&start| start <= n) {
            0 => GLOBAL_TENANT,
            t => (t - 1) as u32,
        }
    }

    /// The forest of node `n`, if it is a forest-scoped key.
    pub fn forest_of_node(&self, n: u32) -> Option<u32> {
        let role = &self.design.roles[usize::from(*self.role.get(n as usize)?)];
        if role.scope != crate::graph::design::Scope::Forest {
            return None;
        }
        // the global section: the global keys, then each forest's, forest by forest
        let count = |s: crate::graph::design::Scope| {
            self.design.roles.iter().filter(|r| r.scope == s).count() as u32
        };
        let global = count(crate::graph::design::Scope::Global);
        let per = count(crate::graph::design::Scope::Forest).max(1);
        Some((n - global) / per)
    }

    /// Whether key `k` is one of tenant `t`'s keys or a shared key above it:
    /// a global key, or the key of `t`'s forest.
    pub fn covers_tenant(&self, k: u32, t: u32) -> bool {
        match self.tenant_of(k) {
            GLOBAL_TENANT => self
                .forest_of_node(k)
                .is_none_or(|f| f == self.design.forest_of(t)),
            kt => kt == t,
        }
    }

    /// The tenants key `k` lies above: its own tenant, its forest's tenants,
    /// or every tenant for a global key.
    pub fn tenants_under(&self, k: u32) -> Vec<u32> {
        match (self.tenant_of(k), self.forest_of_node(k)) {
            (GLOBAL_TENANT, Some(f)) => (0..self.tenants())
                .filter(|&t| self.design.forest_of(t) == f)
                .collect(),
            (GLOBAL_TENANT, None) => (0..self.tenants()).collect(),
            (t, _) => vec![t],
        }
    }

    /// Refuses a tenant this hierarchy does not have.
    pub fn check_tenant(&self, tenant: u32) -> Result<()> {
        if tenant >= self.tenants() {
            return Err(Error::InvalidShape(format!(
                "tenant {tenant} does not exist (the hierarchy has {})",
                self.tenants()
            )));
        }
        Ok(())
    }

    /// Group of node `n`, if it lies in a group (tenant keys lie between groups).
    pub fn group_of(&self, n: u32) -> Option<u32> {
        let g =
            self.group_node_start[..self.groups() as usize].partition_point(|&start| start <= n);
        let g = g.checked_sub(1)? as u32;
        self.group_range(g).contains(&n).then_some(g)
    }

    /// All nodes of group `g`.
    pub fn group_range(&self, g: u32) -> Range<u32> {
        let start = self.group_node_start[g as usize];
        start..start + self.group_head + self.group_leaves[g as usize]
    }

    /// Number of leaves of tenant `t`.
    pub fn tenant_leaves(&self, t: u32) -> u64 {
        let gs = self.tenant_group_start[t as usize]..self.tenant_group_start[t as usize + 1];
        gs.map(|g| u64::from(self.group_leaves[g as usize])).sum()
    }

    /// The range of group `g`'s leaves.
    pub fn group_leaf_range(&self, g: u32) -> Range<u32> {
        let end = self.group_range(g).end;
        end - self.group_leaves[g as usize]..end
    }

    /// The tenant-scoped keys of tenant `t` (before its first group).
    pub fn tenant_head(&self, t: u32) -> Range<u32> {
        let first_group = self.tenant_group_start[t as usize];
        self.tenant_node_start[t as usize]..self.group_node_start[first_group as usize]
    }

    /// Whether node `n` is a root.
    pub fn is_root(&self, n: u32) -> bool {
        self.design.roles[usize::from(self.role[n as usize])].is_root()
    }

    /// Whether node `n` is a leaf.
    pub fn is_leaf(&self, n: u32) -> bool {
        self.role[n as usize] == self.design.leaf_role()
    }

    /// The wrap context of layer `layer` of slot `s` of node `n`, at the current versions.
    pub fn context(&self, n: u32, s: u32, layer: usize) -> WrapContext {
        self.context_with(n, s, layer, &|k| self.version[k as usize])
    }

    /// The wrap context with versions taken from `ver` (e.g. the versions before a workload).
    pub fn context_with(
        &self,
        n: u32,
        s: u32,
        layer: usize,
        ver: &dyn Fn(u32) -> u32,
    ) -> WrapContext {
        let kek = self.slot_keks(s)[layer];
        WrapContext {
            tenant: self.tenant_of(n),
            key_id: u64::from(n),
            key_version: ver(n),
            kek_id: u64::from(kek),
            kek_version: ver(kek),
            scheme: self.scheme,
            share: self.share_of(n, s),
            share_gen: self.share_gen_of(n),
            layer: layer as u8,
        }
    }

    /// Share generation of node `n` (0 unless it is a re-shared share-based key).
    pub fn share_gen_of(&self, n: u32) -> u32 {
        if self.share_gen.is_empty() {
            return 0;
        }
        self.share_gen.get(&n).copied().unwrap_or(0)
    }

    /// Slot `s` of node `n` as a self-describing stored wrap.
    pub fn stored_wrap(&self, n: u32, s: u32) -> StoredWrap {
        StoredWrap {
            payload: self.slot_payload(s).to_vec(),
            ..self.stored_wrap_header(n, s)
        }
    }

    /// Slot `s` of node `n` as a stored wrap without its payload (for comparing headers).
    pub fn stored_wrap_header(&self, n: u32, s: u32) -> StoredWrap {
        StoredWrap {
            scheme: self.scheme,
            share: self.share_of(n, s),
            tenant: self.tenant_of(n),
            key: KeyRef {
                id: u64::from(n),
                version: self.version[n as usize],
            },
            share_gen: self.share_gen_of(n),
            keks: self
                .slot_keks(s)
                .iter()
                .map(|&k| KeyRef {
                    id: u64::from(k),
                    version: self.version[k as usize],
                })
                .collect(),
            payload: Vec::new(),
        }
    }

    /// Position of node `n`.
    pub fn position(&self, layout: &Layout, n: u32) -> Position {
        let t = self.tenant_of(n);
        if t == GLOBAL_TENANT {
            return Position::Global;
        }
        let Some(g) = self.group_of(n) else {
            return Position::Tenant(t);
        };
        position_in_group(
            layout,
            t,
            g,
            u64::from(n - self.group_node_start[g as usize]),
            u64::from(self.group_leaves[g as usize]),
        )
    }

    /// Node holding role `r` for a key at `pos`.
    pub fn resolve(&self, layout: &Layout, r: RoleId, pos: Position) -> u32 {
        resolve_parent(
            layout,
            &self.design,
            r,
            pos,
            |t| self.tenant_node_start[t as usize],
            |g| self.group_node_start[g as usize],
            |g| u64::from(self.group_leaves[g as usize]),
        )
    }

    /// Memory held by the structure, in bytes (capacity of every array).
    pub fn heap_bytes(&self) -> u64 {
        let v = |len: usize, size: usize| (len * size) as u64;
        v(self.tenant_node_start.capacity(), 4)
            + v(self.tenant_group_start.capacity(), 4)
            + v(self.group_node_start.capacity(), 4)
            + v(self.group_leaves.capacity(), 4)
            + v(self.role.capacity(), 1)
            + v(self.version.capacity(), 4)
            + v(self.slot_start.capacity(), 4)
            + v(self.keks.capacity(), 4)
            + v(self.payload.capacity(), 1)
    }

    /// Heap bytes per leaf.
    pub fn bytes_per_leaf(&self) -> f64 {
        self.heap_bytes() as f64 / self.leaves().max(1) as f64
    }

    /// Nodes of each role.
    pub fn count_by_role(&self) -> Vec<u64> {
        let mut c = vec![0u64; self.design.roles.len()];
        for &r in &self.role {
            c[usize::from(r)] += 1;
        }
        c
    }

    /// Checks every structural invariant; what a reader of an untrusted file runs
    /// before anything else touches the arrays.
    pub fn check(&self) -> Result<()> {
        let bad = |m: String| Err(Error::invalid("hierarchy", m));
        self.design.validate()?;
        let nodes = self.role.len();
        let t = self.tenant_node_start.len();
        if t < 2 || self.tenant_group_start.len() != t {
            return bad("tenant tables".into());
        }
        if self.version.len() != nodes
            || self.slot_start.len() != nodes + 1
            || nodes >= NO_KEK as usize
        {
            return bad("node tables of unequal length".into());
        }
        if self.group_node_start.len() < 2
            || self.group_leaves.len() + 1 != self.group_node_start.len()
        {
            return bad("group tables".into());
        }
        if self.max_layers != self.design.max_layers()
            || self.stride != Self::wrap_len(self.scheme, self.max_layers)
        {
            return bad("layer width or stride do not match the design and scheme".into());
        }
        let slots = self.slots() as usize;
        if self.slot_start.first() != Some(&0)
            || self.keks.len() != slots * self.max_layers
            || self.payload.len() != slots * self.stride
        {
            return bad("slot tables of unequal length".into());
        }
        if self.tenant_group_start.first() != Some(&0)
            || *self.tenant_group_start.last().unwrap_or(&0) as usize != self.group_leaves.len()
        {
            return bad("tenant group ranges".into());
        }
        if !self.tenant_node_start.windows(2).all(|w| w[0] <= w[1])
            || !self.tenant_group_start.windows(2).all(|w| w[0] < w[1])
            || !self.group_node_start.windows(2).all(|w| w[0] < w[1])
            || !self.slot_start.windows(2).all(|w| w[0] <= w[1])
        {
            return bad("ranges out of order (every tenant needs at least one group)".into());
        }
        if *self.tenant_node_start.last().unwrap_or(&0) as usize != nodes
            || *self.group_node_start.last().unwrap_or(&0) as usize != nodes
        {
            return bad("ranges do not end at the node count".into());
        }
        // The layout must be exactly what the design implies: recompute it.
        let layout = self.layout();
        if u64::from(self.group_head) != layout.group_head() {
            return bad("group head does not match the design".into());
        }
        if self.tenant_node_start[0] as usize != layout.global_roles.len() {
            return bad("wrong number of global keys".into());
        }
        for tn in 0..self.tenants() as usize {
            let mut next = u64::from(self.tenant_node_start[tn]) + layout.tenant_roles.len() as u64;
            for g in self.tenant_group_start[tn]..self.tenant_group_start[tn + 1] {
                if self.group_leaves[g as usize] == 0
                    || u64::from(self.group_node_start[g as usize]) != next
                {
                    return bad(format!(
                        "tenant {tn}: group {g} is not where its tenant's layout puts it"
                    ));
                }
                next += u64::from(self.group_head) + u64::from(self.group_leaves[g as usize]);
            }
            if next != u64::from(self.tenant_node_start[tn + 1]) {
                return bad(format!("tenant {tn}: groups do not fill the tenant"));
            }
        }
        for n in 0..nodes as u32 {
            let pos = self.position(&layout, n);
            let r = expected_role(&layout, pos, n, self);
            if self.role[n as usize] != r {
                return bad(format!("node {n}: role does not match its position"));
            }
            let role = &self.design.roles[usize::from(r)];
            let slots = self.slots_of(n);
            if slots.len() != role.slots.len() {
                return bad(format!(
                    "node {n}: {} slots, its role has {}",
                    slots.len(),
                    role.slots.len()
                ));
            }
            for (p, s) in slots.enumerate() {
                let want: Vec<u32> = role.slots[p]
                    .iter()
                    .map(|&pr| self.resolve(&layout, pr, pos))
                    .collect();
                let row = &self.keks[s as usize * self.max_layers..][..self.max_layers];
                if row[..want.len()] != want[..] || row[want.len()..].iter().any(|&k| k != NO_KEK) {
                    return bad(format!("node {n}: slot {p} names the wrong wrapping keys"));
                }
            }
        }
        Ok(())
    }
}

fn expected_role(layout: &Layout, pos: Position, n: u32, h: &Hierarchy) -> RoleId {
    match pos {
        Position::Global => layout.global_roles[n as usize],
        Position::Tenant(t) => layout.tenant_roles[(n - h.tenant_node_start[t as usize]) as usize],
        Position::Group(_, g) => layout.group_roles[(n - h.group_node_start[g as usize]) as usize],
        Position::Level { level, .. } => layout.level_roles[usize::from(level) - 1],
        Position::Leaf { .. } => layout.leaf_role,
    }
}

/// Position of the node at offset `off` within group `g` of tenant `t`.
pub fn position_in_group(layout: &Layout, t: u32, g: u32, off: u64, leaves: u64) -> Position {
    let gr = layout.group_roles.len() as u64;
    if off < gr {
        return Position::Group(t, g);
    }
    let mut o = off - gr;
    for (i, &w) in layout.level_width.iter().enumerate() {
        if o < w {
            return Position::Level {
                tenant: t,
                group: g,
                level: (i + 1) as u8,
                index: o,
            };
        }
        o -= w;
    }
    debug_assert!(o < leaves);
    Position::Leaf {
        tenant: t,
        group: g,
        ordinal: o,
    }
}

/// The node of role `r` above a key at `pos`, given the layout's starts.
pub fn resolve_parent(
    layout: &Layout,
    design: &Design,
    r: RoleId,
    pos: Position,
    tenant_start: impl Fn(u32) -> u32,
    group_start: impl Fn(u32) -> u32,
    group_leaves: impl Fn(u32) -> u64,
) -> u32 {
    let idx = layout.index_in_scope[usize::from(r)];
    let (t, g) = match pos {
        Position::Global => (0, 0),
        Position::Tenant(t) => (t, 0),
        Position::Group(t, g)
        | Position::Level {
            tenant: t,
            group: g,
            ..
        }
        | Position::Leaf {
            tenant: t,
            group: g,
            ..
        } => (t, g),
    };
    match design.roles[usize::from(r)].scope {
        Scope::Global => idx,
        Scope::Forest => {
            debug_assert!(
                !matches!(pos, Position::Global),
                "design validation: forest keys are roots, wrapped under nothing"
            );
            let per = layout.forest_roles.len() as u32;
            layout.global_count as u32 + design.forest_of(t) * per + idx
        }
        Scope::Tenant => tenant_start(t) + idx,
        Scope::Group => group_start(g) + idx,
        Scope::Level(l) => {
            let l = usize::from(l);
            // index at the bottom-most level we know of, then walk up to level l
            let (mut level, mut index) = match pos {
                Position::Level { level, index, .. } => (usize::from(level), index),
                Position::Leaf { ordinal, .. } => (
                    layout.level_width.len(),
                    layout.bottom_of_leaf(ordinal, group_leaves(g)),
                ),
                _ => unreachable!("design validation: a level role is only named by finer keys"),
            };
            while level > l {
                index /= u64::from(design.fanouts[level - 1]);
                level -= 1;
            }
            let before: u64 = layout.level_width[..l - 1].iter().sum();
            group_start(g) + layout.group_roles.len() as u32 + (before + index) as u32
        }
        Scope::Leaf => unreachable!("design validation: nothing wraps under a leaf"),
    }
}

/// Shape summary kept beside a hierarchy for reports.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ShapeInfo {
    /// The shape it was generated from.
    pub shape: Option<Shape>,
    /// Tenants.
    pub tenants: u32,
    /// Groups.
    pub groups: u32,
    /// Leaves.
    pub leaves: u64,
}
