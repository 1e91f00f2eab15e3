//! `purge`: the documented data purge path of one tenant, step by step, and
//! what stays decryptable, by whom, while it runs and after it.
//!
//! The path (Microsoft Learn, "Manage Customer Key": revoke your keys and
//! start the data purge path): the customer revokes every root it holds
//! above the tenant's data, requests the purge with a legal attestation, and
//! the provider then deletes the DEP keys and the availability keys. Until
//! the provider does, its services can go on decrypting through the
//! availability key (system operations such as indexing and mailbox moves):
//! that window is [`RunOptions::purge_window_hours`], by default
//! [`DEFAULT_PURGE_WINDOW_HOURS`]. Only keys of the purged tenant are touched.
//!
//! Deleting a stored wrap is modelled by overwriting its bytes with zeros
//! (the slot stays, so the file format holds; nothing can open it any more),
//! and verified by trying every deleted slot with the keys held before the
//! purge: none may open. A design whose service does not offer the path
//! ([`Purge::Unsupported`]: SharePoint, multi-workload DEPs, provider-managed
//! keys) changes nothing and says why. `shred` is not this: it destroys a
//! tenant's roots at once whoever holds them (see its controller).

use crate::crypto::batch::KekCache;
use crate::crypto::scheme::GLOBAL_TENANT;
use crate::crypto::secret::Key256;
use crate::engine::recover::{CacheMode, OpenStats, open_slot, recover_leaves};
use crate::error::{Error, Result};
use crate::graph::counts::Counts;
use crate::graph::design::{Owner, Purge};
use crate::graph::hierarchy::Hierarchy;
use crate::graph::reach::{reach, reach_filtered};

pub use super::rows::{Actor, PurgeOutcome, PurgeStep, Residue};
use super::rows::{RunRow, Verification};
pub use super::state::DEFAULT_PURGE_WINDOW_HOURS;
use super::state::{RunOptions, State};
use super::verify::{Expected, audit_into, verify_leaves};

pub(super) fn run_purge(
    st: &mut State,
    tenant: u32,
    opts: &RunOptions,
    row: &mut RunRow,
) -> Result<()> {
    let h = &st.h;
    h.check_tenant(tenant)?;
    let window = opts.purge_window_hours;
    if !(window.is_finite() && window >= 0.0) {
        return Err(Error::InvalidArgument(format!(
            "purge window of {window} hours: give a finite number of hours, 0 or more"
        )));
    }
    let t = tenant as usize;
    let range = h.tenant_node_start[t]..h.tenant_node_start[t + 1];
    let owner = |n: u32| h.design.roles[usize::from(h.role[n as usize])].owner;
    let customer_roots: Vec<u32> = range
        .clone()
        .filter(|&n| h.is_root(n) && owner(n) == Owner::Customer)
        .collect();
    let mut out = PurgeOutcome {
        tenant,
        window_hours: window,
        ..PurgeOutcome::default()
    };
    let unsupported = match h.design.purge {
        Purge::Unsupported(why) => Some(why.to_owned()),
        Purge::Supported if customer_roots.is_empty() => Some(format!(
            "the customer holds no root of tenant {tenant} to revoke"
        )),
        Purge::Supported => None,
    };
    if let Some(why) = unsupported {
        // Nothing changes: the provider keeps every key; say so and check it.
        out.reason = Some(format!(
            "purge is not supported on {}: {why}",
            h.design.name
        ));
        row.verification = if opts.verify {
            let (expected, unwraps) = Expected::of(st)?;
            let mut v = verify_leaves(st, &expected, &|_| true)?;
            v.unwraps += unwraps;
            audit_into(st, &mut v, &|_| true);
            v
        } else {
            Verification::default()
        };
        row.verification.notes.push(format!(
            "nothing was done: {}; every leaf still recovers",
            out.reason.as_deref().unwrap_or_default()
        ));
        row.purge = Some(out);
        return Ok(());
    }
    out.supported = true;
    let in_scope = |n: u32| {
        range.contains(&n) || (h.tenant_of(n) == GLOBAL_TENANT && h.covers_tenant(n, tenant))
    };
    let recovery_only = |n: u32| h.design.roles[usize::from(h.role[n as usize])].recovery_only;
    // The provider's roots of the tenant (not shared ones) and the keys
    // wrapped directly under a root (the DEP keys): what the provider deletes.
    let provider_roots: Vec<u32> = range
        .clone()
        .filter(|&n| h.is_root(n) && owner(n) != Owner::Customer)
        .collect();
    let deleted: Vec<u32> = range
        .clone()
        .filter(|&n| !h.is_root(n) && h.slots_of(n).any(|s| under_a_root(h, s)))
        .collect();
    let deleted_keys = deleted.len() as u64;
    let deleted_slots: Vec<u32> = deleted.iter().flat_map(|&n| h.slots_of(n)).collect();
    let (customer_names, provider_names) = (
        role_names(h, &customer_roots),
        role_names(h, &provider_roots),
    );
    let before_h = opts.verify.then(|| h.clone());
    let before_ring = st.ring.clone();
    let expected = if opts.verify {
        Some(Expected::of(st)?)
    } else {
        None
    };

    // 1. The customer revokes its roots.
    let start = std::time::Instant::now();
    let mut destroyed = 0u64;
    for &r in &customer_roots {
        destroyed += u64::from(st.ring.destroy(r));
    }
    out.steps.push(PurgeStep {
        by: Actor::Customer,
        action: format!(
            "revokes every root it holds above tenant {tenant}'s data ({})",
            customer_names
        ),
        keys: customer_roots.len() as u64,
    });
    out.steps.push(PurgeStep {
        by: Actor::Customer,
        action: "requests the data purge, with a legal attestation (no key operation)".into(),
        keys: 0,
    });
    // 2. What the provider's services still decrypt, until it deletes its keys.
    let h = &st.h;
    let ring = &st.ring;
    let services =
        |n: u32| h.is_root(n) && in_scope(n) && !recovery_only(n) && ring.get(n).is_some();
    let window_reach = reach(h, &services);
    out.provider_leaves_in_window = window_reach.tenant_leaves_open(h, tenant);
    out.steps.push(PurgeStep {
        by: Actor::Provider,
        action: format!(
            "keeps decrypting {} of {} leaves (its services' system operations) through {} for up to {window} hours",
            out.provider_leaves_in_window,
            h.tenant_leaves(tenant),
            provider_names
        ),
        keys: 0,
    });
    // 3. The provider deletes the DEP keys' stored wraps and its roots of the tenant.
    let stride = h.stride;
    for &s in &deleted_slots {
        let at = s as usize * stride;
        if let Some(bytes) = st.h.payload.get_mut(at..at + stride) {
            bytes.fill(0);
        }
    }
    for &r in &provider_roots {
        destroyed += u64::from(st.ring.destroy(r));
    }
    row.seconds = start.elapsed().as_secs_f64();
    let h = &st.h;
    out.wraps_deleted = deleted_slots.len() as u64;
    out.steps.push(PurgeStep {
        by: Actor::Provider,
        action: format!(
            "deletes {deleted_keys} keys wrapped under the roots ({} stored wraps) and its roots of the tenant ({})",
            deleted_slots.len(),
            provider_names
        ),
        keys: deleted_slots.len() as u64 + provider_roots.len() as u64,
    });
    let roots = (customer_roots.len() + provider_roots.len()) as u64;
    row.analytic = Counts {
        root_ops: roots,
        roots_replaced: roots,
        ..Counts::default()
    };
    row.measured = Counts {
        root_ops: destroyed,
        roots_replaced: destroyed,
        ..Counts::default()
    };
    row.items = destroyed + out.wraps_deleted;
    row.provider_can_decrypt_hours = Some(if out.provider_leaves_in_window > 0 {
        window
    } else {
        0.0
    });
    // What is left: the live roots, over the wraps that were not deleted.
    let kept = |s: u32| deleted_slots.binary_search(&s).is_err();
    let ring = &st.ring;
    let live = |n: u32| h.is_root(n) && ring.get(n).is_some();
    out.leaves_left = reach_filtered(h, &live, &kept).tenant_leaves_open(h, tenant);
    row.crypto_shred = Some(out.leaves_left == 0);
    out.residue = residue(h, tenant, &customer_roots, &provider_roots, &out, &kept);

    let Some((mut expected, v_unwraps)) = expected else {
        row.purge = Some(out);
        return Ok(());
    };
    // Verification: a copy of the wraps made before the purge still opens,
    // with the customer's retained root versions, exactly the leaves the
    // residue names, to their keys (the residue is real, not a guess); no
    // deleted wrap opens with the keys held before the purge; the tenant's
    // leaves no longer recover; every other tenant is intact.
    let mut backup = (0u64, 0u64);
    let mut backup_unwraps = 0;
    if let Some(old) = &before_h {
        let retained = |n: u32| customer_roots.binary_search(&n).is_ok();
        let right = std::sync::atomic::AtomicU64::new(0);
        let wrong = std::sync::atomic::AtomicU64::new(0);
        let expected = &expected;
        let res = recover_leaves(old, &before_ring, &retained, CacheMode::Cached, &|n, k| {
            let hit = if expected.keys[n as usize].as_ref() == Some(k) {
                &right
            } else {
                &wrong
            };
            hit.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        })?;
        backup = (right.into_inner(), wrong.into_inner());
        backup_unwraps = res.ops.unwraps;
    }
    for n in range.clone() {
        if h.is_leaf(n) && out.leaves_left == 0 {
            expected.keys[n as usize] = None;
        }
    }
    let mut v = verify_leaves(st, &expected, &|_| true)?;
    let claimed = out
        .residue
        .iter()
        .find(|r| r.holder == "customer")
        .map_or(0, |r| r.leaves);
    if before_h.is_some() {
        v.verified = v.verified && backup == (claimed, 0);
        v.notes.push(format!(
            "a copy of the stored wraps made before the purge opens {} leaves of tenant {tenant} to their keys with the customer's retained root versions ({} to a wrong key; the residue says {claimed})",
            backup.0, backup.1
        ));
    }
    let mut cache = KekCache::with_roots(before_ring.root_keks());
    let mut stats = OpenStats::default();
    for &s in &deleted_slots {
        let n = h.node_of_slot(s);
        let keks: Option<Vec<&Key256>> = h
            .slot_keks(s)
            .iter()
            .map(|&k| before_ring.get(k).map(|(_, key)| key))
            .collect();
        let Some(keks) = keks else { continue };
        v.hostile_attempts += 1;
        if open_slot(h, &mut cache, n, s, &keks, &mut stats).is_ok() {
            v.hostile_opened += 1;
        }
    }
    v.unwraps += v_unwraps + backup_unwraps + stats.unwraps;
    v.verified = v.verified && v.hostile_opened == 0;
    v.notes.push(format!(
        "{} deleted stored wraps tried with the keys held before the purge: {} opened",
        v.hostile_attempts, v.hostile_opened
    ));
    v.notes.push(if out.leaves_left == 0 {
        format!("no leaf of tenant {tenant} recovers from what is left; every other leaf recovers to its key")
    } else {
        format!(
            "{} leaves of tenant {tenant} still recover through keys the purge does not delete: not a cryptographic purge",
            out.leaves_left
        )
    });
    audit_into(st, &mut v, &|n| !range.contains(&n));
    row.verification = v;
    row.purge = Some(out);
    Ok(())
}

/// Whether every layer of slot `s` is a root (a key wrapped directly under roots).
fn under_a_root(h: &Hierarchy, s: u32) -> bool {
    h.slot_keks(s).iter().all(|&k| h.is_root(k))
}

/// The distinct role names of `nodes`, `+`-joined (`ck1+ck2`), or `none`.
fn role_names(h: &Hierarchy, nodes: &[u32]) -> String {
    let mut names: Vec<&str> = Vec::new();
    for &n in nodes {
        let name = h.design.roles[usize::from(h.role[n as usize])]
            .name
            .as_str();
        if !names.contains(&name) {
            names.push(name);
        }
    }
    if names.is_empty() {
        "none".into()
    } else {
        names.join("+")
    }
}

/// What remains decryptable after the purge, and by whom: the graph's answer
/// over the stored wraps as they were before it (a backup holds them).
fn residue(
    h: &Hierarchy,
    tenant: u32,
    customer_roots: &[u32],
    provider_roots: &[u32],
    out: &PurgeOutcome,
    kept: &dyn Fn(u32) -> bool,
) -> Vec<Residue> {
    let all_wraps = |_: u32| true;
    let opens = |held: &[u32], wraps: &dyn Fn(u32) -> bool| {
        let held = |n: u32| held.binary_search(&n).is_ok();
        reach_filtered(h, &held, wraps).tenant_leaves_open(h, tenant)
    };
    let mut r = vec![Residue {
        holder: "provider".into(),
        through: format!(
            "its services, through {} (system operations: indexing, mailbox moves)",
            role_names(h, provider_roots)
        ),
        leaves: out.provider_leaves_in_window,
        until: format!(
            "it deletes those keys, up to {} hours after the revocation",
            out.window_hours
        ),
    }];
    r.push(Residue {
        holder: "customer".into(),
        through: format!(
            "its revoked root versions ({}) kept in its key vault (soft-delete keeps a deleted key 7 to 90 days), with any copy of the stored wraps made before the purge",
            role_names(h, customer_roots)
        ),
        leaves: opens(customer_roots, &all_wraps),
        until: "it purges those key versions from the vault and every backup of the wraps expires"
            .into(),
    });
    r.push(Residue {
        holder: "provider".into(),
        through: format!(
            "any backup of {} with a copy of the stored wraps made before the purge",
            role_names(h, provider_roots)
        ),
        leaves: opens(provider_roots, &all_wraps),
        until: "the provider's backups expire (not documented; not modelled)".into(),
    });
    // Roots the purge does not touch (shared with other tenants) over the live wraps.
    let shared: Vec<u32> = (0..h.tenant_node_start[0])
        .filter(|&n| h.is_root(n))
        .collect();
    if shared.is_empty() {
        return r;
    }
    r.push(Residue {
        holder: "provider".into(),
        through: format!(
            "roots shared with other tenants, which a purge does not delete ({})",
            role_names(h, &shared)
        ),
        leaves: opens(&shared, kept),
        until: "never deleted by a purge".into(),
    });
    r
}
