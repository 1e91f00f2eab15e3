//! Workloads: provision, unwrap-all, rotate-root, revoke, shred. Each runs on
//! any design through the same graph engine, meters every wrap and unwrap it
//! really performs, verifies the result, and returns a typed [`RunRow`]
//! (it never prints).
//!
//! Rotation and revocation execute a [`ChangePlan`] (see [`crate::engine::plan`]):
//! versions are bumped first; then the global keys, then every tenant in
//! parallel, open what must be opened from the old state, peel and rewrap or
//! freshly wrap every stored wrap the plan names, writing into that tenant's
//! own part of the payload arena. New key material comes from the run's seed
//! (`Prf::node_key(node, new_version)`), new shares from
//! `Prf::key(Share, .., generation)`, nonces from the new generation.
//!
//! Verification is timed and metered apart from the workload:
//! every leaf that must survive is recovered from the new state and compared
//! with its expected key; and the keys an attacker (or the holder of a
//! destroyed root) would hold are tried against every stored wrap of the new
//! state, which must all refuse them.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use rayon::prelude::*;

use crate::crypto::batch::KekCache;
use crate::crypto::prf::{Domain, Prf};
use crate::crypto::scheme::Kek;
use crate::crypto::secret::Key256;
use crate::crypto::shamir;
use crate::engine::plan::{
    ChangePlan, Redo, RewrapOnly, chosen_slots, provision_counts, unwrap_all_counts,
};
use crate::engine::recover::{CacheMode, recover_leaves};
use crate::error::{Error, Result};
use crate::graph::counts::Counts;
use crate::graph::design::RoleId;
use crate::graph::hierarchy::Hierarchy;
use crate::graph::reach::Extent;
use crate::graph::skeleton::split_parts;
use crate::store::keyring::Keyring;

/// A workload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Workload {
    /// Generate and wrap every key.
    Provision,
    /// Recover every leaf from the roots.
    UnwrapAll {
        /// Open the whole path for every leaf (no cache).
        cold: bool,
    },
    /// Routine rotation of a root role.
    RotateRoot {
        /// Root role name.
        role: String,
        /// How much of it.
        extent: Extent,
        /// Rewrap on access instead of at once.
        lazy: bool,
    },
    /// Compromise of a root role.
    Revoke {
        /// Root role name.
        role: String,
        /// How much of it.
        extent: Extent,
    },
    /// Crypto-shred one tenant.
    Shred {
        /// The tenant.
        tenant: u32,
    },
}

impl Workload {
    /// A short label: `rotate-root ck1 all`, `unwrap-all cold`, ...
    pub fn label(&self) -> String {
        match self {
            Workload::Provision => "provision".into(),
            Workload::UnwrapAll { cold: false } => "unwrap-all".into(),
            Workload::UnwrapAll { cold: true } => "unwrap-all cold".into(),
            Workload::RotateRoot { role, extent, lazy } => {
                format!(
                    "rotate-root {role} {}{}",
                    extent.name(),
                    if *lazy { " lazy" } else { "" }
                )
            }
            Workload::Revoke { role, extent } => format!("revoke {role} {}", extent.name()),
            Workload::Shred { tenant } => format!("shred tenant {tenant}"),
        }
    }

    /// The workload's name alone.
    pub fn kind(&self) -> &'static str {
        match self {
            Workload::Provision => "provision",
            Workload::UnwrapAll { .. } => "unwrap-all",
            Workload::RotateRoot { .. } => "rotate-root",
            Workload::Revoke { .. } => "revoke",
            Workload::Shred { .. } => "shred",
        }
    }
}

/// Options of a run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Seed of new key material (and, for generated hierarchies, of the hierarchy).
    pub seed: u64,
    /// Bytes of data under each leaf to re-encrypt when a leaf is re-keyed.
    pub data_bytes_per_leaf: u64,
    /// Largest total of data re-encrypted for real; above it, estimated from a measured rate.
    pub data_real_limit: u64,
    /// A user root-operation rate, besides the built-in profiles.
    pub root_ops_per_s: Option<f64>,
    /// Verify the result (benchmarks turn it off to time the workload alone).
    pub verify: bool,
    /// Measure the `aes-kw` baseline after the run ([`RunRow::reference`]; kw and
    /// kwp only): about 100,000 key operations, which tests and fuzzing skip.
    pub reference: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            seed: 1,
            data_bytes_per_leaf: 0,
            data_real_limit: 64 << 20,
            root_ops_per_s: None,
            verify: true,
            reference: true,
        }
    }
}

/// Data re-encryption after re-keying leaves.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct DataReencryption {
    /// Bytes re-encrypted (or to re-encrypt).
    pub bytes: u64,
    /// `performed` (AES-256-GCM, for real) or `estimated` (from a measured rate) or `none`.
    pub mode: String,
    /// Seconds taken, or estimated.
    pub seconds: f64,
    /// The rate used, GB/s.
    pub gb_per_s: f64,
}

/// Verification of a run, timed and metered apart.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Verification {
    /// Everything checked held.
    pub verified: bool,
    /// Leaves that must survive and were recovered to their expected key.
    pub leaves_checked: u64,
    /// Leaves that must survive but failed or differed.
    pub leaves_wrong: u64,
    /// Stored wraps tried with the keys of an attacker or of destroyed roots.
    pub hostile_attempts: u64,
    /// Of which opened (must be 0).
    pub hostile_opened: u64,
    /// Leaves recovered that must not be (shred).
    pub leaves_not_shredded: u64,
    /// Unwraps performed by verification.
    pub unwraps: u64,
    /// Seconds.
    pub seconds: f64,
    /// What was checked, in words.
    pub notes: Vec<String>,
}

/// One run: what was done, what it cost, and whether it verified.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct RunRow {
    /// Design.
    pub design: String,
    /// Workload label.
    pub workload: String,
    /// Workload kind.
    pub kind: String,
    /// Root role (rotate, revoke).
    pub role: Option<String>,
    /// Extent (rotate, revoke).
    pub extent: Option<Extent>,
    /// Scheme.
    pub scheme: String,
    /// Shape description.
    pub shape: String,
    /// Threads.
    pub threads: usize,
    /// Tenants, groups, leaves, keys, stored wraps.
    pub tenants: u32,
    /// Groups.
    pub groups: u32,
    /// Leaves.
    pub leaves: u64,
    /// Keys.
    pub keys: u64,
    /// Stored wraps.
    pub stored_wraps: u64,
    /// Measured counts.
    pub measured: Counts,
    /// Counts the analytic model predicts.
    pub analytic: Counts,
    /// Whether they are equal.
    pub counts_match: bool,
    /// For lazy rotation: the part deferred to first access (measured).
    pub deferred: Option<Counts>,
    /// Seconds of the deferred part.
    pub deferred_seconds: Option<f64>,
    /// Wall time of the workload, seconds (without verification).
    pub seconds: f64,
    /// Units of work: wraps written (provision, rotate, revoke), leaves recovered (unwrap-all), roots destroyed (shred).
    pub items: u64,
    /// Items per second.
    pub items_per_s: f64,
    /// Wraps plus unwraps per second.
    pub ops_per_s: f64,
    /// Per-tenant latency percentiles, milliseconds.
    pub tenant_p50_ms: f64,
    /// 99th percentile.
    pub tenant_p99_ms: f64,
    /// Slowest tenant.
    pub tenant_max_ms: f64,
    /// Peak resident memory of the process during the run, bytes.
    pub peak_rss_bytes: Option<u64>,
    /// Time the root operations alone take at each profile, seconds.
    pub root_seconds: Vec<(String, f64)>,
    /// Data re-encryption.
    pub data: DataReencryption,
    /// For revocation with degraded nested slots: the rewrap-only alternative.
    pub rewrap_only: Option<RewrapOnly>,
    /// Shred: whether destroying the tenant's roots makes its data unrecoverable.
    pub crypto_shred: Option<bool>,
    /// Shred: stored wraps to delete when it does not.
    pub wraps_to_delete: Option<u64>,
    /// The same primitive through `aes-kw` one key at a time, measured right after
    /// the run on one thread (kw and kwp only): the side-by-side baseline.
    pub reference: Option<Reference>,
    /// Verification.
    pub verification: Verification,
}

/// A side-by-side baseline: the run's primitive in an `aes-kw` loop, one key at a time.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Reference {
    /// `wrap`, `unwrap` or `rewrap` of a 32-byte key under AES-256.
    pub primitive: String,
    /// Keys per second of the loop, one thread (median of 5).
    pub aes_kw_loop_per_s: f64,
    /// The run's items per second per thread, over the loop's.
    pub speedup_per_thread: f64,
}

/// Keys per second of an `aes-kw` loop doing `primitive` one key at a time on
/// this thread (median of five runs of 20,000 keys).
pub fn aes_kw_loop_rate(scheme: crate::crypto::scheme::SchemeId, primitive: &str) -> Option<f64> {
    use aes_kw::{KeyInit, KwAes256, KwpAes256};
    let a = [7u8; 32];
    let b = [9u8; 32];
    let n = 20_000usize;
    let mut times = Vec::new();
    for _ in 0..5 {
        let mut key = [1u8; 32];
        let mut w = [0u8; 40];
        let start = Instant::now();
        // The same loop for either wrapper type (aes-kw's KW and KWP share method names, not a trait).
        macro_rules! one_at_a_time {
            ($kek:ty) => {{
                let (ka, kb) = (<$kek>::new(&a.into()), <$kek>::new(&b.into()));
                ka.wrap_key(&key, &mut w).ok()?;
                for i in 0..n {
                    // a rewrap moves the key from one KEK to the other; alternate directions
                    let (from, to) = if i % 2 == 0 { (&ka, &kb) } else { (&kb, &ka) };
                    match primitive {
                        "wrap" => drop(ka.wrap_key(core::hint::black_box(&key), &mut w).ok()?),
                        "unwrap" => drop(ka.unwrap_key(core::hint::black_box(&w), &mut key).ok()?),
                        _ => {
                            from.unwrap_key(core::hint::black_box(&w), &mut key).ok()?;
                            to.wrap_key(&key, &mut w).ok()?;
                        }
                    }
                }
            }};
        }
        match scheme {
            crate::crypto::scheme::SchemeId::Kw => one_at_a_time!(KwAes256),
            crate::crypto::scheme::SchemeId::Kwp => one_at_a_time!(KwpAes256),
            _ => return None,
        }
        times.push(start.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    Some(n as f64 / times[2])
}

/// The state a workload runs on.
pub struct State {
    /// The hierarchy.
    pub h: Hierarchy,
    /// Its keyring.
    pub ring: Keyring,
    /// The seed it was generated from, if known: then every expected key is
    /// `Prf::node_key`; otherwise expected keys come from a cold recovery first.
    pub gen_seed: Option<u64>,
}

/// Expected leaf keys, by node (zeroized on drop).
struct Expected {
    keys: Vec<Option<Key256>>,
}

impl Expected {
    fn of(st: &State) -> Result<(Expected, u64)> {
        let h = &st.h;
        let mut keys: Vec<Option<Key256>> = vec![None; h.nodes() as usize];
        let mut unwraps = 0;
        match st.gen_seed {
            Some(seed) => {
                let prf = Prf::new(seed);
                for g in 0..h.groups() {
                    for n in h.group_leaf_range(g) {
                        keys[n as usize] = Some(prf.node_key(n, h.version[n as usize]));
                    }
                }
            }
            None => {
                let got = Mutex::new(Vec::new());
                let stats = recover_leaves(h, &st.ring, &|_| true, CacheMode::Cold, &|n, k| {
                    if let Ok(mut g) = got.lock() {
                        g.push((n, k.clone()));
                    }
                })?;
                unwraps = stats.ops.unwraps;
                for (n, k) in got.into_inner().map_err(|_| Error::Shares("poisoned"))? {
                    keys[n as usize] = Some(k);
                }
            }
        }
        Ok((Expected { keys }, unwraps))
    }
}

fn percentiles(ns: &mut [u64]) -> (f64, f64, f64) {
    if ns.is_empty() {
        return (0.0, 0.0, 0.0);
    }
    ns.sort_unstable();
    let at = |q: f64| ns[((ns.len() - 1) as f64 * q).round() as usize] as f64 / 1e6;
    (at(0.5), at(0.99), *ns.last().unwrap_or(&0) as f64 / 1e6)
}

/// Runs `w` on `st`, verifying the result. On an error from a workload that
/// changes keys, `st` may be partly changed (see [`run_change`]): reload it.
pub fn run(st: &mut State, w: &Workload, opts: &RunOptions) -> Result<RunRow> {
    let h0 = &st.h;
    let mut row = RunRow {
        design: h0.design.name.clone(),
        workload: w.label(),
        kind: w.kind().into(),
        scheme: h0.scheme.name().into(),
        threads: rayon::current_num_threads(),
        tenants: h0.tenants(),
        groups: h0.groups(),
        leaves: h0.leaves(),
        keys: u64::from(h0.nodes()),
        stored_wraps: u64::from(h0.slots()),
        ..RunRow::default()
    };
    crate::sysinfo::reset_peak_rss();
    match w {
        Workload::Provision => run_provision(st, opts, &mut row)?,
        Workload::UnwrapAll { cold } => run_unwrap_all(st, *cold, &mut row)?,
        Workload::RotateRoot { role, extent, lazy } => {
            let r = role_id(&st.h, role)?;
            row.role = Some(role.clone());
            row.extent = Some(*extent);
            let plan = ChangePlan::rotate(&st.h, r, *extent);
            run_change(st, &plan, false, *lazy, opts, &mut row)?;
        }
        Workload::Revoke { role, extent } => {
            let r = role_id(&st.h, role)?;
            row.role = Some(role.clone());
            row.extent = Some(*extent);
            let plan = ChangePlan::revoke(&st.h, r, *extent);
            row.rewrap_only = plan.rewrap_only(&st.h);
            run_change(st, &plan, true, false, opts, &mut row)?;
        }
        Workload::Shred { tenant } => run_shred(st, *tenant, opts, &mut row)?,
    }
    row.peak_rss_bytes = crate::sysinfo::peak_rss_bytes();
    row.counts_match = row.measured == row.analytic;
    row.root_seconds = crate::engine::cost::root_seconds(
        row.measured.root_ops,
        &crate::engine::cost::profiles(opts.root_ops_per_s),
    );
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
        Workload::Provision => Some("wrap"),
        Workload::UnwrapAll { cold: false } => Some("unwrap"),
        Workload::RotateRoot { lazy: false, .. } => Some("rewrap"),
        _ => None,
    };
    if let Some(p) = primitive
        && opts.reference
        && row.items > 0
        && let Some(rate) = aes_kw_loop_rate(st.h.scheme, p)
    {
        let per_thread = row.items_per_s / row.threads.max(1) as f64;
        row.reference = Some(Reference {
            primitive: p.into(),
            aes_kw_loop_per_s: rate,
            speedup_per_thread: per_thread / rate,
        });
    }
    Ok(row)
}

/// The role named `name` in `h`'s design, which must be a root role.
pub fn role_id(h: &Hierarchy, name: &str) -> Result<RoleId> {
    let r = h.design.role_by_name(name).ok_or_else(|| {
        let roots: Vec<&str> = h
            .design
            .root_roles()
            .iter()
            .map(|&r| h.design.roles[usize::from(r)].name.as_str())
            .collect();
        Error::InvalidShape(format!(
            "design {} has no role {name:?}; its roots are {}",
            h.design.name,
            roots.join(", ")
        ))
    })?;
    if !h.design.roles[usize::from(r)].is_root() {
        return Err(Error::InvalidShape(format!(
            "role {name} of design {} is not a root",
            h.design.name
        )));
    }
    Ok(r)
}

fn run_provision(st: &mut State, opts: &RunOptions, row: &mut RunRow) -> Result<()> {
    let seed = st.gen_seed.unwrap_or(opts.seed);
    let spec_design = st.h.design.clone();
    let tenant_groups: Vec<u32> = (0..st.h.tenants())
        .map(|t| st.h.tenant_group_start[t as usize + 1] - st.h.tenant_group_start[t as usize])
        .collect();
    let start = Instant::now();
    let mut h = crate::graph::skeleton::skeleton_from_counts(
        &spec_design,
        st.h.scheme,
        &tenant_groups,
        &st.h.group_leaves,
    )?;
    let prf = Prf::new(seed);
    let meter = crate::engine::generate::fill_wraps_metered(&mut h, &prf, &|_| {})?;
    let ring = Keyring::from_prf(&h, &prf);
    row.seconds = start.elapsed().as_secs_f64();
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
    let v = verify_leaves(st, &Expected::of(st)?.0, &|_| true)?;
    row.verification = v;
    row.verification
        .notes
        .push("every leaf recovered from the new hierarchy equals its seed-derived key".into());
    Ok(())
}

fn run_unwrap_all(st: &mut State, cold: bool, row: &mut RunRow) -> Result<()> {
    // The check against expected keys rides along in the recovery's sink, so it
    // stays on even when verification is off: each leaf's key against a 64-bit
    // fingerprint of its expected key (8 bytes a leaf to stream beside the
    // wraps, not 33; a wrong key passes with probability 2^-64).
    let vstart = Instant::now();
    let (expected, v_unwraps) = Expected::of(st)?;
    let prints: Vec<u64> = expected
        .keys
        .iter()
        .map(|k| k.as_ref().map_or(0, fingerprint))
        .collect();
    drop(expected);
    let vsecs = vstart.elapsed().as_secs_f64();
    let wrong = Mutex::new(0u64);
    let start = Instant::now();
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
    Ok(())
}

/// A 64-bit fingerprint of a key: the XOR of its four words, each rotated
/// apart, so that any change confined to one word (a semiblock, as a KW bug
/// would make) always changes it. 0 stands for "no key expected" (a key
/// fingerprinting to 0 would pass there: probability 2^-64).
fn fingerprint(k: &Key256) -> u64 {
    let w = k.expose().as_chunks::<8>().0;
    w.iter().enumerate().fold(0u64, |x, (i, c)| {
        x ^ u64::from_le_bytes(*c).rotate_left(16 * i as u32)
    })
}

/// Recovers every leaf from the current state with the roots `available`
/// admits and compares with `expected`; leaves with no expected key must not recover.
fn verify_leaves(
    st: &State,
    expected: &Expected,
    available: &(dyn Fn(u32) -> bool + Sync),
) -> Result<Verification> {
    let start = Instant::now();
    let bad = Mutex::new((0u64, 0u64));
    let stats =
        recover_leaves(
            &st.h,
            &st.ring,
            available,
            CacheMode::Cached,
            &|n, k| match &expected.keys[n as usize] {
                Some(e) if e == k => {}
                Some(_) => {
                    if let Ok(mut b) = bad.lock() {
                        b.0 += 1;
                    }
                }
                None => {
                    if let Ok(mut b) = bad.lock() {
                        b.1 += 1;
                    }
                }
            },
        )?;
    let (wrong, extra) = bad.into_inner().unwrap_or((u64::MAX, u64::MAX));
    let must = expected.keys.iter().filter(|k| k.is_some()).count() as u64;
    let ok_count = stats.leaves_recovered - wrong - extra;
    Ok(Verification {
        verified: wrong == 0 && extra == 0 && ok_count == must,
        leaves_checked: ok_count,
        leaves_wrong: wrong + (must - ok_count.min(must)),
        leaves_not_shredded: extra,
        unwraps: stats.ops.unwraps,
        seconds: start.elapsed().as_secs_f64(),
        ..Verification::default()
    })
}

/// Old and new material of the keys a change touches, for one tenant (or the globals).
struct Keys<'a> {
    h: &'a Hierarchy,
    plan: &'a ChangePlan,
    ring: &'a Keyring,
    old_roots: &'a HashMap<u32, Key256>,
    prf: &'a Prf,
    /// Opened from the old state (their material is unchanged unless re-keyed).
    opened: HashMap<u32, Key256>,
    outer: Option<&'a HashMap<u32, Key256>>,
}

impl Keys<'_> {
    fn old_version(&self, k: u32) -> u32 {
        self.h.version[k as usize] - u32::from(self.plan.changed(self.h, k))
    }

    /// A key as it was before the change.
    fn before(&self, k: u32) -> Result<Key256> {
        if self.h.is_root(k) {
            if let Some(old) = self.old_roots.get(&k) {
                return Ok(old.clone());
            }
            return self
                .ring
                .get(k)
                .map(|(_, key)| key.clone())
                .ok_or(Error::Unrecoverable { key: u64::from(k) });
        }
        self.opened
            .get(&k)
            .or_else(|| self.outer.and_then(|o| o.get(&k)))
            .cloned()
            .ok_or(Error::Unrecoverable { key: u64::from(k) })
    }

    /// A key as it is after the change.
    fn after(&self, k: u32) -> Result<Key256> {
        if self.h.is_root(k) {
            return self
                .ring
                .get(k)
                .map(|(_, key)| key.clone())
                .ok_or(Error::Unrecoverable { key: u64::from(k) });
        }
        if self.plan.rekey[k as usize] {
            return Ok(self.prf.node_key(k, self.h.version[k as usize]));
        }
        self.before(k)
    }
}

/// Metered wrap and unwrap of one layer.
struct Meter {
    c: Counts,
}

impl Meter {
    fn count(&mut self, h: &Hierarchy, k: u32, wrap: bool) {
        self.count_many(h, k, 1, wrap);
    }

    fn count_many(&mut self, h: &Hierarchy, k: u32, n: u64, wrap: bool) {
        if wrap {
            self.c.wraps += n;
        } else {
            self.c.unwraps += n;
        }
        if h.is_root(k) {
            self.c.root_ops += n;
        }
    }
}

/// Executes the part of a change plan in node range `nodes`, writing payloads into `payload`
/// (which starts at slot `slot0`). Returns the counts and the opened keys.
#[allow(clippy::too_many_arguments)]
fn execute_range(
    st_h: &Hierarchy,
    plan: &ChangePlan,
    ring: &Keyring,
    old_roots: &HashMap<u32, Key256>,
    prf: &Prf,
    outer: Option<&HashMap<u32, Key256>>,
    nodes: core::ops::Range<u32>,
    redo: &[Redo],
    slot0: u32,
    payload: &mut [u8],
) -> Result<(Counts, HashMap<u32, Key256>)> {
    let h = st_h;
    // The hierarchy's arena is lent out in parts: read this range's old wraps from its own part
    // (every slot read below belongs to a node of this range, and is read before it is rewritten).
    let stored = |payload: &[u8], s: u32| -> Result<Vec<u8>> {
        let len = Hierarchy::wrap_len(h.scheme, h.slot_keks(s).len());
        let off = (s - slot0) as usize * h.stride;
        payload
            .get(off..off + len)
            .map(<[u8]>::to_vec)
            .ok_or(Error::Truncated {
                what: "payload part",
                needed: off + len,
                got: payload.len(),
            })
    };
    let mut keys = Keys {
        h,
        plan,
        ring,
        old_roots,
        prf,
        opened: HashMap::new(),
        outer,
    };
    let mut m = Meter {
        c: Counts::default(),
    };
    let mut cache = KekCache::new();
    // 1. open, from the old state, what the plan needs
    for n in nodes.clone() {
        if !plan.open[n as usize] {
            continue;
        }
        let role = &h.design.roles[usize::from(h.role[n as usize])];
        let mut got: Vec<(u8, Key256)> = Vec::new();
        for s in chosen_slots(h, n) {
            let ks = h.slot_keks(s).to_vec();
            let mut buf = stored(payload, s)?;
            for layer in (0..ks.len()).rev() {
                let k = ks[layer];
                let old = keys.before(k)?;
                let kek = cache.get(k, keys.old_version(k), || Kek::new(h.scheme, old.expose()))?;
                let ctx = h.context_with(n, s, layer, &|x| keys.old_version(x));
                let mut out = [0u8; 256];
                let len = kek.unwrap(&buf, &ctx, &mut out)?;
                m.count(h, k, false);
                buf.clear();
                buf.extend_from_slice(&out[..len]);
                zeroize::Zeroize::zeroize(&mut out);
            }
            let key = Key256::from_slice(&buf).ok_or(Error::UnwrapFailed);
            zeroize::Zeroize::zeroize(&mut buf);
            got.push((h.share_of(n, s), key?));
        }
        let key = if role.shares {
            let refs: Vec<(u8, &Key256)> = got.iter().map(|(x, k)| (*x, k)).collect();
            shamir::combine(&refs)?
        } else {
            got.swap_remove(0).1
        };
        keys.opened.insert(n, key);
    }
    // 2. redo the stored wraps: runs of consecutive slots in parallel (one giant
    // tenant must not leave a core idle), each writing its own part of the arena.
    let mut cuts: Vec<usize> = (REDO_RUN..redo.len()).step_by(REDO_RUN).collect();
    cuts.dedup();
    let mut bounds: Vec<(usize, usize)> = Vec::new();
    let mut a = 0;
    for &c in cuts.iter().chain(std::iter::once(&redo.len())) {
        if c > a {
            bounds.push((a, c));
        }
        a = c;
    }
    let run_slot0 = |i: usize| {
        if i == 0 {
            slot0
        } else {
            redo[bounds[i].0].slot
        }
    };
    let lens: Vec<usize> = (0..bounds.len())
        .map(|i| {
            let end = if i + 1 < bounds.len() {
                run_slot0(i + 1)
            } else {
                slot0 + (payload.len() / h.stride) as u32
            };
            (end - run_slot0(i)) as usize * h.stride
        })
        .collect();
    let parts = split_parts(payload, lens.into_iter());
    let keys_ref = &keys;
    let counts: Vec<Result<Counts>> = bounds
        .par_iter()
        .zip(parts)
        .enumerate()
        .map(|(i, (&(a, b), part))| redo_run(h, keys_ref, prf, &redo[a..b], run_slot0(i), part))
        .collect();
    for c in counts {
        m.c.add(&c?);
    }
    Ok((m.c, keys.opened))
}

/// Stored wraps per parallel run of the executor.
const REDO_RUN: usize = 4096;

/// Redoes a run of stored wraps whose slots start at `slot0` in `payload`.
/// Single-layer wraps are grouped by KEK and go through the batched path;
/// nested ones are peeled and rewrapped layer by layer.
fn redo_run(
    h: &Hierarchy,
    keys: &Keys<'_>,
    prf: &Prf,
    redo: &[Redo],
    slot0: u32,
    payload: &mut [u8],
) -> Result<Counts> {
    let mut m = Meter {
        c: Counts::default(),
    };
    let mut cache = KekCache::new();
    let stored = |payload: &[u8], s: u32| -> Result<Vec<u8>> {
        let len = Hierarchy::wrap_len(h.scheme, h.slot_keks(s).len());
        let off = (s - slot0) as usize * h.stride;
        payload
            .get(off..off + len)
            .map(<[u8]>::to_vec)
            .ok_or(Error::Truncated {
                what: "payload part",
                needed: off + len,
                got: payload.len(),
            })
    };
    let mut secrets_of: Option<(u32, Vec<Key256>)> = None;
    let mut secret = |n: u32, s: u32| -> Result<Key256> {
        if !h.design.roles[usize::from(h.role[n as usize])].shares {
            return keys.after(n);
        }
        if secrets_of.as_ref().map(|(x, _)| *x) != Some(n) {
            let key = keys.after(n)?;
            secrets_of = Some((
                n,
                crate::engine::generate::slot_secrets(h, prf, n, &key, h.generation),
            ));
        }
        let pos = (s - h.slot_start[n as usize]) as usize;
        secrets_of
            .as_ref()
            .and_then(|(_, v)| v.get(pos))
            .cloned()
            .ok_or(Error::UnwrapFailed)
    };
    // Single-layer wraps, by (KEK, fresh).
    let mut fresh_groups: crate::crypto::batch::KekGroups<(u32, u32, Key256)> = Default::default();
    // Rewraps need only the offsets (the reference schemes find node and slot from them).
    let mut peel_groups: crate::crypto::batch::KekGroups<()> =
        crate::crypto::batch::KekGroups::with_capacity(redo.len());
    let record1 = crate::crypto::wire::encoded_len(1, Hierarchy::wrap_len(h.scheme, 1)) as u64;
    for r in redo {
        let (n, s) = (r.node, r.slot);
        m.c.wraps_rewritten += 1;
        if r.kek != crate::graph::hierarchy::NO_KEK {
            let k = r.kek;
            m.c.bytes_rewritten += record1;
            let off = (s - slot0) as usize * h.stride;
            if r.fresh {
                fresh_groups.push(k, off, (n, s, secret(n, s)?));
            } else {
                peel_groups.push(k, off, ());
            }
            continue;
        }
        let ks = h.slot_keks(s);
        m.c.bytes_rewritten += crate::graph::counts::record_len(h, s) as u64;
        let from = usize::from(r.from_layer);
        let mut cur: Vec<u8> = if r.fresh {
            secret(n, s)?.expose().to_vec()
        } else {
            // peel the changed layers with the old keys
            let mut cur = stored(payload, s)?;
            for layer in (from..ks.len()).rev() {
                let k = ks[layer];
                let old = keys.before(k)?;
                let kek = cache.get(k, keys.old_version(k), || Kek::new(h.scheme, old.expose()))?;
                let ctx = h.context_with(n, s, layer, &|x| keys.old_version(x));
                let mut out = [0u8; 256];
                let len = kek.unwrap(&cur, &ctx, &mut out)?;
                m.count(h, k, false);
                cur.clear();
                cur.extend_from_slice(&out[..len]);
                zeroize::Zeroize::zeroize(&mut out);
            }
            cur
        };
        for (layer, &k) in ks.iter().enumerate().skip(from) {
            let new = keys.after(k)?;
            let kek = cache.get(k, h.version[k as usize], || {
                Kek::new(h.scheme, new.expose())
            })?;
            let ctx = h.context(n, s, layer);
            let nonce = prf.nonce(s, layer as u8, h.generation);
            let mut out = [0u8; 256];
            let len = kek.wrap(&cur, &ctx, &nonce, &mut out)?;
            m.count(h, k, true);
            cur.clear();
            cur.extend_from_slice(&out[..len]);
        }
        write_slot(payload, slot0, h.stride, s, &cur)?;
        zeroize::Zeroize::zeroize(&mut cur);
    }
    let len = Hierarchy::wrap_len(h.scheme, 1);
    for (k, offs, items) in fresh_groups.groups() {
        let new = crate::crypto::batch::PreparedKek::new(h.scheme, &keys.after(k)?)?;
        let ctx = |j: usize| h.context(items[j].0, items[j].1, 0);
        let nonce = |j: usize| prf.nonce(items[j].1, 0, h.generation);
        let b = crate::crypto::batch::Binding {
            ctx: &ctx,
            new_ctx: &ctx,
            nonce: &nonce,
        };
        crate::crypto::batch::wrap_many(&new, &|j| Ok(items[j].2.clone()), payload, offs, &b)?;
        m.count_many(h, k, items.len() as u64, true);
    }
    for (k, offs, items) in peel_groups.groups() {
        let old = crate::crypto::batch::PreparedKek::new(h.scheme, &keys.before(k)?)?;
        let new = crate::crypto::batch::PreparedKek::new(h.scheme, &keys.after(k)?)?;
        let slot = |j: usize| slot0 + (offs[j] / h.stride) as u32;
        let old_ctx = |j: usize| {
            let s = slot(j);
            h.context_with(h.node_of_slot(s), s, 0, &|x| keys.old_version(x))
        };
        let new_ctx = |j: usize| h.context(h.node_of_slot(slot(j)), slot(j), 0);
        let nonce = |j: usize| prf.nonce(slot(j), 0, h.generation);
        let b = crate::crypto::batch::Binding {
            ctx: &old_ctx,
            new_ctx: &new_ctx,
            nonce: &nonce,
        };
        crate::crypto::batch::rewrap_many(&old, &new, payload, offs, len, &b)?;
        let n = items.len() as u64;
        m.count_many(h, k, n, false);
        m.count_many(h, k, n, true);
    }
    Ok(m.c)
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

fn write_slot(payload: &mut [u8], slot0: u32, stride: usize, s: u32, w: &[u8]) -> Result<()> {
    let off = (s - slot0) as usize * stride;
    let got = payload.len();
    let dst = payload
        .get_mut(off..off + w.len())
        .ok_or(Error::OutputTooSmall {
            needed: off + w.len(),
            got,
        })?;
    dst.copy_from_slice(w);
    Ok(())
}

/// Executes `plan` on `st` and verifies it as a compromise (`compromise`: the
/// adversary also holds everything the replaced roots opened through the old
/// wraps) or as a routine rotation. Public so tests can show that verification
/// catches a plan that does too little.
///
/// A plan that needs a root the keyring lacks is refused before anything
/// changes. A stored wrap that fails its integrity check part-way (a tampered
/// hierarchy) returns the error with `st` partly re-keyed: the hierarchy keeps
/// all its bytes, but it must be reloaded, not used further. [`run`] has the
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
    let mut bumped = Vec::with_capacity(plan.replaced_roots.len());
    for &r in &plan.replaced_roots {
        st.h.version[r as usize] += 1;
        bumped.push((r, st.h.version[r as usize]));
    }
    let keys = prf.node_keys(&bumped);
    let new_roots = bumped
        .iter()
        .zip(keys)
        .map(|(&(r, v), k)| (r, v, k))
        .collect();
    st.ring.replace_all(new_roots, &mut |r, _, k| {
        old_roots.insert(r, k);
    });
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
    let pieces = crate::engine::par::pieces(
        &weights,
        crate::engine::par::target(weights.iter().sum(), REDO_RUN as u64),
    );
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
        crate::engine::recover::recover_key(&st.h, &st.ring, &|_| true, n)
            .ok()
            .map(|(k, _)| k)
    };
    let (attempts, opened) = try_hostile(&st.h, &hostile, &current)?;
    v.hostile_attempts = attempts;
    v.hostile_opened = opened;
    v.verified = v.verified && opened == 0;
    v.unwraps += v_unwraps + attempts;
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

/// Keys an adversary holds after the event, by node: for a compromise, the
/// revoked roots and everything they open through the old wraps (and the
/// shares they open); for a rotation, the retired root versions alone.
struct Hostile {
    keys: HashMap<u32, Key256>,
    shares: Vec<(u32, u8, Key256)>,
}

fn hostile_keys(
    st: &State,
    plan: &ChangePlan,
    compromise: bool,
    unwraps: &mut u64,
) -> Result<Hostile> {
    let h = &st.h;
    let mut keys: HashMap<u32, Key256> = HashMap::new();
    for &r in &plan.replaced_roots {
        if let Some((_, k)) = st.ring.get(r) {
            keys.insert(r, k.clone());
        }
    }
    let mut shares = Vec::new();
    if !compromise {
        return Ok(Hostile { keys, shares });
    }
    let mut cache = KekCache::new();
    for n in 0..h.nodes() {
        if h.is_root(n) {
            continue;
        }
        let role = &h.design.roles[usize::from(h.role[n as usize])];
        let mut got: Vec<(u8, Key256)> = Vec::new();
        for s in h.slots_of(n) {
            let ks = h.slot_keks(s);
            if !ks.iter().all(|k| keys.contains_key(k)) {
                continue;
            }
            let kv: Vec<&Key256> = ks.iter().filter_map(|k| keys.get(k)).collect();
            let mut stats = crate::engine::recover::OpenStats::default();
            let k = crate::engine::recover::open_slot(h, &mut cache, n, s, &kv, &mut stats)?;
            *unwraps += stats.unwraps;
            got.push((h.share_of(n, s), k));
        }
        if got.len() >= usize::from(role.threshold) && !got.is_empty() {
            let key = if role.shares {
                let refs: Vec<(u8, &Key256)> = got.iter().map(|(x, k)| (*x, k)).collect();
                shamir::combine(&refs)?
            } else {
                got.swap_remove(0).1
            };
            keys.insert(n, key);
        } else {
            shares.extend(got.into_iter().map(|(x, k)| (n, x, k)));
        }
    }
    Ok(Hostile { keys, shares })
}

/// Tries every stored wrap of the new state whose outermost KEK the adversary
/// holds (at whatever version): peeling that layer with the adversary's key
/// must fail. Returns (attempts, opened). Then each leaked share, combined
/// with the new shares of its key, must not rebuild the key.
fn try_hostile(
    h: &Hierarchy,
    hostile: &Hostile,
    current: &dyn Fn(u32) -> Option<Key256>,
) -> Result<(u64, u64)> {
    let mut attempts = 0u64;
    let mut opened = 0u64;
    let mut out = [0u8; 256];
    for n in 0..h.nodes() {
        for s in h.slots_of(n) {
            let ks = h.slot_keks(s);
            let Some((&outer, _)) = ks.split_last() else {
                continue;
            };
            let Some(key) = hostile.keys.get(&outer) else {
                continue;
            };
            attempts += 1;
            let kek = Kek::new(h.scheme, key.expose())?;
            match kek.unwrap(h.slot_payload(s), &h.context(n, s, ks.len() - 1), &mut out) {
                Ok(_) => opened += 1,
                Err(Error::UnwrapFailed) => {}
                Err(e) => return Err(e),
            }
        }
    }
    out.fill(0);
    for (n, x, leaked) in &hostile.shares {
        let Some(key) = current(*n) else { continue };
        let mut cache = KekCache::new();
        let mut stats = crate::engine::recover::OpenStats::default();
        // a new share other than the leaked one's x, opened by the owner
        for s in h.slots_of(*n) {
            if h.share_of(*n, s) == *x {
                continue;
            }
            let kv: Option<Vec<Key256>> = h.slot_keks(s).iter().map(|&k| current(k)).collect();
            let Some(kv) = kv else { continue };
            let refs: Vec<&Key256> = kv.iter().collect();
            let fresh = crate::engine::recover::open_slot(h, &mut cache, *n, s, &refs, &mut stats)?;
            attempts += 1;
            if shamir::combine(&[(*x, leaked), (h.share_of(*n, s), &fresh)])? == key {
                opened += 1;
            }
            break;
        }
    }
    Ok((attempts, opened))
}

fn run_shred(st: &mut State, tenant: u32, opts: &RunOptions, row: &mut RunRow) -> Result<()> {
    let h = &st.h;
    if tenant >= h.tenants() {
        return Err(Error::InvalidShape(format!(
            "tenant {tenant} does not exist (the hierarchy has {})",
            h.tenants()
        )));
    }
    let vstart = Instant::now();
    // expected keys: verification only
    let before = if opts.verify {
        Some(Expected::of(st)?)
    } else {
        None
    };
    let vsecs = vstart.elapsed().as_secs_f64();
    let start = Instant::now();
    let owned: Vec<u32> = (h.tenant_node_start[tenant as usize]
        ..h.tenant_node_start[tenant as usize + 1])
        .filter(|&n| h.is_root(n))
        .collect();
    let mut destroyed = 0u64;
    for &r in &owned {
        destroyed += u64::from(st.ring.destroy(r));
    }
    row.seconds = start.elapsed().as_secs_f64();
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
    let reach = crate::graph::reach::reach(h, &remaining);
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
        let after =
            crate::graph::reach::reach_filtered(h, &remaining, &kept).tenant_leaves_open(h, tenant);
        v.verified = v.verified && after == 0;
        v.leaves_not_shredded = after;
        notes.push(format!(
            "after deleting them, {after} leaves of tenant {tenant} are reachable (graph check)"
        ));
    }
    v.unwraps += v_unwraps;
    v.seconds += vsecs;
    v.notes = notes;
    row.verification = v;
    Ok(())
}

/// Re-encrypts (or estimates re-encrypting) the data under re-keyed leaves:
/// AES-256-GCM decryption under the old data key and encryption under the new.
fn reencrypt_data(leaves: u64, opts: &RunOptions) -> Result<DataReencryption> {
    use aes_gcm::{AeadInOut, Aes256Gcm, KeyInit};
    let bytes = leaves.saturating_mul(opts.data_bytes_per_leaf);
    if bytes == 0 {
        return Ok(DataReencryption {
            mode: "none".into(),
            ..DataReencryption::default()
        });
    }
    let prf = Prf::new(opts.seed);
    let per = opts.data_bytes_per_leaf as usize;
    let real = bytes <= opts.data_real_limit;
    // The stored data: for real, every leaf's; for an estimate, a 64 MiB sample.
    let items = if real {
        leaves
    } else {
        (64u64 << 20).div_ceil(opts.data_bytes_per_leaf).max(1)
    };
    let mut data: Vec<(Vec<u8>, [u8; 16])> = Vec::with_capacity(items as usize);
    for i in 0..items {
        let old = Aes256Gcm::new(prf.key(Domain::Data, i, 0).expose().into());
        let mut buf = vec![0x5a; per];
        let tag = old
            .encrypt_inout_detached(&[0u8; 12].into(), b"", buf.as_mut_slice().into())
            .map_err(|_| Error::UnwrapFailed)?;
        data.push((buf, tag.into()));
    }
    let start = Instant::now();
    for (i, (buf, tag)) in data.iter_mut().enumerate() {
        let old = Aes256Gcm::new(prf.key(Domain::Data, i as u64, 0).expose().into());
        let new = Aes256Gcm::new(prf.key(Domain::Data, i as u64, 1).expose().into());
        old.decrypt_inout_detached(
            &[0u8; 12].into(),
            b"",
            buf.as_mut_slice().into(),
            &(*tag).into(),
        )
        .map_err(|_| Error::UnwrapFailed)?;
        let t = new
            .encrypt_inout_detached(&[1u8; 12].into(), b"", buf.as_mut_slice().into())
            .map_err(|_| Error::UnwrapFailed)?;
        *tag = t.into();
    }
    let secs = start.elapsed().as_secs_f64().max(1e-9);
    let done = items * opts.data_bytes_per_leaf;
    let rate = done as f64 / secs;
    Ok(if real {
        DataReencryption {
            bytes,
            mode: "performed".into(),
            seconds: secs,
            gb_per_s: rate / 1e9,
        }
    } else {
        DataReencryption {
            bytes,
            mode: "estimated".into(),
            seconds: bytes as f64 / rate,
            gb_per_s: rate / 1e9,
        }
    })
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

    #[test]
    fn fingerprint_changes_with_any_change_confined_to_one_word() {
        let base = Key256::from_bytes(core::array::from_fn(|i| (i as u8).wrapping_mul(37)));
        let fp = fingerprint(&base);
        for word in 0..4 {
            // every single bit, and whole-word replacements
            for bit in 0..64 {
                let mut k = base.clone();
                k.expose_mut()[word * 8 + bit / 8] ^= 1 << (bit % 8);
                assert_ne!(fingerprint(&k), fp, "word {word} bit {bit}");
            }
            for fill in [0u8, 0xff, 0x5a] {
                let mut k = base.clone();
                k.expose_mut()[word * 8..word * 8 + 8].fill(fill);
                if k != base {
                    assert_ne!(fingerprint(&k), fp, "word {word} := {fill:#x}");
                }
            }
        }
        // bytes moved from one word to another are seen too
        let mut k = base.clone();
        k.expose_mut().swap(0, 8);
        assert_ne!(fingerprint(&k), fp);
    }
}
