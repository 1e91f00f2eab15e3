//! An independent reference for what a revocation had to re-key, written
//! from each design's promise (which sets of roots open a leaf, stated in the
//! catalogue from the design's description) and never from its slots, its
//! plan or its reach: per group, the roles of the leaked roots above it; the
//! group's leaves are exposed when the promise opens them with those roles,
//! and partly exposed when it does not but one of those roles is the
//! promise's. Every remedy re-keys the exposed leaves; `rekey` also re-keys
//! the partly exposed ones; none re-keys any other.

use crate::engine::plan::Remedy;
use crate::graph::hierarchy::Hierarchy;

/// Leaves a revocation of the roots `leaked` with `remedy` must re-key, or
/// `None` for a design outside the catalogue (no promise to read).
pub fn leaves_to_rekey(h: &Hierarchy, leaked: &[u32], remedy: Remedy) -> Option<u64> {
    let d = &h.design;
    let promise = d.promise()?;
    let promised: Vec<u8> = promise
        .of
        .iter()
        .filter_map(|name| d.role_by_name(name))
        .collect();
    let mut total = 0u64;
    for t in 0..h.tenants() {
        let groups = h.tenant_group_start[t as usize]..h.tenant_group_start[t as usize + 1];
        for g in groups {
            // a root is above the group when it is global, the tenant's forest's,
            // the tenant's, or the group's
            let above = |k: u32| h.covers_tenant(k, t) && h.group_of(k).is_none_or(|kg| kg == g);
            let held: Vec<u8> = leaked
                .iter()
                .filter(|&&k| above(k))
                .map(|&k| h.role[k as usize])
                .collect();
            let exposed = promise.opens(d, &|r| held.contains(&r));
            let partly = !exposed && held.iter().any(|r| promised.contains(r));
            if exposed || (partly && remedy == Remedy::Rekey) {
                total += u64::from(h.group_leaves[g as usize]);
            }
        }
    }
    Some(total)
}
