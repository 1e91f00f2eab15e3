//! `provision`: the whole hierarchy built anew from its shape (skeleton,
//! every key wrapped, a keyring), metered, then verified by recovering every
//! leaf to its seed-derived key.

use std::time::Instant;

use crate::crypto::prf::Prf;
use crate::engine::generate::fill_wraps_metered;
use crate::engine::plan::provision_counts;
use crate::error::Result;
use crate::graph::skeleton::skeleton_from_counts;
use crate::store::keyring::Keyring;

use super::rows::{BackendWatch, RunRow};
use super::state::{RunOptions, State};
use super::verify::{Expected, audit_into, verify_leaves};

pub(super) fn run_provision(st: &mut State, opts: &RunOptions, row: &mut RunRow) -> Result<()> {
    let seed = st.gen_seed.unwrap_or(opts.seed);
    let spec_design = st.h.design.clone();
    let tenant_groups: Vec<u32> = (0..st.h.tenants())
        .map(|t| st.h.tenant_group_start[t as usize + 1] - st.h.tenant_group_start[t as usize])
        .collect();
    let start = Instant::now();
    let mut h = skeleton_from_counts(
        &spec_design,
        st.h.scheme,
        &tenant_groups,
        &st.h.group_leaves,
    )?;
    let prf = Prf::new(seed);
    let watch = BackendWatch::start(&st.ring);
    let (meter, ring) = match st.ring.backend() {
        None => (
            fill_wraps_metered(&mut h, &prf, &|_| {}, None)?,
            Keyring::from_prf(&h, &prf),
        ),
        Some(b) => {
            let ring = Keyring::in_backend(&h, b.clone())?;
            (
                fill_wraps_metered(&mut h, &prf, &|_| {}, ring.root_keks())?,
                ring,
            )
        }
    };
    row.seconds = start.elapsed().as_secs_f64();
    row.root_backend = watch.and_then(|w| w.finish(&ring, opts.root_rates.as_ref()));
    row.measured = meter;
    row.measured.root_ops += ring.len() as u64;
    row.measured.keys_rekeyed = u64::from(h.nodes()) - ring.len() as u64;
    row.measured.leaves_rekeyed = h.leaves();
    row.analytic = provision_counts(&h);
    row.items = row.measured.wraps;
    *st = State {
        h,
        ring,
        gen_seed: Some(seed),
    };
    if !opts.verify {
        return Ok(());
    }
    opts.progress.phase("verify: recover every leaf", None);
    let mut v = verify_leaves(st, &Expected::of(st)?.0, &|_| true)?;
    v.notes
        .push("every leaf recovered from the new hierarchy equals its seed-derived key".into());
    opts.progress.phase("verify: audit every slot", None);
    audit_into(st, &mut v, &|_| true);
    row.verification = v;
    Ok(())
}
