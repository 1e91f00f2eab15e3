//! Root operations per root key, and per quota scope: what each vault of each
//! tenant must serve for a workload (issue 14: a key service charges each
//! vault for its own keys, and the provider's keys are not the customer's
//! vault's business).
//!
//! [`plan_loads`] attributes a [`ChangePlan`]'s root operations by the rules
//! of [`ChangePlan::counts`]: creating each replaced root is one operation
//! against that root, and each unwrap or wrap layer whose KEK is a root is
//! one operation against that root. The other workloads follow their
//! analytic counts in [`crate::engine::plan`]. Tests check every sum against
//! those counts for every design.
//!
//! [`split`] places the roots in quota scopes: a root held by the provider
//! ([`Owner::Provider`]) is served by the provider's own service and only
//! counted; a customer's root goes to one of its tenant's vaults (the
//! customer roles of the design in turn over `vaults_per_tenant` vaults:
//! with two, `ck1` and `ck2` apart, as Microsoft recommends), or, to compare,
//! to vaults shared by every tenant.

use std::collections::BTreeMap;

use super::profile::RequestKind;
use super::sim::VaultWork;
use crate::crypto::scheme::GLOBAL_TENANT;
use crate::engine::plan::{ChangePlan, Remedy, chosen_slots};
use crate::engine::workload::spec::Workload;
use crate::error::{Error, Result};
use crate::graph::design::Owner;
use crate::graph::hierarchy::Hierarchy;

/// The root operations of one root key, by [`RequestKind::index`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RootLoad {
    /// The root's node.
    pub node: u32,
    /// Requests of each kind.
    pub ops: [u64; 4],
}

impl RootLoad {
    /// Requests in all.
    pub fn total(&self) -> u64 {
        self.ops.iter().sum()
    }
}

/// The root operations of a workload, per root (roots with none left out),
/// in node order.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RootLoads {
    /// Per root.
    pub roots: Vec<RootLoad>,
}

impl RootLoads {
    /// Root operations in all.
    pub fn total(&self) -> u64 {
        self.roots.iter().map(RootLoad::total).sum()
    }
}

/// Accumulates operations per root node.
struct Tally<'h> {
    h: &'h Hierarchy,
    roots: Vec<u32>,
    ops: Vec<[u64; 4]>,
}

impl<'h> Tally<'h> {
    fn new(h: &'h Hierarchy) -> Self {
        let roots: Vec<u32> = (0..h.nodes()).filter(|&n| h.is_root(n)).collect();
        let ops = vec![[0; 4]; roots.len()];
        Tally { h, roots, ops }
    }

    /// One operation of `kind` against `k`, if `k` is a root.
    fn add(&mut self, k: u32, kind: RequestKind, n: u64) {
        if self.h.is_root(k)
            && let Ok(i) = self.roots.binary_search(&k)
        {
            self.ops[i][kind.index()] += n;
        }
    }

    /// The unwraps of opening `n` through its chosen slots.
    fn open(&mut self, n: u32) {
        for s in chosen_slots(self.h, n) {
            for &k in self.h.slot_keks(s) {
                self.add(k, RequestKind::Unwrap, 1);
            }
        }
    }

    fn finish(self) -> RootLoads {
        RootLoads {
            roots: self
                .roots
                .into_iter()
                .zip(self.ops)
                .map(|(node, ops)| RootLoad { node, ops })
                .filter(|r| r.total() > 0)
                .collect(),
        }
    }
}

/// The root operations of a rotation or revocation, per root.
pub fn plan_loads(plan: &ChangePlan, h: &Hierarchy) -> RootLoads {
    let mut t = Tally::new(h);
    for &r in &plan.replaced_roots {
        t.add(r, RequestKind::Create, 1);
    }
    for n in 0..h.nodes() {
        if plan.open[n as usize] {
            t.open(n);
        }
    }
    for r in &plan.redo {
        for &k in &h.slot_keks(r.slot)[usize::from(r.from_layer)..] {
            t.add(k, RequestKind::Wrap, 1);
            if !r.fresh {
                t.add(k, RequestKind::Unwrap, 1);
            }
        }
    }
    t.finish()
}

/// `provision`: every root created, every layer under a root wrapped.
fn provision_loads(h: &Hierarchy) -> RootLoads {
    let mut t = Tally::new(h);
    for n in 0..h.nodes() {
        if h.is_root(n) {
            t.add(n, RequestKind::Create, 1);
            continue;
        }
        for s in h.slots_of(n) {
            for &k in h.slot_keks(s) {
                t.add(k, RequestKind::Wrap, 1);
            }
        }
    }
    t.finish()
}

/// `unwrap-all`: every key opened once (cached), or every leaf's path
/// opened again per leaf (cold), as [`crate::engine::plan::unwrap_all_counts`].
fn unwrap_all_loads(h: &Hierarchy, cold: bool) -> RootLoads {
    let mut t = Tally::new(h);
    if !cold {
        for n in 0..h.nodes() {
            if !h.is_root(n) {
                t.open(n);
            }
        }
        return t.finish();
    }
    let mut seen: Vec<u32> = Vec::new();
    let mut stack: Vec<u32> = Vec::new();
    for g in 0..h.groups() {
        for leaf in h.group_leaf_range(g) {
            // the distinct non-root keys on the leaf's path, each opened once
            seen.clear();
            stack.push(leaf);
            while let Some(n) = stack.pop() {
                if h.is_root(n) || seen.contains(&n) {
                    continue;
                }
                seen.push(n);
                for s in chosen_slots(h, n) {
                    stack.extend_from_slice(h.slot_keks(s));
                }
            }
            for &n in &seen {
                t.open(n);
            }
        }
    }
    t.finish()
}

/// `shred`: every root of the tenant destroyed.
fn shred_loads(h: &Hierarchy, tenant: u32) -> Result<RootLoads> {
    h.check_tenant(tenant)?;
    let mut t = Tally::new(h);
    for n in h.tenant_node_start[tenant as usize]..h.tenant_node_start[tenant as usize + 1] {
        t.add(n, RequestKind::Destroy, 1);
    }
    Ok(t.finish())
}

/// The root operations workload `w` performs on `h`, per root (a
/// revocation with `remedy`).
pub fn workload_loads(h: &Hierarchy, w: &Workload, remedy: Remedy) -> Result<RootLoads> {
    Ok(match *w {
        Workload::Provision => provision_loads(h),
        Workload::UnwrapAll { cold } => unwrap_all_loads(h, cold),
        Workload::RotateRoot { role, extent, .. } => {
            plan_loads(&ChangePlan::rotate(h, role, extent), h)
        }
        Workload::Revoke { role, extent } => {
            plan_loads(&ChangePlan::revoke_with(h, role, extent, remedy), h)
        }
        Workload::Shred { tenant } => shred_loads(h, tenant)?,
        // a purge destroys the tenant's roots, as a shred does (customer's, then provider's)
        Workload::Purge { tenant } => shred_loads(h, tenant)?,
        Workload::NewDep { tenant } => {
            h.check_tenant(tenant)?;
            plan_loads(&ChangePlan::new_dep(h, tenant), h)
        }
    })
}

/// Where the customer's roots are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Placement {
    /// Each tenant's roots in its own `vaults` scopes (its own subscription,
    /// account or project).
    PerTenant {
        /// Scopes per tenant.
        vaults: u32,
    },
    /// Every tenant's roots in `vaults` scopes shared by all (one subscription).
    Shared {
        /// Scopes in all.
        vaults: u32,
    },
}

impl Default for Placement {
    fn default() -> Self {
        Placement::PerTenant { vaults: 1 }
    }
}

impl Placement {
    /// In words, for reports.
    pub fn describe(&self) -> String {
        match *self {
            Placement::PerTenant { vaults: 1 } => "one vault per tenant".into(),
            Placement::PerTenant { vaults } => format!("{vaults} vaults per tenant"),
            Placement::Shared { vaults: 1 } => "every tenant in one vault".into(),
            Placement::Shared { vaults } => format!("every tenant in {vaults} shared vaults"),
        }
    }

    fn validate(&self) -> Result<()> {
        let (Placement::PerTenant { vaults } | Placement::Shared { vaults }) = *self;
        if (1..=1024).contains(&vaults) {
            Ok(())
        } else {
            Err(Error::InvalidArgument(format!(
                "vaults must be 1 to 1024, not {vaults}"
            )))
        }
    }
}

/// Which scope a vault is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct VaultId {
    /// Its tenant (`None`: shared, or a global customer root's).
    pub tenant: Option<u32>,
    /// Its index among its tenant's (or the shared) vaults.
    pub index: u32,
}

impl VaultId {
    /// In words: `tenant 3 vault 0`, `shared vault 1`.
    pub fn describe(&self) -> String {
        match self.tenant {
            Some(t) => format!("tenant {t} vault {}", self.index),
            None => format!("shared vault {}", self.index),
        }
    }
}

/// The customer's root operations by scope, and the provider's apart.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Split {
    /// Each scope.
    pub ids: Vec<VaultId>,
    /// Its requests, in the same order.
    pub vaults: Vec<VaultWork>,
    /// Requests to the customer's scopes.
    pub customer_ops: u64,
    /// Wraps under the customer's public keys done without the service.
    pub local_wraps: u64,
    /// Root operations of the provider's roots, served by its own service.
    pub provider_ops: u64,
}

/// Places the roots of `loads` in scopes; `local_wraps`: wraps under the
/// customer's roots are done by the client (RSA public keys) and not sent.
pub fn split(
    h: &Hierarchy,
    loads: &RootLoads,
    placement: Placement,
    local_wraps: bool,
) -> Result<Split> {
    placement.validate()?;
    let customer = h.design.roots_of(Owner::Customer);
    let k = customer.len().max(1) as u64;
    let mut out = Split::default();
    let mut scopes: BTreeMap<VaultId, VaultWork> = BTreeMap::new();
    for r in &loads.roots {
        let role = h.role[r.node as usize];
        if h.design.roles[usize::from(role)].owner == Owner::Provider {
            out.provider_ops += r.total();
            continue;
        }
        let i = customer.iter().position(|&c| c == role).unwrap_or(0) as u64;
        let tenant = Some(h.tenant_of(r.node)).filter(|&t| t != GLOBAL_TENANT);
        let (id, group) = match placement {
            Placement::PerTenant { vaults } => (
                VaultId {
                    tenant,
                    index: (i % u64::from(vaults)) as u32,
                },
                // a tenant's vaults share its subscription's cap; global roots a cap of their own
                Some(tenant.unwrap_or(u32::MAX)),
            ),
            Placement::Shared { vaults } => (
                VaultId {
                    tenant: None,
                    index: ((u64::from(tenant.unwrap_or(0)) * k + i) % u64::from(vaults)) as u32,
                },
                Some(0),
            ),
        };
        let work = scopes.entry(id).or_insert_with(|| VaultWork {
            group,
            requests: Vec::new(),
        });
        for kind in RequestKind::ALL {
            let mut n = r.ops[kind.index()];
            if kind == RequestKind::Wrap && local_wraps {
                out.local_wraps += n;
                n = 0;
            }
            if n == 0 {
                continue;
            }
            out.customer_ops += n;
            match work.requests.last_mut() {
                Some((last, m)) if *last == kind => *m += n,
                _ => work.requests.push((kind, n)),
            }
        }
    }
    for (id, work) in scopes {
        if work.total() > 0 {
            out.ids.push(id);
            out.vaults.push(work);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::scheme::SchemeId;
    use crate::engine::plan::{REMEDIES, provision_counts, unwrap_all_counts};
    use crate::graph::design::{DESIGN_NAMES, Design};
    use crate::graph::reach::Extent;
    use crate::graph::shape::Shape;
    use crate::graph::skeleton::skeleton;

    fn tiny(design: &str) -> Hierarchy {
        let d = Design::by_name(design).unwrap();
        skeleton(&d, &Shape::preset("tiny").unwrap(), SchemeId::Kw, 5).unwrap()
    }

    #[test]
    fn per_root_loads_sum_to_the_plans_root_operations_for_every_design() {
        for design in DESIGN_NAMES
            .iter()
            .chain(&["tree:3", "sharepoint:forests=3"])
        {
            let h = tiny(design);
            for role in h.design.root_roles() {
                for extent in Extent::ALL {
                    let mut plans = vec![("rotate", ChangePlan::rotate(&h, role, extent))];
                    for r in REMEDIES {
                        plans.push((r.name, ChangePlan::revoke_with(&h, role, extent, r.id)));
                    }
                    for (what, plan) in plans {
                        let loads = plan_loads(&plan, &h);
                        assert_eq!(
                            loads.total(),
                            plan.counts(&h).root_ops,
                            "{design} {what} role {role} {}",
                            extent.name()
                        );
                        assert_eq!(
                            loads.roots.iter().map(|r| r.ops[0]).sum::<u64>(),
                            plan.replaced_roots.len() as u64,
                            "{design} {what}: one create per replaced root"
                        );
                        assert!(loads.roots.iter().all(|r| h.is_root(r.node)));
                    }
                }
            }
        }
    }

    #[test]
    fn the_other_workloads_sum_to_their_analytic_counts() {
        for design in DESIGN_NAMES.iter().chain(&["sharepoint:forests=3"]) {
            let h = tiny(design);
            let total = |w: Workload| workload_loads(&h, &w, Remedy::default()).unwrap().total();
            assert_eq!(
                total(Workload::Provision),
                provision_counts(&h).root_ops,
                "{design}"
            );
            for cold in [false, true] {
                assert_eq!(
                    total(Workload::UnwrapAll { cold }),
                    unwrap_all_counts(&h, cold).root_ops,
                    "{design} cold {cold}"
                );
            }
            let owned = (h.tenant_node_start[0]..h.tenant_node_start[1])
                .filter(|&n| h.is_root(n))
                .count() as u64;
            assert_eq!(total(Workload::Shred { tenant: 0 }), owned, "{design}");
            assert!(
                workload_loads(&h, &Workload::Shred { tenant: 99 }, Remedy::default()).is_err()
            );
        }
    }

    #[test]
    fn customer_roots_go_to_their_tenants_vaults_and_the_providers_are_apart() {
        let h = tiny("m365");
        let ak = h.design.role_by_name("ak").unwrap();
        let ck1 = h.design.role_by_name("ck1").unwrap();
        // revoking ak everywhere: new ak versions and DEP wraps under ak are the
        // provider's; the DEPs are opened through ck1 and wrapped again under
        // ck1 and ck2, in the tenants' vaults
        let loads = plan_loads(&ChangePlan::revoke(&h, ak, Extent::All), &h);
        let one = split(&h, &loads, Placement::default(), false).unwrap();
        let provider: u64 = loads
            .roots
            .iter()
            .filter(|r| h.role[r.node as usize] == ak)
            .map(RootLoad::total)
            .sum();
        assert!(provider > 0);
        assert_eq!(one.provider_ops, provider);
        assert_eq!(one.customer_ops + one.provider_ops, loads.total());
        assert_eq!(one.ids.len(), h.tenants() as usize, "one vault per tenant");
        assert!(
            one.ids
                .iter()
                .all(|id| id.tenant.is_some() && id.index == 0)
        );
        // two vaults per tenant: ck1 and ck2 apart, same total
        let two = split(&h, &loads, Placement::PerTenant { vaults: 2 }, false).unwrap();
        assert_eq!(two.ids.len(), 2 * h.tenants() as usize);
        assert_eq!(two.customer_ops, one.customer_ops);
        // all tenants in one vault: one scope with everything
        let shared = split(&h, &loads, Placement::Shared { vaults: 1 }, false).unwrap();
        assert_eq!(shared.vaults.len(), 1);
        assert_eq!(shared.vaults[0].total(), one.customer_ops);
        // local public-key wraps leave only the unwraps and creates
        let local = split(&h, &loads, Placement::default(), true).unwrap();
        assert!(local.local_wraps > 0);
        assert_eq!(local.customer_ops + local.local_wraps, one.customer_ops);
        assert!(
            local
                .vaults
                .iter()
                .all(|v| v.requests.iter().all(|r| r.0 != RequestKind::Wrap))
        );
        // rotating ck1: nothing for the provider
        let loads = plan_loads(&ChangePlan::rotate(&h, ck1, Extent::All), &h);
        let s = split(&h, &loads, Placement::default(), false).unwrap();
        assert_eq!(s.provider_ops, 0);
        assert_eq!(s.customer_ops, loads.total());
        assert!(split(&h, &loads, Placement::Shared { vaults: 0 }, false).is_err());
    }
}
