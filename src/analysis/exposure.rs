//! Exposure and availability: what an attacker holding some keys (and a copy
//! of every stored wrap) can recover, and what the owner can still recover
//! after losing some keys. Pure graph reasoning through [`crate::graph::reach::reach`];
//! no cryptography, no knowledge of which design it runs on.

use crate::crypto::scheme::GLOBAL_TENANT;
use crate::graph::design::RoleId;
use crate::graph::hierarchy::Hierarchy;
use crate::graph::reach::reach;
use crate::graph::reach::{Extent, leaves_below, select_keys};

/// One line of the exposure table.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ExposureRow {
    /// Design name.
    pub design: String,
    /// Roles the attacker holds (`+`-joined).
    pub roles: String,
    /// Extent.
    pub extent: Extent,
    /// Keys held.
    pub keys_held: u64,
    /// Leaves the attacker can recover.
    pub leaves_exposed: u64,
    /// Of all leaves.
    pub share_of_all: f64,
    /// Tenants with a held key (all, for a global key).
    pub affected_tenants: u32,
    /// Of the affected tenants' leaves.
    pub share_of_affected: f64,
    /// Keys of share-based roles with some but fewer than threshold shares exposed.
    pub partial_share_keys: u64,
}

/// One line of the availability table.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct AvailabilityRow {
    /// Design name.
    pub design: String,
    /// Roles lost (`+`-joined).
    pub roles: String,
    /// Extent.
    pub extent: Extent,
    /// Keys lost.
    pub keys_lost: u64,
    /// Leaves still recoverable.
    pub leaves_recoverable: u64,
    /// Of all leaves.
    pub share_recoverable: f64,
    /// Leaves lost.
    pub leaves_lost: u64,
}

/// Exposure and availability of a hierarchy.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Blast {
    /// Exposure rows: every root role alone and every pair, at every extent.
    pub exposure: Vec<ExposureRow>,
    /// Availability rows, likewise.
    pub availability: Vec<AvailabilityRow>,
    /// Who still decrypts the largest tenant's data when each root role (and
    /// pair) is lost, revoked by the customer or leaked ([`super::states`]).
    pub states: Vec<super::states::StateRow>,
}

/// The largest (or smallest) share among `(role set, share)` rows, with
/// every role set that reaches it (`, `-joined); `None` without rows.
pub fn extreme<'a>(
    rows: impl IntoIterator<Item = (&'a str, f64)>,
    largest: bool,
) -> Option<(String, f64)> {
    let rows: Vec<(&str, f64)> = rows.into_iter().collect();
    let pick = if largest { f64::max } else { f64::min };
    let best = rows.iter().map(|r| r.1).reduce(pick)?;
    let who: Vec<&str> = rows.iter().filter(|r| r.1 == best).map(|r| r.0).collect();
    Some((who.join(", "), best))
}

/// Role sets to analyse: each root role, then each pair.
pub fn role_sets(h: &Hierarchy) -> Vec<Vec<RoleId>> {
    h.design.root_role_sets()
}

/// Runs every analysis.
pub fn blast(h: &Hierarchy) -> Blast {
    blast_with(h, &|_| {})
}

/// [`blast`], calling `progress(1)` after each role set at each extent
/// (`role_sets(h).len() * Extent::ALL.len()` calls in all).
pub fn blast_with(h: &Hierarchy, progress: &(dyn Fn(u64) + Sync)) -> Blast {
    let below = leaves_below(h);
    let total = h.leaves();
    let mut out = Blast::default();
    for set in role_sets(h) {
        let name: Vec<&str> = set
            .iter()
            .map(|&r| h.design.roles[usize::from(r)].name.as_str())
            .collect();
        let name = name.join("+");
        for extent in Extent::ALL {
            let mut keys: Vec<u32> = set
                .iter()
                .flat_map(|&r| select_keys(h, &below, r, extent))
                .collect();
            keys.sort_unstable();
            let held = |n: u32| keys.binary_search(&n).is_ok();
            let r = reach(h, &held);
            let exposed = r.leaves_open(h);
            let mut affected: Vec<u32> = keys
                .iter()
                .flat_map(|&k| match h.tenant_of(k) {
                    GLOBAL_TENANT => h.tenants_under(k),
                    t => vec![t],
                })
                .collect();
            affected.sort_unstable();
            affected.dedup();
            let affected_leaves: u64 = affected.iter().map(|&t| h.tenant_leaves(t)).sum();
            let partial = (0..h.nodes())
                .filter(|&n| {
                    let role = &h.design.roles[usize::from(h.role[n as usize])];
                    role.shares && !r.open[n as usize] && r.shares_open[n as usize] > 0
                })
                .count() as u64;
            out.exposure.push(ExposureRow {
                design: h.design.name.clone(),
                roles: name.clone(),
                extent,
                keys_held: keys.len() as u64,
                leaves_exposed: exposed,
                share_of_all: ratio(exposed, total),
                affected_tenants: affected.len() as u32,
                share_of_affected: ratio(exposed, affected_leaves),
                partial_share_keys: partial,
            });
            let available = |n: u32| h.is_root(n) && !held(n);
            let a = reach(h, &available).leaves_open(h);
            out.availability.push(AvailabilityRow {
                design: h.design.name.clone(),
                roles: name.clone(),
                extent,
                keys_lost: keys.len() as u64,
                leaves_recoverable: a,
                share_recoverable: ratio(a, total),
                leaves_lost: total - a,
            });
            progress(1);
        }
    }
    out.states = super::states::states(h);
    out
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}
