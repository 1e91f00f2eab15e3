//! States beyond "lost": for each root role and pair of a design, who can
//! still decrypt the largest tenant's data (the customer's users, the
//! provider's services on their own, the provider in a recovery the customer
//! asks for, an attacker) when those roots are lost, revoked by the
//! customer, or leaked. Pure graph reasoning through
//! [`crate::graph::reach::reach`]; the rules read only owners and the
//! `recovery_only` fact of each role, never a design's name.
//!
//! The rules, after Microsoft's Customer Key documentation ("Learn about the
//! availability key"):
//!
//! - **lost** (nobody has the keys any more): the service goes on through
//!   what is left, the availability key included (it exists for this); a
//!   root used only in a recovery the customer asks for (SharePoint's) serves
//!   nobody until then. No attacker.
//! - **revoked by the customer** (an explicit action on its own roots; a
//!   provider root is not the customer's to revoke): once every customer root
//!   above a leaf is revoked, user requests for it fail, but the provider's
//!   services can keep decrypting through the availability key (indexing,
//!   mailbox moves) until the provider deletes it (the data purge path).
//!   While a customer root above the leaf remains, users are served.
//! - **leaked** (an attacker holds the keys and a copy of every stored wrap):
//!   users and services are unaffected; the attacker decrypts what the keys open.

use crate::graph::design::{Owner, RoleId};
use crate::graph::hierarchy::Hierarchy;
use crate::graph::reach::{
    Extent, Reach, ancestors_of, largest_tenant, leaves_below, reach, select_keys,
};

/// What happened to the roots.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyState {
    /// Nobody has them any more.
    Lost,
    /// The customer revoked them (an explicit action).
    Revoked,
    /// An attacker holds them, with every stored wrap.
    Leaked,
}

impl KeyState {
    /// Every state.
    pub const ALL: [KeyState; 3] = [KeyState::Lost, KeyState::Revoked, KeyState::Leaked];

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            KeyState::Lost => "lost",
            KeyState::Revoked => "revoked",
            KeyState::Leaked => "leaked",
        }
    }
}

/// One line of the states table: shares of the largest tenant's leaves.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct StateRow {
    /// Design name.
    pub design: String,
    /// The roots (`+`-joined role names), every key of them the largest tenant's data sits under.
    pub roles: String,
    /// What happened to them.
    pub state: KeyState,
    /// Leaves of the largest tenant.
    pub tenant_leaves: u64,
    /// Whether the state can happen: a customer cannot revoke a provider root.
    pub applies: bool,
    /// Share the customer's users still read (through the service).
    pub users: Option<f64>,
    /// Share the provider's services decrypt on their own.
    pub provider_services: Option<f64>,
    /// Share the provider can recover in a recovery the customer asks for.
    pub provider_on_request: Option<f64>,
    /// Share an attacker decrypts.
    pub attacker: Option<f64>,
    /// What the figures mean, in words.
    pub note: String,
}

/// The states table of `h`: every root role and pair, in every state.
pub fn states(h: &Hierarchy) -> Vec<StateRow> {
    let below = leaves_below(h);
    let t = largest_tenant(h);
    let tenant_leaves = h.tenant_leaves(t);
    let share = |n: u64| {
        if tenant_leaves == 0 {
            0.0
        } else {
            n as f64 / tenant_leaves as f64
        }
    };
    let role_of = |n: u32| &h.design.roles[usize::from(h.role[n as usize])];
    let names = |roles: &[RoleId]| -> String {
        let v: Vec<&str> = roles
            .iter()
            .map(|&r| h.design.roles[usize::from(r)].name.as_str())
            .collect();
        if v.is_empty() {
            "none".into()
        } else {
            v.join(", ")
        }
    };
    // Per leaf of the tenant, the customer roots above it (for the revocation rule).
    let leaves: Vec<u32> = (h.tenant_group_start[t as usize]..h.tenant_group_start[t as usize + 1])
        .flat_map(|g| h.group_leaf_range(g))
        .collect();
    let mut customer_above: Vec<Vec<u32>> = Vec::with_capacity(leaves.len());
    let mut last: Option<(Vec<u32>, Vec<u32>)> = None;
    for &n in &leaves {
        let mut parents: Vec<u32> = h
            .slots_of(n)
            .flat_map(|s| h.slot_keks(s).to_vec())
            .collect();
        parents.sort_unstable();
        parents.dedup();
        let above = match &last {
            Some((p, a)) if *p == parents => a.clone(),
            _ => {
                let a: Vec<u32> = ancestors_of(h, n)
                    .into_iter()
                    .filter(|&k| h.is_root(k) && role_of(k).owner == Owner::Customer)
                    .collect();
                last = Some((parents, a.clone()));
                a
            }
        };
        customer_above.push(above);
    }
    let provider_roots = h.design.roots_of(Owner::Provider);
    let recovery_roots: Vec<RoleId> = provider_roots
        .iter()
        .copied()
        .filter(|&r| h.design.roles[usize::from(r)].recovery_only)
        .collect();
    let mut out = Vec::new();
    for set in h.design.root_role_sets() {
        let mut keys: Vec<u32> = set
            .iter()
            .flat_map(|&r| select_keys(h, &below, r, Extent::Tenant))
            .collect();
        keys.sort_unstable();
        let taken = |n: u32| keys.binary_search(&n).is_ok();
        let count = |r: &Reach| r.tenant_leaves_open(h, t);
        let service = |n: u32| h.is_root(n) && !taken(n) && !role_of(n).recovery_only;
        let any_left = |n: u32| h.is_root(n) && !taken(n);
        let roles: Vec<&str> = set
            .iter()
            .map(|&r| h.design.roles[usize::from(r)].name.as_str())
            .collect();
        let roles = roles.join("+");
        let all_customer = set
            .iter()
            .all(|&r| h.design.roles[usize::from(r)].owner == Owner::Customer);
        for state in KeyState::ALL {
            let mut row = StateRow {
                design: h.design.name.clone(),
                roles: roles.clone(),
                state,
                tenant_leaves,
                applies: true,
                users: None,
                provider_services: None,
                provider_on_request: None,
                attacker: None,
                note: String::new(),
            };
            match state {
                KeyState::Lost => {
                    let r = reach(h, &service);
                    let s = count(&r);
                    let provider_only = leaves
                        .iter()
                        .zip(&customer_above)
                        .filter(|(n, above)| {
                            r.open[**n as usize]
                                && !above.is_empty()
                                && above.iter().all(|&k| taken(k))
                        })
                        .count() as u64;
                    let any = count(&reach(h, &any_left));
                    row.users = Some(share(s));
                    row.provider_services = Some(share(s));
                    row.provider_on_request = Some(share(any));
                    row.attacker = Some(0.0);
                    row.note = if any > s {
                        format!(
                            "readable again only through the provider's recovery with {} (used only when the customer asks)",
                            names(&recovery_roots)
                        )
                    } else if any < tenant_leaves {
                        format!("{} leaves lost for good", tenant_leaves - any)
                    } else if provider_only > 0 {
                        format!(
                            "{provider_only} leaves go on only through the provider's {} (its purpose: recovery, then a new DEP under new customer roots)",
                            names(&provider_roots)
                        )
                    } else {
                        "the service goes on through the roots left".into()
                    };
                }
                KeyState::Revoked if !all_customer => {
                    row.applies = false;
                    let theirs: Vec<RoleId> = set
                        .iter()
                        .copied()
                        .filter(|&r| h.design.roles[usize::from(r)].owner != Owner::Customer)
                        .collect();
                    row.note = format!(
                        "not the customer's to revoke: {} is held by the provider, which alone rolls or deletes it",
                        names(&theirs)
                    );
                }
                KeyState::Revoked => {
                    let r = reach(h, &service);
                    let s = count(&r);
                    let any = count(&reach(h, &any_left));
                    let users = leaves
                        .iter()
                        .zip(&customer_above)
                        .filter(|(n, above)| {
                            r.open[**n as usize] && above.iter().any(|&k| !taken(k))
                        })
                        .count() as u64;
                    row.users = Some(share(users));
                    row.provider_services = Some(share(s));
                    row.provider_on_request = Some(share(any));
                    row.attacker = Some(0.0);
                    let mut notes = Vec::new();
                    if s > users {
                        let used: Vec<RoleId> = provider_roots
                            .iter()
                            .copied()
                            .filter(|r| !recovery_roots.contains(r))
                            .collect();
                        notes.push(format!(
                            "user requests fail, but the provider's services keep decrypting {} leaves through {} until the provider deletes it (the data purge path)",
                            s - users,
                            names(&used)
                        ));
                    }
                    if any > s {
                        notes.push(format!(
                            "the provider can still recover {} leaves with {} if the customer asks",
                            any - s,
                            names(&recovery_roots)
                        ));
                    }
                    if notes.is_empty() {
                        notes.push(if users == tenant_leaves {
                            "users are still served through the customer's other roots".into()
                        } else {
                            "nobody decrypts what the revoked roots guarded: the customer's revocation holds".into()
                        });
                    }
                    row.note = notes.join("; ");
                }
                KeyState::Leaked => {
                    let s = count(&reach(h, &|n| h.is_root(n) && !role_of(n).recovery_only));
                    let a = count(&reach(h, &taken));
                    row.users = Some(share(s));
                    row.provider_services = Some(share(s));
                    row.provider_on_request = Some(share(count(&reach(h, &|n| h.is_root(n)))));
                    row.attacker = Some(share(a));
                    row.note = if a > 0 {
                        "the attacker decrypts what the keys open until they are revoked and what they reached is re-keyed".into()
                    } else {
                        "the keys open nothing alone".into()
                    };
                }
            }
            out.push(row);
        }
    }
    out
}
