//! The remedies of one revocation side by side: for each, what it would cost
//! (its plan's counts) and whether it holds against the attacker who keeps
//! its copies plus one more compromise (the adversary run on the store the
//! plan would leave, see [`crate::engine::adversary`]). Nothing is executed:
//! the chosen remedy is then run and checked on the state it really leaves.

use crate::engine::adversary::{Adversary, Snapshot, one_more_at};
use crate::engine::plan::{ChangePlan, REMEDIES, Remedy};
use crate::graph::design::RoleId;
use crate::graph::reach::Extent;

use super::rows::RemedyCost;
use super::state::State;

/// Every remedy of revoking `role` at `extent` on `st` against `adv`; empty
/// when the leak leaves no key partly exposed (then they are all the same).
pub(super) fn weigh(
    st: &State,
    adv: &Adversary,
    role: RoleId,
    extent: Extent,
    chosen: Remedy,
) -> Vec<RemedyCost> {
    let h = &st.h;
    let mut out = Vec::with_capacity(REMEDIES.len());
    for info in &REMEDIES {
        let plan = ChangePlan::revoke_with(h, role, extent, info.id);
        if plan.affected.is_empty() {
            return Vec::new();
        }
        let after = Snapshot::after_plan(h, &plan);
        let replaced = &plan.replaced_roots;
        let retained = |r: u32| -> Vec<u32> {
            if replaced.binary_search(&r).is_ok() {
                Vec::new()
            } else {
                st.ring.retained_of(r).map(|(v, _)| v).collect()
            }
        };
        let om = one_more_at(h, &after, &retained, adv);
        let role_name = &h.design.roles[usize::from(role)].name;
        let broken_by = (!om.holds).then(|| match &om.worst {
            Some(w) => format!(
                "leak {role_name} {}, revoke ({}), leak {} {} ({})",
                extent.name(),
                info.name,
                w.role,
                w.extent.map_or("-", Extent::name),
                w.versions
            ),
            None => format!("leak {role_name} {}, revoke ({})", extent.name(), info.name),
        });
        out.push(RemedyCost {
            remedy: info.id,
            name: info.name,
            chosen: info.id == chosen,
            affected_keys: plan.affected.len() as u64,
            counts: plan.counts(h),
            sufficient: om.holds,
            broken_by,
            leaves_exposed: om
                .worst
                .as_ref()
                .filter(|_| !om.holds)
                .map_or(0, |w| w.beyond),
            summary: info.summary,
            demands: info.demands,
        });
    }
    out
}
