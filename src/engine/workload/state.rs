//! What a run takes: the [`State`] it works on (a hierarchy, its keyring and,
//! when known, the seed that generated it) and its [`RunOptions`].

use crate::engine::plan::Remedy;
use crate::engine::progress::Reporter;
use crate::graph::hierarchy::Hierarchy;
use crate::store::keyring::Keyring;

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
    /// Measure the `aes-kw` baseline after the run ([`RunRow::reference`](super::RunRow::reference); kw and
    /// kwp only): about 100,000 key operations, which tests and fuzzing skip.
    pub reference: bool,
    /// Where the run reports its phases (the workload, its verification, the
    /// baseline); the default reports nothing.
    pub progress: Reporter,
    /// Purge: hours in which the provider's services still decrypt after the
    /// customer's revocation ([`DEFAULT_PURGE_WINDOW_HOURS`](DEFAULT_PURGE_WINDOW_HOURS)).
    pub purge_window_hours: f64,
    /// How a revocation treats keys the attacker learned something about but
    /// cannot open (see [`Remedy`]).
    pub remedy: Remedy,
    /// The root backend's rates, measured before the run (roots in a token):
    /// the prediction in [`RunRow::root_backend`](super::RunRow::root_backend).
    pub root_rates: Option<crate::crypto::root::RootRates>,
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
            progress: Reporter::default(),
            purge_window_hours: DEFAULT_PURGE_WINDOW_HOURS,
            remedy: Remedy::default(),
            root_rates: None,
        }
    }
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

/// The window in which the provider can still decrypt after the customer's
/// revocation, hours: an older version of Microsoft's page "Service
/// encryption with Customer Key" (its data purge section) says the purge
/// takes about 72 hours. (The current "Manage Customer Key" page gives no
/// figure; the stored copies this project could search did not show one.)
pub const DEFAULT_PURGE_WINDOW_HOURS: f64 = 72.0;
