//! Risk in numbers: compromise and loss events with annual probabilities,
//! each taking a set of root roles at an extent, turned into the probability
//! that a leaf is exposed (or irrecoverably lost) within a year, exactly,
//! from the graph. No cryptography, no knowledge of which design it runs on.
//!
//! # The model
//!
//! An event `e` has a probability `p_e` per year, roles (by name, or
//! `customer` / `provider` for every root of that owner) and an extent,
//! which says how it splits into independent *instances*, each taking a set
//! of root keys:
//!
//! - `all`: one instance, taking every key of the roles (a provider-wide
//!   compromise);
//! - `tenant`: one instance per tenant, each with probability `p_e`, taking
//!   every key of the roles that tenant's data sits under (its own keys and
//!   shared global ones): the tenants are hit independently;
//! - `key`: one instance per key of the roles, each with probability `p_e`
//!   (one vault's key leaks, one DEP's availability key is lost);
//! - `one`: one instance taking, of each role, the key above the most leaves
//!   (a targeted attack on the biggest key; as `blast`'s extent `one`).
//!
//! All instances are independent. A correlated compromise is one event that
//! takes several roles ("the tenant's key-vault administrators" take `ck1`
//! and `ck2` together).
//!
//! # The formula, per leaf
//!
//! Let `A` be the root keys above a leaf (`k` of them: 3 in `m365`) and, for
//! each instance `i` taking at least one of them, `m_i ⊆ A` the ones it
//! takes. The set `U ⊆ A` of keys taken in a year is the union of the `m_i`
//! of the instances that occur, so
//!
//! ```text
//! P(U = S) = Σ over subsets I of instances with ∪_{i∈I} m_i = S of  ∏_{i∈I} p_i · ∏_{i∉I} (1 − p_i)
//! P(leaf exposed) = Σ_{S ⊆ A} P(U = S) · [the leaf opens from the keys S]
//! P(leaf lost)    = Σ_{S ⊆ A} P(U = S) · [the leaf does not open from A \ S]
//! ```
//!
//! computed exactly by merging instances with the same `m_i` (they act as one
//! with probability `1 − ∏(1 − p_i)`, through `ln_1p`/`exp_m1` so that tiny
//! probabilities keep their digits) and folding them into the distribution of
//! `U` over the `2^k` subsets. Whether the leaf opens from `S` is asked of the
//! graph ([`reach_within`] over the leaf's ancestors: the slots, thresholds
//! and nesting as generated), not of the design's promise.
//!
//! The mean over leaves is also the expected share of leaves exposed (by
//! linearity of expectation); the expected number is that times the leaves.
//!
//! # Any leaf
//!
//! The probability that *some* leaf is exposed (or lost) needs the joint
//! distribution. Instances are grouped by what they touch: keys of several
//! tenants or global keys (global instances `G`), keys of one tenant (`T_t`),
//! keys of one group (`K_g`). Given the global outcome, tenants are
//! independent, and given the tenant's outcome, its groups are, so
//!
//! ```text
//! P(no leaf hit) = Σ_{G'⊆G} P(G') ∏_t Σ_{T'⊆T_t} P(T') ∏_{g∈t} Σ_{K'⊆K_g} P(K') · [no leaf of g hit by G'∪T'∪K']
//! ```
//!
//! enumerated exactly while each of those sets has at most
//! [`MAX_ENUMERATED`] instances (otherwise the figure is not given).

use core::fmt;
use core::str::FromStr;
use std::collections::HashMap;

use crate::crypto::scheme::GLOBAL_TENANT;
use crate::error::{Error, Result};
use crate::graph::design::{Design, Owner, RoleId};
use crate::graph::hierarchy::Hierarchy;
use crate::graph::reach::{
    Extent, ancestors_of, largest_tenant, leaves_below, reach_within, select_keys,
};

/// Most root keys above one leaf (the exact sum runs over `2^k` subsets).
pub const MAX_ROOTS_ABOVE_A_LEAF: usize = 16;

/// Most independent instances of one scope enumerated for "any leaf".
pub const MAX_ENUMERATED: usize = 16;

/// How an event splits into independent instances (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RiskExtent {
    /// One instance: of each role, the key above the most leaves.
    One,
    /// One instance per key of the roles.
    Key,
    /// One instance per tenant: the keys its data sits under.
    Tenant,
    /// One instance: the roles everywhere.
    All,
}

impl RiskExtent {
    /// Every extent, narrowest first.
    pub const ALL: [RiskExtent; 4] = [
        RiskExtent::One,
        RiskExtent::Key,
        RiskExtent::Tenant,
        RiskExtent::All,
    ];

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            RiskExtent::One => "one",
            RiskExtent::Key => "key",
            RiskExtent::Tenant => "tenant",
            RiskExtent::All => "all",
        }
    }

    /// Parses a name.
    pub fn from_name(s: &str) -> Option<RiskExtent> {
        RiskExtent::ALL.into_iter().find(|e| e.name() == s)
    }
}

/// The roots an event takes in a design: a role by name, or every root of an owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoleSel {
    /// A root role by its name (`ck1`).
    Named(String),
    /// Every root role of this owner (typed `customer` or `provider`).
    Owner(Owner),
}

impl RoleSel {
    /// The root roles it names in `design` (empty when the design lacks it).
    pub fn resolve(&self, design: &Design) -> Vec<RoleId> {
        match self {
            RoleSel::Named(n) => design
                .role_by_name(n)
                .filter(|&r| design.roles[usize::from(r)].is_root())
                .into_iter()
                .collect(),
            RoleSel::Owner(o) => design.roots_of(*o),
        }
    }
}

impl fmt::Display for RoleSel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RoleSel::Named(n) => f.write_str(n),
            RoleSel::Owner(o) => f.write_str(o.name()),
        }
    }
}

impl serde::Serialize for RoleSel {
    fn serialize<S: serde::Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

/// A compromise (the keys are leaked) or a loss (nobody has them any more).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// The keys reach an attacker (with a copy of every stored wrap).
    Compromise,
    /// The keys are gone.
    Loss,
}

impl EventKind {
    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Compromise => "compromise",
            EventKind::Loss => "loss",
        }
    }
}

/// One event: `NAME=PROBABILITY:ROLE[,ROLE...][:EXTENT]` on the command line.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct RiskEvent {
    /// Its name.
    pub name: String,
    /// Probability per year of each instance, 0 to 1.
    pub probability: f64,
    /// The roots it takes.
    pub roles: Vec<RoleSel>,
    /// How it splits into instances (`all` when not given).
    pub extent: RiskExtent,
    /// What it stands for (the defaults say; events given on the command line do not).
    pub about: String,
}

impl FromStr for RiskEvent {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad = |why: String| {
            Error::invalid(
                "event",
                format!("{s:?}: {why} (expected NAME=PROBABILITY:ROLE[,ROLE...][:EXTENT])"),
            )
        };
        let (name, rest) = s
            .split_once('=')
            .ok_or_else(|| bad("no `=` after the name".into()))?;
        let name = name.trim();
        if name.is_empty() || name.contains(':') {
            return Err(bad("a name is needed before `=`".into()));
        }
        let parts: Vec<&str> = rest.split(':').collect();
        let (p, roles, extent) = match parts[..] {
            [p, roles] => (p, roles, None),
            [p, roles, e] => (p, roles, Some(e)),
            _ => {
                return Err(bad(
                    "expected PROBABILITY:ROLES or PROBABILITY:ROLES:EXTENT".into(),
                ));
            }
        };
        let probability: f64 = p
            .trim()
            .parse()
            .map_err(|_| bad(format!("probability {p:?} is not a number")))?;
        if !(0.0..=1.0).contains(&probability) {
            return Err(bad(format!(
                "probability {probability} is not between 0 and 1 (a probability per year)"
            )));
        }
        let roles: Vec<RoleSel> = roles
            .split(',')
            .map(str::trim)
            .map(|r| match r {
                "" => Err(bad("an empty role".into())),
                "customer" => Ok(RoleSel::Owner(Owner::Customer)),
                "provider" => Ok(RoleSel::Owner(Owner::Provider)),
                name => Ok(RoleSel::Named(name.to_owned())),
            })
            .collect::<Result<_>>()?;
        let extent = match extent.map(str::trim) {
            None => RiskExtent::All,
            Some(e) => RiskExtent::from_name(e).ok_or_else(|| {
                bad(format!(
                    "unknown extent {e:?}; expected one, key, tenant or all"
                ))
            })?,
        };
        Ok(RiskEvent {
            name: name.to_owned(),
            probability,
            roles,
            extent,
            about: String::new(),
        })
    }
}

/// The events of a risk analysis, and whether each list is the defaults.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Scenario {
    /// Compromise events.
    pub compromises: Vec<RiskEvent>,
    /// Loss events.
    pub losses: Vec<RiskEvent>,
    /// The compromise events are [`Scenario::assumed`]'s, not given.
    pub compromises_assumed: bool,
    /// The loss events are the defaults, not given.
    pub losses_assumed: bool,
}

fn assumed(name: &str, p: f64, roles: RoleSel, extent: RiskExtent, about: &str) -> RiskEvent {
    RiskEvent {
        name: name.into(),
        probability: p,
        roles: vec![roles],
        extent,
        about: about.into(),
    }
}

impl Scenario {
    /// The default events. ASSUMPTIONS, not facts: illustrative annual
    /// probabilities chosen to show the argument of the seed thread (the
    /// provider's availability-key infrastructure, isolated and unreachable
    /// by people, is taken as a hundred times less likely to be compromised
    /// than a tenant's key-vault administrators); replace them with your own.
    pub fn assumed() -> Scenario {
        use RiskExtent::*;
        let (customer, provider) = (
            RoleSel::Owner(Owner::Customer),
            RoleSel::Owner(Owner::Provider),
        );
        Scenario {
            compromises: vec![
                assumed(
                    "customer-admins",
                    0.01,
                    customer.clone(),
                    Tenant,
                    "a tenant's key-vault administrators (or their credentials) compromised: every customer root of that tenant",
                ),
                assumed(
                    "customer-key-leak",
                    0.002,
                    customer.clone(),
                    Key,
                    "one customer key leaks on its own (a mishandled export or backup), each key independently",
                ),
                assumed(
                    "provider-key-infra",
                    0.0001,
                    provider.clone(),
                    All,
                    "the provider's isolated key infrastructure compromised: every provider root everywhere",
                ),
            ],
            losses: vec![
                assumed(
                    "customer-key-deleted",
                    0.01,
                    customer.clone(),
                    Key,
                    "a customer key deleted or its vault lost, each key independently",
                ),
                assumed(
                    "customer-vaults-lost",
                    0.001,
                    customer,
                    Tenant,
                    "all of a tenant's customer keys lost together (subscription cancelled, both vaults deleted)",
                ),
                assumed(
                    "provider-key-lost",
                    0.00001,
                    provider,
                    All,
                    "the provider loses its roots everywhere",
                ),
            ],
            compromises_assumed: true,
            losses_assumed: true,
        }
    }

    /// The events given; an empty list is replaced by the defaults' (and marked assumed).
    pub fn given(compromises: Vec<RiskEvent>, losses: Vec<RiskEvent>) -> Scenario {
        let d = Scenario::assumed();
        Scenario {
            compromises_assumed: compromises.is_empty(),
            losses_assumed: losses.is_empty(),
            compromises: if compromises.is_empty() {
                d.compromises
            } else {
                compromises
            },
            losses: if losses.is_empty() { d.losses } else { losses },
        }
    }

    /// Every event, with its kind.
    pub fn events(&self) -> impl Iterator<Item = (EventKind, &RiskEvent)> {
        let c = self.compromises.iter().map(|e| (EventKind::Compromise, e));
        c.chain(self.losses.iter().map(|e| (EventKind::Loss, e)))
    }

    /// Checks the events against the designs analysed: names unique within a kind, every
    /// role a root of at least one of them (a role named on a design that
    /// lacks it takes nothing there, and the result says so).
    pub fn check(&self, designs: &[Design]) -> Result<()> {
        let mut names: Vec<(EventKind, &str)> = Vec::new();
        for (kind, e) in self.events() {
            if names.contains(&(kind, e.name.as_str())) {
                return Err(Error::invalid(
                    "event",
                    format!(
                        "two {} events are named {:?}: give each its own name",
                        kind.name(),
                        e.name
                    ),
                ));
            }
            names.push((kind, &e.name));
            for r in &e.roles {
                if let RoleSel::Named(n) = r
                    && designs.iter().all(|d| r.resolve(d).is_empty())
                {
                    let mut roots: Vec<String> = Vec::new();
                    for d in designs {
                        for &x in &d.root_roles() {
                            let name = &d.roles[usize::from(x)].name;
                            if !roots.contains(name) {
                                roots.push(name.clone());
                            }
                        }
                    }
                    return Err(Error::invalid(
                        "event",
                        format!(
                            "{}: {n:?} is no root role of the designs analysed (roots: {}; or customer, provider)",
                            e.name,
                            roots.join(", ")
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// A copy with the probability of the `kind` event `name` multiplied by
    /// `factor` (capped at 1).
    pub fn scaled(&self, kind: EventKind, name: &str, factor: f64) -> Scenario {
        let mut s = self.clone();
        let list = match kind {
            EventKind::Compromise => &mut s.compromises,
            EventKind::Loss => &mut s.losses,
        };
        for e in list {
            if e.name == name {
                e.probability = (e.probability * factor).min(1.0);
            }
        }
        s
    }
}

/// Leaves with the same parents: the same keys above them, the same answer.
#[derive(Clone, Debug)]
struct Class {
    tenant: u32,
    group: u32,
    leaves: u64,
    /// The root keys above these leaves, ascending.
    roots: Vec<u32>,
    /// For each subset of `roots` (bit `i`: `roots[i]`), whether it opens the leaves.
    opens: Vec<bool>,
}

impl Class {
    fn full(&self) -> u32 {
        (1u32 << self.roots.len()) - 1
    }

    /// Whether a leaf of the class is hit when the keys `taken` (a subset of `roots`) are taken.
    fn hit(&self, kind: EventKind, taken: u32) -> bool {
        match kind {
            EventKind::Compromise => self.opens[taken as usize],
            EventKind::Loss => !self.opens[(self.full() ^ taken) as usize],
        }
    }
}

/// What instances touch: global keys or several tenants, one tenant, one group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Level {
    Global,
    Tenant(u32),
    Group(u32),
}

/// One independent instance (merged with any other taking the same keys).
#[derive(Clone, Debug)]
struct Instance {
    /// ln(1 − p), so that merging adds.
    ln_survive: f64,
    level: Level,
}

impl Instance {
    fn p(&self) -> f64 {
        -self.ln_survive.exp_m1()
    }
}

/// The instances of `events` on `h`, merged by key set, and which instances take each root.
fn instances(
    h: &Hierarchy,
    below: &[u64],
    events: &[RiskEvent],
) -> (Vec<Instance>, HashMap<u32, Vec<usize>>) {
    let mut by_keys: HashMap<Vec<u32>, f64> = HashMap::new();
    let mut add = |mut keys: Vec<u32>, p: f64| {
        keys.sort_unstable();
        keys.dedup();
        if keys.is_empty() || p <= 0.0 {
            return;
        }
        *by_keys.entry(keys).or_insert(0.0) += (-p).ln_1p();
    };
    let root_nodes: Vec<u32> = (0..h.nodes()).filter(|&n| h.is_root(n)).collect();
    for e in events {
        let roles: Vec<RoleId> = e.roles.iter().flat_map(|r| r.resolve(&h.design)).collect();
        let of_roles = || {
            root_nodes
                .iter()
                .copied()
                .filter(|&n| roles.contains(&h.role[n as usize]))
        };
        match e.extent {
            RiskExtent::All => add(of_roles().collect(), e.probability),
            RiskExtent::Key => of_roles().for_each(|n| add(vec![n], e.probability)),
            RiskExtent::One => add(
                roles
                    .iter()
                    .flat_map(|&r| select_keys(h, below, r, Extent::One))
                    .collect(),
                e.probability,
            ),
            RiskExtent::Tenant => {
                let mut per: HashMap<u32, Vec<u32>> = HashMap::new();
                let mut shared = Vec::new();
                for n in of_roles() {
                    match h.tenant_of(n) {
                        GLOBAL_TENANT => shared.push(n),
                        t => per.entry(t).or_default().push(n),
                    }
                }
                for t in 0..h.tenants() {
                    let mut keys = per.remove(&t).unwrap_or_default();
                    // the global keys, and the tenant's forest's
                    keys.extend(shared.iter().copied().filter(|&k| h.covers_tenant(k, t)));
                    keys.sort_unstable();
                    add(keys, e.probability);
                }
            }
        }
    }
    let mut list: Vec<(Vec<u32>, f64)> = by_keys.into_iter().collect();
    list.sort_by(|a, b| a.0.cmp(&b.0));
    let mut index: HashMap<u32, Vec<usize>> = HashMap::new();
    let out = list
        .into_iter()
        .enumerate()
        .map(|(i, (keys, ln_survive))| {
            for &k in &keys {
                index.entry(k).or_default().push(i);
            }
            let tenants: Vec<u32> = keys.iter().map(|&k| h.tenant_of(k)).collect();
            let groups: Vec<Option<u32>> = keys.iter().map(|&k| h.group_of(k)).collect();
            let level =
                if tenants.contains(&GLOBAL_TENANT) || tenants.windows(2).any(|w| w[0] != w[1]) {
                    Level::Global
                } else if let Some(Some(g)) = groups.first()
                    && groups.iter().all(|x| *x == Some(*g))
                {
                    Level::Group(*g)
                } else {
                    Level::Tenant(tenants[0])
                };
            Instance { ln_survive, level }
        })
        .collect();
    (out, index)
}

/// For one class, the instances taking any of its roots and which of them (a mask).
fn touches(class: &Class, index: &HashMap<u32, Vec<usize>>) -> Vec<(usize, u32)> {
    let mut t: Vec<(usize, u32)> = Vec::new();
    for (bit, r) in class.roots.iter().enumerate() {
        for &i in index.get(r).map(Vec::as_slice).unwrap_or_default() {
            match t.iter_mut().find(|(j, _)| *j == i) {
                Some((_, m)) => *m |= 1 << bit,
                None => t.push((i, 1 << bit)),
            }
        }
    }
    t
}

/// The distribution of the keys taken over the subsets of a class's roots.
fn distribution(k: usize, touch: &[(usize, u32)], inst: &[Instance]) -> Vec<f64> {
    // instances with the same mask act as one
    let mut by_mask: Vec<f64> = vec![0.0; 1 << k];
    for &(i, m) in touch {
        by_mask[m as usize] += inst[i].ln_survive;
    }
    let mut dist = vec![0.0; 1 << k];
    dist[0] = 1.0;
    for (m, &ln_s) in by_mask.iter().enumerate() {
        if m == 0 || ln_s == 0.0 {
            continue;
        }
        let (survive, p) = (ln_s.exp(), -ln_s.exp_m1());
        let mut next = vec![0.0; 1 << k];
        for (x, &d) in dist.iter().enumerate() {
            if d != 0.0 {
                next[x] += d * survive;
                next[x | m] += d * p;
            }
        }
        dist = next;
    }
    dist
}

/// The figures of one kind of event on one design.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct Figures {
    /// Mean over leaves of the probability a leaf is hit within a year
    /// (also the expected share of leaves hit).
    pub p_leaf: f64,
    /// The same, over the largest tenant's leaves.
    pub p_leaf_largest_tenant: f64,
    /// Expected number of leaves hit within a year.
    pub expected_leaves: f64,
    /// Probability some leaf is hit within a year (`None`: too many
    /// independent instances of one scope to enumerate).
    pub p_any_leaf: Option<f64>,
}

/// A design's leaves, grouped by the keys above them, ready to be asked.
pub struct RiskModel<'h> {
    h: &'h Hierarchy,
    below: Vec<u64>,
    classes: Vec<Class>,
    largest: u32,
}

impl<'h> RiskModel<'h> {
    /// Groups `h`'s leaves by their parents and asks the graph, for each
    /// group and each subset of the roots above it, whether it opens.
    pub fn new(h: &'h Hierarchy) -> Result<RiskModel<'h>> {
        let mut classes: Vec<Class> = Vec::new();
        for g in 0..h.groups() {
            let mut here: HashMap<Vec<u32>, usize> = HashMap::new();
            for n in h.group_leaf_range(g) {
                let mut parents: Vec<u32> = h
                    .slots_of(n)
                    .flat_map(|s| h.slot_keks(s).to_vec())
                    .collect();
                parents.sort_unstable();
                parents.dedup();
                if let Some(&c) = here.get(&parents) {
                    classes[c].leaves += 1;
                    continue;
                }
                let closure = ancestors_of(h, n);
                let roots: Vec<u32> = closure.iter().copied().filter(|&k| h.is_root(k)).collect();
                if roots.len() > MAX_ROOTS_ABOVE_A_LEAF {
                    return Err(Error::InvalidArgument(format!(
                        "design {}: {} roots above one leaf; the exact risk sums over 2^k subsets, k at most {MAX_ROOTS_ABOVE_A_LEAF}",
                        h.design.name,
                        roots.len()
                    )));
                }
                let opens = (0..1u32 << roots.len())
                    .map(|m| {
                        let held =
                            |k: u32| roots.binary_search(&k).is_ok_and(|i| m & (1 << i) != 0);
                        reach_within(h, &closure, &held)
                            .last()
                            .copied()
                            .unwrap_or(false)
                    })
                    .collect();
                here.insert(parents, classes.len());
                classes.push(Class {
                    tenant: h.tenant_of(n),
                    group: g,
                    leaves: 1,
                    roots,
                    opens,
                });
            }
        }
        Ok(RiskModel {
            h,
            below: leaves_below(h),
            classes,
            largest: largest_tenant(h),
        })
    }

    /// The figures of `events`, taken as events of `kind`.
    pub fn figures(&self, kind: EventKind, events: &[RiskEvent], any_leaf: bool) -> Figures {
        let h = self.h;
        let (inst, index) = instances(h, &self.below, events);
        let touch: Vec<Vec<(usize, u32)>> =
            self.classes.iter().map(|c| touches(c, &index)).collect();
        let (mut sum, mut sum_largest) = (0.0, 0.0);
        for (c, t) in self.classes.iter().zip(&touch) {
            let dist = distribution(c.roots.len(), t, &inst);
            let p: f64 = dist
                .iter()
                .enumerate()
                .filter(|(m, _)| c.hit(kind, *m as u32))
                .map(|(_, d)| d)
                .sum();
            sum += p * c.leaves as f64;
            if c.tenant == self.largest {
                sum_largest += p * c.leaves as f64;
            }
        }
        let leaves = h.leaves().max(1) as f64;
        let largest = h.tenant_leaves(self.largest).max(1) as f64;
        Figures {
            p_leaf: sum / leaves,
            p_leaf_largest_tenant: sum_largest / largest,
            expected_leaves: sum,
            p_any_leaf: if any_leaf {
                self.p_any(kind, &inst, &touch)
            } else {
                None
            },
        }
    }

    /// Probability some leaf is hit: the nested sum of the module doc.
    fn p_any(
        &self,
        kind: EventKind,
        inst: &[Instance],
        touch: &[Vec<(usize, u32)>],
    ) -> Option<f64> {
        let h = self.h;
        let mut globals: Vec<usize> = Vec::new();
        let mut of_tenant: HashMap<u32, Vec<usize>> = HashMap::new();
        let mut of_group: HashMap<u32, Vec<usize>> = HashMap::new();
        for (i, x) in inst.iter().enumerate() {
            match x.level {
                Level::Global => globals.push(i),
                Level::Tenant(t) => of_tenant.entry(t).or_default().push(i),
                Level::Group(g) => of_group.entry(g).or_default().push(i),
            }
        }
        let too_many = |v: &Vec<usize>| v.len() > MAX_ENUMERATED;
        if too_many(&globals) || of_tenant.values().any(too_many) || of_group.values().any(too_many)
        {
            return None;
        }
        // The classes of each group, by tenant.
        let mut classes_of_group: HashMap<u32, Vec<usize>> = HashMap::new();
        for (ci, c) in self.classes.iter().enumerate() {
            classes_of_group.entry(c.group).or_default().push(ci);
        }
        // The mask a set of instances (bits over `list`) takes of class `ci`'s roots.
        let mask_of = |ci: usize, list: &[usize], subset: u32| -> u32 {
            touch[ci]
                .iter()
                .filter(|(i, _)| {
                    list.iter()
                        .position(|x| x == i)
                        .is_some_and(|b| subset & (1 << b) != 0)
                })
                .fold(0, |m, (_, x)| m | x)
        };
        let p_subset = |list: &[usize], subset: u32| -> f64 {
            list.iter()
                .enumerate()
                .map(|(b, &i)| {
                    if subset & (1 << b) != 0 {
                        inst[i].p()
                    } else {
                        inst[i].ln_survive.exp()
                    }
                })
                .product()
        };
        let none: Vec<usize> = Vec::new();
        let mut total = 0.0;
        for gs in 0..1u32 << globals.len() {
            let pg = p_subset(&globals, gs);
            if pg == 0.0 {
                continue;
            }
            let mut prod = 1.0;
            for t in 0..h.tenants() {
                let ts_list = of_tenant.get(&t).unwrap_or(&none);
                let groups = h.tenant_group_start[t as usize]..h.tenant_group_start[t as usize + 1];
                let mut f_t = 0.0;
                for ts in 0..1u32 << ts_list.len() {
                    let pt = p_subset(ts_list, ts);
                    if pt == 0.0 {
                        continue;
                    }
                    let mut prod_g = 1.0;
                    for g in groups.clone() {
                        let ks_list = of_group.get(&g).unwrap_or(&none);
                        let cls = classes_of_group.get(&g).unwrap_or(&none);
                        let base: Vec<u32> = cls
                            .iter()
                            .map(|&ci| mask_of(ci, &globals, gs) | mask_of(ci, ts_list, ts))
                            .collect();
                        let mut f_g = 0.0;
                        for ks in 0..1u32 << ks_list.len() {
                            let clean = cls.iter().zip(&base).all(|(&ci, &b)| {
                                !self.classes[ci].hit(kind, b | mask_of(ci, ks_list, ks))
                            });
                            if clean {
                                f_g += p_subset(ks_list, ks);
                            }
                        }
                        prod_g *= f_g;
                        if prod_g == 0.0 {
                            break;
                        }
                    }
                    f_t += pt * prod_g;
                }
                prod *= f_t;
                if prod == 0.0 {
                    break;
                }
            }
            total += pg * prod;
        }
        Some((1.0 - total).clamp(0.0, 1.0))
    }
}

/// The risk of one design.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct DesignRisk {
    /// Design.
    pub design: String,
    /// Leaves, tenants, and the largest tenant's leaves.
    pub leaves: u64,
    /// Tenants.
    pub tenants: u32,
    /// Leaves of the largest tenant.
    pub largest_tenant_leaves: u64,
    /// Mean over leaves of P(a leaf is exposed within a year).
    pub p_leaf_exposed: f64,
    /// The same over the largest tenant.
    pub p_leaf_exposed_largest_tenant: f64,
    /// Expected leaves exposed within a year.
    pub expected_leaves_exposed: f64,
    /// P(some leaf is exposed within a year), when enumerable.
    pub p_any_leaf_exposed: Option<f64>,
    /// Mean over leaves of P(a leaf is irrecoverably lost within a year).
    pub p_loss: f64,
    /// The same over the largest tenant.
    pub p_loss_largest_tenant: f64,
    /// Expected leaves lost within a year.
    pub expected_leaves_lost: f64,
    /// P(some leaf is lost within a year), when enumerable.
    pub p_any_leaf_lost: Option<f64>,
    /// Roles the events name that this design lacks (they take nothing here).
    pub roles_absent: Vec<String>,
}

/// The roles `sc` names by name that `design` has no root of, as `event: role`.
fn absent(design: &Design, sc: &Scenario) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (_, e) in sc.events() {
        for r in &e.roles {
            let line = format!("{}: {r}", e.name);
            if matches!(r, RoleSel::Named(_))
                && r.resolve(design).is_empty()
                && !out.contains(&line)
            {
                out.push(line);
            }
        }
    }
    out
}

/// The risk of `h`'s design under `sc`.
pub fn risk(model: &RiskModel<'_>, sc: &Scenario) -> DesignRisk {
    let h = model.h;
    let c = model.figures(EventKind::Compromise, &sc.compromises, true);
    let l = model.figures(EventKind::Loss, &sc.losses, true);
    DesignRisk {
        design: h.design.name.clone(),
        leaves: h.leaves(),
        tenants: h.tenants(),
        largest_tenant_leaves: h.tenant_leaves(model.largest),
        p_leaf_exposed: c.p_leaf,
        p_leaf_exposed_largest_tenant: c.p_leaf_largest_tenant,
        expected_leaves_exposed: c.expected_leaves,
        p_any_leaf_exposed: c.p_any_leaf,
        p_loss: l.p_leaf,
        p_loss_largest_tenant: l.p_leaf_largest_tenant,
        expected_leaves_lost: l.expected_leaves,
        p_any_leaf_lost: l.p_any_leaf,
        roles_absent: absent(&h.design, sc),
    }
}

/// How far one event's probability moves a design's result.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SensitivityRow {
    /// Design.
    pub design: String,
    /// The event.
    pub event: String,
    /// Its kind: it moves `p_leaf_exposed` (compromise) or `p_loss` (loss).
    pub kind: EventKind,
    /// The result with the event as given.
    pub base: f64,
    /// With its probability divided by 10.
    pub at_tenth: f64,
    /// With its probability multiplied by 10 (capped at 1).
    pub at_ten_times: f64,
}

/// For every event, the result of its kind with its probability ÷10 and ×10.
pub fn sensitivity(model: &RiskModel<'_>, sc: &Scenario) -> Vec<SensitivityRow> {
    let h = model.h;
    let mean = |kind: EventKind, s: &Scenario| {
        let events = match kind {
            EventKind::Compromise => &s.compromises,
            EventKind::Loss => &s.losses,
        };
        model.figures(kind, events, false).p_leaf
    };
    let (base_compromise, base_loss) = (mean(EventKind::Compromise, sc), mean(EventKind::Loss, sc));
    sc.events()
        .map(|(kind, e)| SensitivityRow {
            design: h.design.name.clone(),
            event: e.name.clone(),
            kind,
            base: match kind {
                EventKind::Compromise => base_compromise,
                EventKind::Loss => base_loss,
            },
            at_tenth: mean(kind, &sc.scaled(kind, &e.name, 0.1)),
            at_ten_times: mean(kind, &sc.scaled(kind, &e.name, 10.0)),
        })
        .collect()
}

/// Everything `keyhier risk` reports.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct RiskReport {
    /// Whether any figure rests on the default events (ASSUMPTIONS, not facts).
    pub assumptions: bool,
    /// The events.
    pub scenario: Scenario,
    /// The baseline design (provider-managed keys), when analysed.
    pub baseline: Option<String>,
    /// Per design.
    pub designs: Vec<DesignRisk>,
    /// Per design, how far each event's probability moves its result.
    pub sensitivity: Vec<SensitivityRow>,
}

impl RiskReport {
    /// The risk of every hierarchy in `hs` under `sc`; `baseline` names the
    /// design the others are set against.
    pub fn of(hs: &[Hierarchy], baseline: Option<&str>, sc: &Scenario) -> Result<RiskReport> {
        let designs: Vec<Design> = hs.iter().map(|h| h.design.clone()).collect();
        sc.check(&designs)?;
        let mut out = RiskReport {
            assumptions: sc.compromises_assumed || sc.losses_assumed,
            scenario: sc.clone(),
            baseline: baseline.map(str::to_owned),
            designs: Vec::new(),
            sensitivity: Vec::new(),
        };
        for h in hs {
            let model = RiskModel::new(h)?;
            out.designs.push(risk(&model, sc));
            out.sensitivity.extend(sensitivity(&model, sc));
        }
        Ok(out)
    }

    /// The baseline's row.
    pub fn baseline_row(&self) -> Option<&DesignRisk> {
        let b = self.baseline.as_deref()?;
        self.designs.iter().find(|d| d.design == b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(s: &str) -> RiskEvent {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn events_parse_and_bad_ones_name_what_is_wrong() {
        let e = ev("admins=0.01:ck1,ck2:tenant");
        assert_eq!(e.name, "admins");
        assert_eq!(e.probability, 0.01);
        assert_eq!(
            e.roles,
            [RoleSel::Named("ck1".into()), RoleSel::Named("ck2".into())]
        );
        assert_eq!(e.extent, RiskExtent::Tenant);
        assert_eq!(ev("x=1:provider").extent, RiskExtent::All);
        assert_eq!(
            ev("x=0:customer:key").roles,
            [RoleSel::Owner(Owner::Customer)]
        );
        for (bad, why) in [
            ("x", "no `=`"),
            ("=0.1:ck1", "a name"),
            ("x=0.1", "PROBABILITY:ROLES"),
            ("x=1.5:ck1", "between 0 and 1"),
            ("x=-0.1:ck1", "between 0 and 1"),
            ("x=NaN:ck1", "between 0 and 1"),
            ("x=abc:ck1", "not a number"),
            ("x=0.1:ck1,:all", "empty role"),
            ("x=0.1:ck1:everywhere", "unknown extent"),
            ("x=0.1:ck1:all:more", "PROBABILITY:ROLES"),
        ] {
            let err = bad.parse::<RiskEvent>().unwrap_err().to_string();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn merged_instances_keep_tiny_probabilities_exact() {
        let inst = [
            Instance {
                ln_survive: (-1e-12f64).ln_1p(),
                level: Level::Global,
            },
            Instance {
                ln_survive: (-1e-12f64).ln_1p(),
                level: Level::Global,
            },
        ];
        let d = distribution(1, &[(0, 1), (1, 1)], &inst);
        assert!((d[1] / 2e-12 - 1.0).abs() < 1e-9, "{}", d[1]);
        assert!((d[0] + d[1] - 1.0).abs() < 1e-15);
    }
}
