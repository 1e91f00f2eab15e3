//! `shred`: destroy a tenant's roots, then prove what the remaining roots can
//! still recover of it (nothing, for a cryptographic shred) and, where a
//! shared root still reaches it, which stored wraps must be deleted instead.
//! It destroys every root of the tenant whoever holds it: on designs where a
//! provider root (an availability key) sits in the tenant, that is not the
//! customer's to do (the row's controller is `joint`, and a note says so);
//! the customer's path there is `purge`.

use std::time::Instant;

use crate::error::Result;
use crate::graph::counts::Counts;
use crate::graph::reach::{reach, reach_filtered};

use super::rows::{BackendWatch, RunRow};
use super::state::{RunOptions, State};
use super::verify::{Expected, audit_into, verify_leaves};

pub(super) fn run_shred(
    st: &mut State,
    tenant: u32,
    opts: &RunOptions,
    row: &mut RunRow,
) -> Result<()> {
    let h = &st.h;
    h.check_tenant(tenant)?;
    let vstart = Instant::now();
    // expected keys: verification only
    let before = if opts.verify {
        opts.progress.phase("verify: the expected keys", None);
        Some(Expected::of(st)?)
    } else {
        None
    };
    let vsecs = vstart.elapsed().as_secs_f64();
    opts.progress
        .phase(&format!("workload {}", row.workload), None);
    let start = Instant::now();
    let owned: Vec<u32> = (h.tenant_node_start[tenant as usize]
        ..h.tenant_node_start[tenant as usize + 1])
        .filter(|&n| h.is_root(n))
        .collect();
    let watch = BackendWatch::start(&st.ring);
    let mut destroyed = 0u64;
    for &r in &owned {
        destroyed += u64::from(st.ring.destroy(r));
    }
    row.seconds = start.elapsed().as_secs_f64();
    // (A root another copy of the state still names, as in `compare`, is
    // destroyed in the backend when that copy lets go: `destroys` may be lower.)
    row.root_backend = watch.and_then(|w| w.finish(&st.ring, opts.root_rates.as_ref()));
    let h = &st.h;
    row.measured = Counts {
        root_ops: destroyed,
        roots_replaced: destroyed,
        ..Counts::default()
    };
    row.analytic = Counts {
        root_ops: owned.len() as u64,
        roots_replaced: owned.len() as u64,
        ..Counts::default()
    };
    row.items = destroyed;
    // What remains can still reach the tenant's keys only through shared roots.
    let remaining = |n: u32| h.is_root(n) && st.ring.get(n).is_some();
    let reach = reach(h, &remaining);
    let left = reach.tenant_leaves_open(h, tenant);
    row.crypto_shred = Some(left == 0);
    // The stored wraps of the tenant's keys under a surviving shared root must be deleted instead.
    let range = h.tenant_node_start[tenant as usize]..h.tenant_node_start[tenant as usize + 1];
    let to_delete: Vec<u32> = range
        .clone()
        .flat_map(|n| h.slots_of(n))
        .filter(|&s| {
            h.slot_keks(s)
                .iter()
                .any(|&k| remaining(k) && !range.contains(&k))
        })
        .collect();
    row.wraps_to_delete = Some(to_delete.len() as u64);
    // Verification: other tenants intact; this tenant's leaves recover only as the
    // reach analysis says, and not at all once those wraps are deleted.
    let Some((mut expected, v_unwraps)) = before else {
        return Ok(());
    };
    for n in range.clone() {
        if h.is_leaf(n) && left == 0 {
            expected.keys[n as usize] = None;
        }
    }
    opts.progress.phase("verify: recover every leaf", None);
    let mut v = verify_leaves(st, &expected, &|_| true)?;
    let mut notes = vec![];
    if left == 0 {
        notes.push(format!("no leaf of tenant {tenant} recovers from the remaining roots; every other leaf recovers to its key"));
    } else {
        notes.push(format!(
            "{left} leaves of tenant {tenant} still recover through a shared root: not a cryptographic shred; {} stored wraps must be deleted",
            to_delete.len()
        ));
        let kept = |slot: u32| to_delete.binary_search(&slot).is_err();
        let after = reach_filtered(h, &remaining, &kept).tenant_leaves_open(h, tenant);
        v.verified = v.verified && after == 0;
        v.leaves_not_shredded = after;
        notes.push(format!(
            "after deleting them, {after} leaves of tenant {tenant} are reachable (graph check)"
        ));
    }
    let theirs: Vec<&str> = owned
        .iter()
        .map(|&n| &h.design.roles[usize::from(h.role[n as usize])])
        .filter(|r| r.owner != crate::graph::design::Owner::Customer)
        .map(|r| r.name.as_str())
        .fold(Vec::new(), |mut v, n| {
            if !v.contains(&n) {
                v.push(n);
            }
            v
        });
    if !theirs.is_empty() {
        notes.push(format!(
            "this shred destroys keys the provider holds ({}): the customer alone cannot do it; its documented path is the data purge (--workload purge)",
            theirs.join(", ")
        ));
    }
    v.unwraps += v_unwraps;
    v.seconds += vsecs;
    v.notes = notes;
    // Every key outside the shredded tenant must still open through every slot.
    opts.progress.phase("verify: audit every slot", None);
    audit_into(st, &mut v, &|n| !range.contains(&n));
    row.verification = v;
    Ok(())
}
