//! Rotation and revocation: the executor of a [`ChangePlan`] (see
//! [`crate::engine::plan`]) over a whole state. Versions are bumped first;
//! then the global keys, then every tenant in parallel (in pieces of about
//! equal work), open what must be opened from the old state, peel and rewrap
//! or freshly wrap every stored wrap the plan names, writing into that
//! tenant's own part of the payload arena (see [`super::execute`]). New key
//! material comes from the run's seed (`Prf::node_key(node, new_version)`),
//! new shares from `Prf::key(Share, .., generation)`, nonces from the new
//! generation. Then verification (see [`super::verify`]).

use std::collections::HashMap;
use std::time::Instant;

use rayon::prelude::*;

use crate::crypto::prf::Prf;
use crate::crypto::secret::Key256;
use crate::engine::par;
use crate::engine::plan::{ChangePlan, Redo, chosen_slots};
use crate::engine::recover::recover_key;
use crate::error::{Error, Result};
use crate::graph::counts::Counts;
use crate::graph::hierarchy::Hierarchy;
use crate::graph::skeleton::split_parts;
use crate::store::keyring::Keyring;

use super::data::reencrypt_data;
use super::execute::{REDO_RUN, execute_range};
use super::rows::{BackendWatch, RunRow, percentiles};
use super::state::{RunOptions, State};
use super::verify::{Expected, audit_into, hostile_keys, try_hostile, verify_leaves};

/// Executes `plan` on `st` and verifies it as a compromise (`compromise`: the
/// adversary also holds everything the replaced roots opened through the old
/// wraps) or as a routine rotation. Public so tests can show that verification
/// catches a plan that does too little.
///
/// A plan that needs a root the keyring lacks is refused before anything
/// changes. A stored wrap that fails its integrity check part-way (a tampered
/// hierarchy) returns the error with `st` partly re-keyed: the hierarchy keeps
/// all its bytes, but it must be reloaded, not used further. [`run`](super::run) has the
/// same contract; the CLI writes nothing after an error.
pub fn run_change(
    st: &mut State,
    plan: &ChangePlan,
    compromise: bool,
    lazy: bool,
    opts: &RunOptions,
    row: &mut RunRow,
) -> Result<()> {
    // A plan that needs a root the keyring no longer holds (a shredded tenant's) is
    // refused before anything changes, rather than failing half-way through.
    if let Some(r) = missing_root(&st.h, &st.ring, plan) {
        return Err(Error::Unrecoverable { key: u64::from(r) });
    }
    // Expected keys and the attacker's view are taken before the change (verification
    // only: without it, neither is needed).
    let vstart = Instant::now();
    let before = if opts.verify {
        let (expected, mut v_unwraps) = Expected::of(st)?;
        let hostile = hostile_keys(st, plan, compromise, &mut v_unwraps)?;
        Some((expected, hostile, v_unwraps))
    } else {
        None
    };
    let vsecs = vstart.elapsed().as_secs_f64();

    row.analytic = plan.counts(&st.h);
    let prf = Prf::new(opts.seed ^ 0x6b65_7968_6965_7200); // new material: distinct from the generation stream
    let start = Instant::now();
    // Versions first, then new root material.
    // (The serial part of a run, kept short: no pass over every node's
    // version unless some key is re-keyed, one AES call per 128 new roots,
    // one walk over the keyring.)
    let mut old_roots: HashMap<u32, Key256> = HashMap::with_capacity(plan.replaced_roots.len());
    st.h.generation = st.h.generation.wrapping_add(1);
    for (v, rekey) in st.h.version.chunks_mut(64).zip(plan.rekey.chunks(64)) {
        if rekey.iter().fold(false, |a, &b| a | b) {
            v.iter_mut()
                .zip(rekey)
                .for_each(|(v, &r)| *v += u32::from(r));
        }
    }
    // Share generations: a re-shared key draws the next polynomial. (A
    // re-keyed one keeps its generation: its new version alone makes its
    // polynomial new, and its old wraps, opened below, still name it.)
    if plan.reshare.iter().any(|&r| r) {
        for n in 0..st.h.nodes() {
            if plan.reshare[n as usize] && !plan.rekey[n as usize] {
                *st.h.share_gen.entry(n).or_insert(0) += 1;
            }
        }
    }
    let mut bumped = Vec::with_capacity(plan.replaced_roots.len());
    for &r in &plan.replaced_roots {
        st.h.version[r as usize] += 1;
        bumped.push((r, st.h.version[r as usize]));
    }
    // Roots in a backend: each new version is created there (one root
    // operation each, as in process), its entry holding no material.
    let watch = BackendWatch::start(&st.ring);
    let keys = match st.ring.backend() {
        None => prf.node_keys(&bumped),
        Some(_) => bumped
            .iter()
            .map(|&(r, v)| st.ring.create_held(r, v))
            .collect::<Result<Vec<_>>>()?,
    };
    let new_roots = bumped
        .iter()
        .zip(keys)
        .map(|(&(r, v), k)| (r, v, k))
        .collect();
    let mut retired: Vec<(u32, u32, Key256)> = Vec::new();
    st.ring.replace_all(new_roots, &mut |r, v, k| {
        if !compromise {
            retired.push((r, v, k.clone()));
        }
        old_roots.insert(r, k);
    });
    // A routine rotation retains the old versions (as Microsoft 365 does: data
    // not yet rewrapped may be under them) until `destroy-retired`; a
    // revocation destroys every old version of every root it replaces (the
    // leaked ones, and the others a remedy rotates: its answer depends on it).
    if compromise {
        let replaced = &plan.replaced_roots;
        st.ring
            .destroy_retired(&|n| replaced.binary_search(&n).is_ok());
    }
    for (r, v, k) in retired {
        st.ring.retain(r, v, k);
    }
    let immediate = start.elapsed().as_secs_f64();
    // Split redo and payload by tenant.
    let tenants = st.h.tenants() as usize;
    let mut bounds: Vec<(u32, u32)> = vec![(0, st.h.tenant_node_start[0])];
    bounds.extend((0..tenants).map(|t| (st.h.tenant_node_start[t], st.h.tenant_node_start[t + 1])));
    let lens: Vec<usize> = bounds
        .iter()
        .map(|&(a, b)| {
            (st.h.slot_start[b as usize] - st.h.slot_start[a as usize]) as usize * st.h.stride
        })
        .collect();
    let mut payload = std::mem::take(&mut st.h.payload);
    let h = &st.h;
    let mut parts = split_parts(&mut payload, lens.into_iter());
    // Each range's stored wraps to redo (the plan lists them by node).
    // (Each piece of tenants finds its own ranges, on its thread: for the
    // whole plan at once, here, that was the largest serial step.)
    let global_redo = redo_ranges(&plan.redo, &bounds[..1]).remove(0);
    let ring = &st.ring;
    let global_part = parts.remove(0);
    let global = execute_range(
        h,
        plan,
        ring,
        &old_roots,
        &prf,
        None,
        bounds[0].0..bounds[0].1,
        &plan.redo[global_redo],
        0,
        global_part,
    );
    // On failure the payload goes back into the hierarchy before returning,
    // so that an error never leaves it empty.
    let (gc, gopened) = match global {
        Ok(x) => x,
        Err(e) => {
            drop(parts);
            st.h.payload = payload;
            return Err(e);
        }
    };
    // Tenants in pieces of about equal work (see `crate::engine::par`), one rayon job each.
    let tenant_bounds = &bounds[1..];
    // A tenant's weight is its slots and nodes (its wraps to redo are a part
    // of its slots): known without a pass over the plan.
    let weights: Vec<u64> = tenant_bounds
        .iter()
        .map(|&(lo, hi)| {
            u64::from(h.slot_start[hi as usize] - h.slot_start[lo as usize])
                + u64::from(hi - lo)
                + 1
        })
        .collect();
    let pieces = par::pieces(&weights, par::target(weights.iter().sum(), REDO_RUN as u64));
    let mut parts = parts.into_iter();
    let piece_parts: Vec<Vec<&mut [u8]>> = pieces
        .iter()
        .map(|r| parts.by_ref().take(r.len()).collect())
        .collect();
    let results: Vec<Result<(Counts, u64)>> =
        pieces
            .into_par_iter()
            .zip(piece_parts)
            .with_max_len(1)
            .flat_map_iter(|(r, parts)| {
                let (old_roots, prf, gopened) = (&old_roots, &prf, &gopened);
                let ranges = redo_ranges(&plan.redo, &tenant_bounds[r.clone()]);
                tenant_bounds[r].iter().zip(parts).zip(ranges).map(
                    move |((&(lo, hi), part), redo)| {
                        let t0 = Instant::now();
                        let (c, _) = execute_range(
                            h,
                            plan,
                            ring,
                            old_roots,
                            prf,
                            Some(gopened),
                            lo..hi,
                            &plan.redo[redo],
                            h.slot_start[lo as usize],
                            part,
                        )?;
                        Ok((c, t0.elapsed().as_nanos() as u64))
                    },
                )
            })
            .collect();
    st.h.payload = payload;
    // The replaced versions a revocation did not retain are gone from the
    // ring: with a backend, destroyed there now (the old_roots entries hold no handle).
    st.ring.release_unnamed();
    row.root_backend = watch.and_then(|w| w.finish(&st.ring, opts.root_rates.as_ref()));
    let mut measured = gc;
    let mut per_tenant = Vec::with_capacity(tenants);
    for r in results {
        let (c, ns) = r?;
        measured.add(&c);
        per_tenant.push(ns);
    }
    let total = start.elapsed().as_secs_f64();
    // Key counts are facts of the plan the executor carried out (each re-keyed key got new material above).
    measured.roots_replaced = plan.replaced_roots.len() as u64;
    measured.root_ops += measured.roots_replaced;
    for n in 0..st.h.nodes() {
        if plan.rekey[n as usize] {
            measured.keys_rekeyed += 1;
            measured.leaves_rekeyed += u64::from(st.h.is_leaf(n));
        } else if plan.reshare[n as usize] {
            measured.keys_reshared += 1;
        }
    }
    let (p50, p99, max) = percentiles(&mut per_tenant);
    (row.tenant_p50_ms, row.tenant_p99_ms, row.tenant_max_ms) = (p50, p99, max);
    if lazy {
        // Exchange-style: at once only the new root versions; every rewrap waits for the
        // first access to the key below. Executed here as that first access pass.
        row.seconds = immediate;
        row.deferred = Some(measured);
        row.deferred_seconds = Some(total - immediate);
        row.measured = measured;
    } else {
        row.seconds = total;
        row.measured = measured;
    }
    row.items = measured.wraps_rewritten;
    row.data = reencrypt_data(measured.leaves_rekeyed, opts)?;
    // Re-keyed leaves hold material from this run's seed: the generation seed no
    // longer gives every leaf's key, so later runs take expected keys from a recovery.
    if measured.leaves_rekeyed > 0 {
        st.gen_seed = None;
    }

    // Verification: survivors recover to their expected keys (re-keyed leaves to their new
    // material), and the hostile keys open nothing in the new state.
    let Some((mut expected, hostile, v_unwraps)) = before else {
        return Ok(());
    };
    let vstart = Instant::now();
    for n in 0..st.h.nodes() {
        if plan.rekey[n as usize] && st.h.is_leaf(n) {
            expected.keys[n as usize] = Some(prf.node_key(n, st.h.version[n as usize]));
        }
    }
    let mut v = verify_leaves(st, &expected, &|_| true)?;
    // The owner's current keys, for the leaked-share check: roots from the ring,
    // others recovered (a small recursive recovery per key asked).
    let current = |n: u32| -> Option<Key256> {
        recover_key(&st.h, &st.ring, &|_| true, n)
            .ok()
            .map(|(k, _)| k)
    };
    let (attempts, opened) = try_hostile(&st.h, st.ring.root_keks(), &hostile, &current)?;
    v.hostile_attempts = attempts;
    v.hostile_opened = opened;
    v.verified = v.verified && opened == 0;
    v.unwraps += v_unwraps + attempts;
    audit_into(st, &mut v, &|_| true);
    v.seconds += vsecs + vstart.elapsed().as_secs_f64();
    v.notes.push("every leaf recovered from the new state equals its expected key (new material where re-keyed)".into());
    v.notes.push(if compromise {
        "the attacker's keys (the revoked roots and all they opened through the old wraps, shares included) open no stored wrap of the new state".into()
    } else {
        "the retired root versions open no stored wrap of the new state".into()
    });
    row.verification = v;
    Ok(())
}

/// The first root `plan` needs that `ring` does not hold at its current version:
/// a root it replaces, or the KEK of a layer it opens, peels or wraps.
fn missing_root(h: &Hierarchy, ring: &Keyring, plan: &ChangePlan) -> Option<u32> {
    let held = |k: u32| ring.get(k).is_some_and(|(v, _)| v == h.version[k as usize]);
    let opened = (0..h.nodes())
        .filter(|&n| plan.open[n as usize])
        .flat_map(|n| chosen_slots(h, n).map(|s| (s, 0)));
    let redone = plan
        .redo
        .iter()
        .map(|r| (r.slot, usize::from(r.from_layer)));
    let keks = opened
        .chain(redone)
        .flat_map(|(s, from)| h.slot_keks(s).get(from..).unwrap_or_default().to_vec());
    plan.replaced_roots
        .iter()
        .copied()
        .chain(keks)
        .find(|&k| h.is_root(k) && !held(k))
}

/// The range of `redo` (sorted by node) in each node range of `bounds`
/// (consecutive and in order): one galloping search from where the last
/// range ended, so that thousands of tenants cost about as much as a pass
/// over their boundaries, not a binary search of the whole plan each.
fn redo_ranges(redo: &[Redo], bounds: &[(u32, u32)]) -> Vec<core::ops::Range<usize>> {
    let mut at = bounds
        .first()
        .map_or(0, |&(lo, _)| redo.partition_point(|r| r.node < lo));
    // first index at or after `from` whose node is at least `node`
    let seek = |from: usize, node: u32| {
        let mut step = 1;
        let mut lo = from;
        while lo + step <= redo.len() && redo[lo + step - 1].node < node {
            lo += step;
            step *= 2;
        }
        let hi = (lo + step).min(redo.len());
        lo + redo[lo..hi].partition_point(|r| r.node < node)
    };
    bounds
        .iter()
        .map(|&(lo, hi)| {
            let a = seek(at, lo);
            let b = seek(a, hi);
            at = b;
            a..b
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redo_ranges_equal_binary_searches() {
        let redo = |node: u32| Redo {
            node,
            slot: node,
            from_layer: 0,
            fresh: false,
            kek: crate::graph::hierarchy::NO_KEK,
        };
        // nodes with gaps, repeats and long runs
        let nodes: Vec<u32> = [0, 0, 3, 4, 4, 4, 9]
            .into_iter()
            .chain(10..300)
            .chain([300, 300, 1000])
            .collect();
        let plan: Vec<Redo> = nodes.iter().map(|&n| redo(n)).collect();
        let cuts = [
            0u32, 1, 2, 4, 5, 9, 10, 11, 50, 299, 300, 301, 999, 1000, 1001, 2000,
        ];
        let bounds: Vec<(u32, u32)> = cuts.windows(2).map(|w| (w[0], w[1])).collect();
        // the whole list, and any run of it on its own (the engine splits it over threads)
        for from in 0..bounds.len() {
            let part = &bounds[from..];
            let got = redo_ranges(&plan, part);
            assert_eq!(got.len(), part.len());
            for (&(lo, hi), r) in part.iter().zip(&got) {
                let a = plan.partition_point(|x| x.node < lo);
                let b = plan.partition_point(|x| x.node < hi);
                assert_eq!(*r, a..b, "nodes {lo}..{hi}, from bound {from}");
            }
        }
        assert!(redo_ranges(&[], &bounds).iter().all(|r| r.is_empty()));
    }
}
