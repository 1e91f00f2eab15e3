//! Crypto-free reach: which keys a holder of some keys (and of every stored
//! wrap) can recover, which keys an event of a given extent touches, and how many
//! leaves lie below each key. The exposure and availability analysis, the cost
//! model and the workloads all reason through it; it performs no cryptography.

use crate::graph::design::RoleId;
use crate::graph::hierarchy::Hierarchy;

/// How much of a role an event touches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Extent {
    /// The one key of the role above the most leaves.
    One,
    /// Every key of the role in the largest tenant.
    Tenant,
    /// The role everywhere.
    All,
}

impl Extent {
    /// All extents, narrowest first.
    pub const ALL: [Extent; 3] = [Extent::One, Extent::Tenant, Extent::All];

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Extent::One => "one",
            Extent::Tenant => "tenant",
            Extent::All => "all",
        }
    }

    /// Parses a name.
    pub fn from_name(s: &str) -> Option<Extent> {
        Extent::ALL.into_iter().find(|e| e.name() == s)
    }
}

/// `--scope` on the command line: the names of [`Extent::name`].
impl clap::ValueEnum for Extent {
    fn value_variants<'a>() -> &'a [Self] {
        &Extent::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.name()))
    }
}

/// The ancestors of node `n` (every key above it, through any slot) and `n`
/// itself, ascending: a set [`reach_within`] can evaluate.
pub fn ancestors_of(h: &Hierarchy, n: u32) -> Vec<u32> {
    let mut out = vec![n];
    let mut todo = vec![n];
    while let Some(k) = todo.pop() {
        for s in h.slots_of(k) {
            for &p in h.slot_keks(s) {
                if !out.contains(&p) {
                    out.push(p);
                    todo.push(p);
                }
            }
        }
    }
    out.sort_unstable();
    out
}

/// Leaves below each node (counting each distinct parent of a node once).
pub fn leaves_below(h: &Hierarchy) -> Vec<u64> {
    let mut below = vec![0u64; h.nodes() as usize];
    let mut parents: Vec<u32> = Vec::new();
    for n in (0..h.nodes()).rev() {
        if h.is_leaf(n) {
            below[n as usize] = 1;
        }
        parents.clear();
        for s in h.slots_of(n) {
            parents.extend_from_slice(h.slot_keks(s));
        }
        parents.sort_unstable();
        parents.dedup();
        for &p in &parents {
            below[p as usize] += below[n as usize];
        }
    }
    below
}

/// The tenant with the most leaves (lowest index on ties).
pub fn largest_tenant(h: &Hierarchy) -> u32 {
    (0..h.tenants())
        .max_by_key(|&t| (h.tenant_leaves(t), std::cmp::Reverse(t)))
        .unwrap_or(0)
}

/// The keys of `role` an event of `extent` touches.
pub fn select_keys(h: &Hierarchy, below: &[u64], role: RoleId, extent: Extent) -> Vec<u32> {
    let of_role = (0..h.nodes()).filter(|&n| h.role[n as usize] == role);
    match extent {
        Extent::All => of_role.collect(),
        Extent::Tenant => {
            let t = largest_tenant(h);
            of_role.filter(|&n| h.covers_tenant(n, t)).collect()
        }
        Extent::One => of_role
            .max_by_key(|&n| (below[n as usize], std::cmp::Reverse(n)))
            .into_iter()
            .collect(),
    }
}

/// Result of a [`reach`] pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reach {
    /// Whether each node is recoverable by the holder.
    pub open: Vec<bool>,
    /// For share-based nodes: how many of its shares the holder can open.
    pub shares_open: Vec<u8>,
}

impl Reach {
    /// Leaves recoverable.
    pub fn leaves_open(&self, h: &Hierarchy) -> u64 {
        (0..h.groups())
            .map(|g| {
                h.group_leaf_range(g)
                    .filter(|&n| self.open[n as usize])
                    .count() as u64
            })
            .sum()
    }

    /// Leaves recoverable in tenant `t`.
    pub fn tenant_leaves_open(&self, h: &Hierarchy, t: u32) -> u64 {
        let gs = h.tenant_group_start[t as usize]..h.tenant_group_start[t as usize + 1];
        gs.map(|g| {
            h.group_leaf_range(g)
                .filter(|&n| self.open[n as usize])
                .count() as u64
        })
        .sum()
    }
}

/// Which keys a holder of `held` (roots or any other keys) can recover.
pub fn reach(h: &Hierarchy, held: &(dyn Fn(u32) -> bool + Sync)) -> Reach {
    reach_filtered(h, held, &|_| true)
}

/// [`reach`] over the stored wraps `kept` admits (the others deleted).
pub fn reach_filtered(
    h: &Hierarchy,
    held: &(dyn Fn(u32) -> bool + Sync),
    kept: &dyn Fn(u32) -> bool,
) -> Reach {
    let nodes = h.nodes() as usize;
    let mut open = vec![false; nodes];
    let mut shares_open = vec![0u8; nodes];
    for n in 0..nodes as u32 {
        let (o, sh) = node_reach(h, n, held(n), |k| open[k as usize], kept);
        open[n as usize] = o;
        shares_open[n as usize] = sh;
    }
    Reach { open, shares_open }
}

/// [`reach`] over a part of the graph: which of `nodes` open when the roots
/// `held` admits are held. `nodes` must be ascending and closed upwards
/// (every KEK of every slot of a node in it is in it), as the ancestors of
/// a key are; the answer is then the one [`reach`] gives for those nodes.
/// A node outside `nodes` counts as closed.
pub fn reach_within(h: &Hierarchy, nodes: &[u32], held: &dyn Fn(u32) -> bool) -> Vec<bool> {
    let mut open = vec![false; nodes.len()];
    for (i, &n) in nodes.iter().enumerate() {
        let (done, _) = open.split_at(i);
        let is_open = |k: u32| nodes.binary_search(&k).is_ok_and(|j| j < i && done[j]);
        open[i] = node_reach(h, n, held(n), is_open, &|_| true).0;
    }
    open
}

/// [`reach_filtered`] over the node range `nodes` alone: whether each of
/// them opens, a key outside the range counting as open exactly when it is a
/// root `held` admits. The answer is [`reach_filtered`]'s whenever no key
/// outside the range but a root can open (the keys below one key's wraps,
/// when only wraps inside the range lead from the held roots).
pub fn reach_range(
    h: &Hierarchy,
    nodes: core::ops::Range<u32>,
    held: &dyn Fn(u32) -> bool,
    kept: &dyn Fn(u32) -> bool,
) -> Vec<bool> {
    let start = nodes.start;
    let mut open = vec![false; nodes.len()];
    for n in nodes {
        let (done, _) = open.split_at((n - start) as usize);
        let is_open = |k: u32| match k.checked_sub(start) {
            Some(i) if (i as usize) < done.len() => done[i as usize],
            _ => h.is_root(k) && held(k),
        };
        open[(n - start) as usize] = node_reach(h, n, held(n), is_open, kept).0;
    }
    open
}

fn node_reach(
    h: &Hierarchy,
    n: u32,
    held: bool,
    open: impl Fn(u32) -> bool,
    kept: &dyn Fn(u32) -> bool,
) -> (bool, u8) {
    let role = &h.design.roles[usize::from(h.role[n as usize])];
    if role.is_root() {
        return (held, 0);
    }
    let openable = h
        .slots_of(n)
        .filter(|&s| kept(s) && h.slot_keks(s).iter().all(|&k| open(k)))
        .count();
    let sh = if role.shares { openable as u8 } else { 0 };
    (held || openable >= usize::from(role.threshold), sh)
}
