//! `unwrap-all`: every leaf recovered from the roots, cached or cold, each
//! checked in the recovery's own sink against a fingerprint of its expected key.

use std::sync::Mutex;
use std::time::Instant;

use crate::engine::plan::unwrap_all_counts;
use crate::engine::recover::{CacheMode, recover_leaves};
use crate::error::Result;
use crate::graph::counts::Counts;

use super::rows::{BackendWatch, RunRow, Verification, percentiles};
use super::state::{RunOptions, State};
use super::verify::{Expected, audit_into, fingerprint};

pub(super) fn run_unwrap_all(
    st: &mut State,
    cold: bool,
    opts: &RunOptions,
    row: &mut RunRow,
) -> Result<()> {
    let p = &opts.progress;
    // The check against expected keys rides along in the recovery's sink, so it
    // stays on even when verification is off: each leaf's key against a 64-bit
    // fingerprint of its expected key (8 bytes a leaf to stream beside the
    // wraps, not 33; a wrong key passes with probability 2^-64).
    let vstart = Instant::now();
    p.phase("verify: the expected keys", None);
    let (expected, v_unwraps) = Expected::of(st)?;
    let prints: Vec<u64> = expected
        .keys
        .iter()
        .map(|k| k.as_ref().map_or(0, fingerprint))
        .collect();
    drop(expected);
    let vsecs = vstart.elapsed().as_secs_f64();
    let wrong = Mutex::new(0u64);
    p.phase(
        &format!("workload {}: recover every leaf", row.workload),
        None,
    );
    let start = Instant::now();
    let watch = BackendWatch::start(&st.ring);
    let stats = recover_leaves(
        &st.h,
        &st.ring,
        &|_| true,
        if cold {
            CacheMode::Cold
        } else {
            CacheMode::Cached
        },
        &|n, k| {
            if prints.get(n as usize) != Some(&fingerprint(k))
                && let Ok(mut w) = wrong.lock()
            {
                *w += 1;
            }
        },
    )?;
    row.seconds = start.elapsed().as_secs_f64();
    row.root_backend = watch.and_then(|w| w.finish(&st.ring, opts.root_rates.as_ref()));
    // The fingerprint compare inside the sink is verification work left in the timed
    // loop: a few instructions and an 8-byte read per leaf.
    let wrong = wrong.into_inner().unwrap_or(u64::MAX);
    row.measured = Counts {
        unwraps: stats.ops.unwraps,
        root_ops: stats.ops.root_ops,
        ..Counts::default()
    };
    row.analytic = unwrap_all_counts(&st.h, cold);
    row.items = stats.leaves_recovered;
    let (p50, p99, max) = percentiles(&mut stats.per_tenant_ns.clone());
    (row.tenant_p50_ms, row.tenant_p99_ms, row.tenant_max_ms) = (p50, p99, max);
    row.verification = Verification {
        verified: wrong == 0
            && stats.leaves_unrecoverable == 0
            && stats.leaves_recovered == st.h.leaves(),
        leaves_checked: stats.leaves_recovered,
        leaves_wrong: wrong + stats.leaves_unrecoverable,
        unwraps: v_unwraps,
        seconds: vsecs,
        notes: vec![if st.gen_seed.is_some() {
            "every leaf recovered equals its seed-derived key".into()
        } else {
            "every leaf recovered equals what a cold recovery gave first".into()
        }],
        ..Verification::default()
    };
    if opts.verify {
        p.phase("verify: audit every slot", None);
        audit_into(st, &mut row.verification, &|_| true);
    }
    Ok(())
}
