//! Workloads: provision, unwrap-all, rotate-root, revoke, shred, purge. Each runs on
//! any design through the same graph engine, meters every wrap and unwrap it
//! really performs, verifies the result, and returns a typed [`RunRow`]
//! (it never prints). This file only dispatches a [`Workload`] to its
//! module and fills in what every row has in common.
//!
//! - [`spec`]: [`WorkloadSpec`] (parsed, displayed as the row label) and
//!   [`Workload`] (built against a design);
//! - [`state`]: the [`State`] a run changes and its [`RunOptions`];
//! - [`rows`]: the typed rows;
//! - `provision`, `unwrap`, `change` (rotate and revoke, over `execute`), `shred`,
//!   [`purge`] (the customer's data purge path), `data` (data re-encryption):
//!   the workloads themselves;
//! - `verify`: expected keys, survivors recovered, the adversary's keys tried;
//! - [`baseline`]: the `aes-kw` loop set beside a run.

pub mod baseline;
mod change;
mod data;
mod execute;
mod provision;
pub mod purge;
mod remedy;
pub mod rows;
mod shred;
pub mod spec;
pub mod state;
mod unwrap;
mod verify;

pub use baseline::aes_kw_loop_rate;
pub use change::run_change;
pub use rows::{
    DataMode, DataReencryption, Primitive, Reference, RemedyCost, RootBackendRow, RunRow,
    Verification,
};
pub use spec::{RolePick, Workload, WorkloadKind, WorkloadSpec};
pub use state::{RunOptions, State};

use crate::engine::adversary::{Adversary, one_more};
use crate::engine::plan::ChangePlan;
use crate::engine::service::{self, Placement, SimOptions};
use crate::error::Result;
use crate::graph::design::RoleId;
use crate::graph::hierarchy::Hierarchy;
use crate::graph::reach::select_keys;

/// Runs `w` on `st`, verifying the result. On an error from a workload that
/// changes keys, `st` may be partly changed (see [`run_change`]): reload it.
///
/// A revocation is a leak and the owner's response: an attacker takes the
/// role's current keys at the extent and a copy of the store, then the
/// remedy runs (`opts.remedy`), and the verification includes the attacker
/// who keeps that copy plus one more compromise.
pub fn run(st: &mut State, w: &Workload, opts: &RunOptions) -> Result<RunRow> {
    let mut adv = Adversary::new();
    if let Workload::Revoke { role, extent } = *w {
        check_root(&st.h, role)?;
        let below = crate::graph::reach::leaves_below(&st.h);
        adv.leak(&st.h, &select_keys(&st.h, &below, role, extent));
    }
    run_against(st, w, opts, &mut adv)
}

/// Runs `w` on `st` against the attacker `adv`, who already holds whatever it
/// learned and copied before (a revocation here adds no leak: see [`run`]).
/// After a revocation the verification includes the one-more-compromise
/// check of `adv`.
pub fn run_against(
    st: &mut State,
    w: &Workload,
    opts: &RunOptions,
    adv: &mut Adversary,
) -> Result<RunRow> {
    let h0 = &st.h;
    if let Some(r) = w.role() {
        check_root(h0, r)?;
    }
    let mut row = RunRow {
        design: h0.design.name.clone(),
        workload: w.label(&h0.design),
        kind: w.kind(),
        role: w
            .role()
            .map(|r| h0.design.roles[usize::from(r)].name.clone()),
        scheme: h0.scheme,
        threads: rayon::current_num_threads(),
        tenants: h0.tenants(),
        groups: h0.groups(),
        leaves: h0.leaves(),
        keys: u64::from(h0.nodes()),
        stored_wraps: u64::from(h0.slots()),
        controller: Some(w.controller(&h0.design)),
        ..RunRow::default()
    };
    let mut loads = None;
    let _ = crate::sysinfo::reset_peak_rss();
    // Provision, unwrap-all and shred name their verification's phases
    // themselves; a rotation's or revocation's happen inside `run_change`.
    let p = &opts.progress;
    let change_phase = if opts.verify {
        format!("{}: the change, then its verification", row.workload)
    } else {
        format!("workload {}", row.workload)
    };
    match w {
        Workload::RotateRoot { .. } => p.phase(&change_phase, None),
        Workload::Revoke { .. } => {} // its phases are named below
        _ => p.phase(&format!("workload {}", row.workload), None),
    }
    match *w {
        Workload::Provision => provision::run_provision(st, opts, &mut row)?,
        Workload::UnwrapAll { cold } => unwrap::run_unwrap_all(st, cold, opts, &mut row)?,
        Workload::RotateRoot { role, extent, lazy } => {
            row.extent = Some(extent);
            let plan = ChangePlan::rotate(&st.h, role, extent);
            loads = Some(service::plan_loads(&plan, &st.h));
            run_change(st, &plan, false, lazy, opts, &mut row)?;
        }
        Workload::Revoke { role, extent } => {
            row.extent = Some(extent);
            row.remedy = Some(opts.remedy);
            let plan = ChangePlan::revoke_with(&st.h, role, extent, opts.remedy);
            let t = std::time::Instant::now();
            p.phase(&format!("{}: weigh every remedy", row.workload), None);
            row.remedies = remedy::weigh(st, adv, role, extent, opts.remedy);
            let weigh_secs = t.elapsed().as_secs_f64();
            loads = Some(service::plan_loads(&plan, &st.h));
            p.phase(&change_phase, None);
            run_change(st, &plan, true, false, opts, &mut row)?;
            if opts.verify {
                p.phase(
                    "verify: one more compromise (every root, every extent)",
                    None,
                );
                let t = std::time::Instant::now();
                let mut om = one_more(&st.h, &st.ring, adv);
                om.seconds = t.elapsed().as_secs_f64();
                om.remedies_seconds = weigh_secs;
                let v = &mut row.verification;
                v.seconds += om.seconds + weigh_secs;
                v.verified = v.verified && om.holds;
                v.notes.push(om.summary());
                v.one_more = Some(om);
            }
        }
        Workload::Shred { tenant } => shred::run_shred(st, tenant, opts, &mut row)?,
        Workload::Purge { tenant } => purge::run_purge(st, tenant, opts, &mut row)?,
        Workload::NewDep { tenant } => {
            st.h.check_tenant(tenant)?;
            let plan = ChangePlan::new_dep(&st.h, tenant);
            loads = Some(service::plan_loads(&plan, &st.h));
            run_change(st, &plan, false, false, opts, &mut row)?;
        }
    }
    row.peak_rss_bytes = crate::sysinfo::peak_rss_bytes();
    row.counts_match = row.measured == row.analytic;
    // the root operations at each key service, one vault per tenant (the
    // structure a workload changes nothing of: loads from after the run are the plan's)
    let loads = match loads {
        Some(l) => l,
        None => service::workload_loads(&st.h, w, opts.remedy)?,
    };
    row.root_service = service::service_cost(
        &st.h,
        &loads,
        &service::profiles(opts.root_ops_per_s),
        Placement::default(),
        &SimOptions::default(),
    )?;
    row.root_seconds = row.root_service.seconds();
    row.items_per_s = if row.seconds > 0.0 {
        row.items as f64 / row.seconds
    } else {
        0.0
    };
    row.ops_per_s = if row.seconds > 0.0 {
        (row.measured.wraps + row.measured.unwraps) as f64 / row.seconds
    } else {
        0.0
    };
    if !opts.verify {
        row.verification
            .notes
            .push("not verified (verification turned off)".into());
    }
    let primitive = match w {
        Workload::Provision => Some(Primitive::Wrap),
        Workload::UnwrapAll { cold: false } => Some(Primitive::Unwrap),
        Workload::RotateRoot { lazy: false, .. } => Some(Primitive::Rewrap),
        _ => None,
    };
    // Like with like: a rewrap moves keys from an old root to a new one, so
    // the loop builds its KEK pair anew as often as the run had to (in m365,
    // about once per key: one DEP per tenant's root).
    let keks = (primitive == Some(Primitive::Rewrap)).then_some(row.measured.roots_replaced);
    let keys_per_kek = keks.map(|k| row.items as f64 / k.max(1) as f64);
    if let Some(prim) = primitive
        && opts.reference
        && row.items > 0
    {
        p.phase("side by side: the aes-kw loop", None);
        if let Some(rate) = aes_kw_loop_rate(st.h.scheme, prim, keys_per_kek) {
            let per_thread = row.items_per_s / row.threads.max(1) as f64;
            row.reference = Some(Reference {
                primitive: prim,
                aes_kw_loop_per_s: rate,
                speedup_per_thread: per_thread / rate,
                keks,
            });
        }
    }
    Ok(row)
}

/// Refuses a role that is not a root of `h`'s design (a workload built
/// against another design).
fn check_root(h: &Hierarchy, r: RoleId) -> Result<()> {
    if h.design
        .roles
        .get(usize::from(r))
        .is_some_and(|role| role.is_root())
    {
        Ok(())
    } else {
        Err(spec::unknown_role(&h.design, format!("role{r}")))
    }
}
