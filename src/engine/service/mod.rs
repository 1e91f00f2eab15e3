//! Key services as they behave: what a run's root operations take at Azure
//! Key Vault, AWS KMS or Google Cloud KMS, with their quotas, throttling,
//! retries, client workers and vaults working in parallel. This replaces the
//! old `root ops ÷ one published rate`.
//!
//! - [`profile`]: the services as data (quotas per scope and window, the
//!   weight of each kind of request, the retry policy), every figure cited
//!   with where and when it was read;
//! - [`load`]: root operations per root key from a workload's plan, and the
//!   roots placed in quota scopes (the customer's vaults; the provider's
//!   operations apart);
//! - [`sim`]: the simulator (token buckets, latency, 429s, backoff with
//!   jitter, workers; simulated time, deterministic from a seed);
//! - [`fallback`]: Microsoft 365's order of roots when some fail.
//!
//! Engine layer: pure computation, no printing, no clock.

pub mod fallback;
pub mod load;
pub mod profile;
pub mod sim;

pub use load::{Placement, RootLoads, plan_loads, split, workload_loads};
pub use profile::{ProfileId, RequestKind, ServiceProfile, builtin_profiles, profiles};
pub use sim::{Latency, SimOptions, SimResult, VaultWork, simulate};

use crate::engine::plan::Remedy;
use crate::engine::workload::spec::Workload;
use crate::error::Result;
use crate::graph::hierarchy::Hierarchy;

/// A run's root operations at one profile.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct ServiceTime {
    /// The profile's name.
    pub profile: String,
    /// Simulated seconds (the slowest scope's).
    pub seconds: f64,
    /// Operations per second achieved.
    pub ops_per_s: f64,
    /// Requests sent to the customer's scopes.
    pub requests: u64,
    /// Wraps done by the client under RSA public keys, not sent.
    pub local_wraps: u64,
    /// Operations refused at least once.
    pub throttled: u64,
    /// Requests sent again after a 429.
    pub retries: u64,
    /// Scopes with work.
    pub vaults: u32,
    /// The slowest scope, in words.
    pub slowest_vault: String,
}

/// A run's root operations at every profile, placed in scopes.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct ServiceCost {
    /// Where the customer's roots are, in words.
    pub placement: String,
    /// The simulator's knobs.
    pub options: Option<SimOptions>,
    /// Root operations against the customer's roots.
    pub customer_root_ops: u64,
    /// Root operations against the provider's roots: served by the
    /// provider's own service, whose limits are not published, so counted here
    /// and charged to no customer quota.
    pub provider_root_ops: u64,
    /// Per profile.
    pub profiles: Vec<ServiceTime>,
}

impl ServiceCost {
    /// `(profile, seconds)` per profile: the rows' `root_seconds`.
    pub fn seconds(&self) -> Vec<(String, f64)> {
        self.profiles
            .iter()
            .map(|p| (p.profile.clone(), p.seconds))
            .collect()
    }
}

/// Simulates `loads` on `h` at one profile; the split it ran on beside it.
pub fn simulate_profile(
    h: &Hierarchy,
    loads: &RootLoads,
    profile: &ServiceProfile,
    placement: Placement,
    opts: &SimOptions,
) -> Result<(load::Split, SimResult)> {
    let local = opts.local_public_wraps && profile.public_key_wraps;
    let s = split(h, loads, placement, local)?;
    let r = simulate(profile, &s.vaults, opts)?;
    Ok((s, r))
}

/// The slowest scope of a simulation on `split`, in words (empty without one).
fn slowest_vault(r: &SimResult, split: &load::Split) -> String {
    r.slowest_vault
        .and_then(|v| split.ids.get(v))
        .map(|id| id.describe())
        .unwrap_or_default()
}

/// The cost of `loads` on `h` at each of `profiles`.
pub fn service_cost(
    h: &Hierarchy,
    loads: &RootLoads,
    profiles: &[ServiceProfile],
    placement: Placement,
    opts: &SimOptions,
) -> Result<ServiceCost> {
    let all = split(h, loads, placement, false)?;
    let mut cost = ServiceCost {
        placement: placement.describe(),
        options: Some(*opts),
        customer_root_ops: all.customer_ops,
        provider_root_ops: all.provider_ops,
        profiles: Vec::new(),
    };
    for p in profiles {
        let (s, r) = simulate_profile(h, loads, p, placement, opts)?;
        cost.profiles.push(ServiceTime {
            profile: p.name.clone(),
            seconds: r.seconds,
            ops_per_s: r.ops_per_s,
            requests: s.customer_ops,
            local_wraps: s.local_wraps,
            throttled: r.throttled,
            retries: r.retries,
            vaults: r.vaults,
            slowest_vault: slowest_vault(&r, &s),
        });
    }
    Ok(cost)
}

/// One workload simulated at one profile: what `keyhier simulate` reports.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Simulation {
    /// The design.
    pub design: String,
    /// The workload's label.
    pub workload: String,
    /// The profile, with its quotas and their source.
    pub profile: ServiceProfile,
    /// Where the customer's roots are, in words.
    pub placement: String,
    /// The simulator's knobs.
    pub options: SimOptions,
    /// Root operations against the customer's roots.
    pub customer_root_ops: u64,
    /// Root operations against the provider's roots (its own service; not simulated).
    pub provider_root_ops: u64,
    /// Of the customer's, wraps done by the client under RSA public keys.
    pub local_wraps: u64,
    /// The slowest scope, in words.
    pub slowest_vault: String,
    /// The busiest scope's requests.
    pub busiest_vault_requests: u64,
    /// The simulated run.
    pub result: SimResult,
}

/// Simulates workload `w` on `h` (its structure: no key is needed) at
/// `profile`; a revocation with `remedy`.
pub fn simulate_workload(
    h: &Hierarchy,
    w: &Workload,
    remedy: Remedy,
    profile: &ServiceProfile,
    placement: Placement,
    opts: &SimOptions,
) -> Result<Simulation> {
    let loads = workload_loads(h, w, remedy)?;
    let (s, result) = simulate_profile(h, &loads, profile, placement, opts)?;
    Ok(Simulation {
        design: h.design.name.clone(),
        workload: w.label(&h.design),
        profile: profile.clone(),
        placement: placement.describe(),
        options: *opts,
        customer_root_ops: s.customer_ops + s.local_wraps,
        provider_root_ops: s.provider_ops,
        local_wraps: s.local_wraps,
        slowest_vault: slowest_vault(&result, &s),
        busiest_vault_requests: s.vaults.iter().map(VaultWork::total).max().unwrap_or(0),
        result,
    })
}

#[cfg(test)]
mod tests;
