//! The typed rows a workload returns: what was done ([`RunRow`]), how it was
//! verified ([`Verification`]), the data re-encrypted ([`DataReencryption`])
//! and the `aes-kw` baseline beside it ([`Reference`]). Rows are data for the
//! reporter; nothing here measures or prints. Every enum serializes to the
//! string the reports have always carried.

use core::fmt;

use crate::crypto::root::{MeterReading, RootBackend, RootKind, RootOp, RootRates};
use crate::crypto::scheme::SchemeId;
use crate::engine::adversary::OneMore;
use crate::engine::plan::Remedy;
use crate::engine::service::ServiceCost;
use crate::graph::counts::Counts;
use crate::graph::reach::Extent;

use super::spec::WorkloadKind;
use crate::graph::design::Controller;

/// How the data under re-keyed leaves was re-encrypted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DataMode {
    /// No data step: the workload re-keys no leaf by its nature (provision,
    /// unwrap-all, shred). Written as an empty string.
    #[default]
    #[serde(rename = "")]
    NotApplicable,
    /// Nothing to re-encrypt (no re-keyed leaf, or no data per leaf).
    None,
    /// AES-256-GCM, for real.
    Performed,
    /// From a rate measured on a sample.
    Estimated,
}

impl DataMode {
    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            DataMode::NotApplicable => "",
            DataMode::None => "none",
            DataMode::Performed => "performed",
            DataMode::Estimated => "estimated",
        }
    }
}

impl fmt::Display for DataMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The key-wrap primitive a workload is made of, for the `aes-kw` baseline.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Primitive {
    /// Wrap a key (provision).
    #[default]
    Wrap,
    /// Unwrap a key (unwrap-all).
    Unwrap,
    /// Unwrap under one KEK, wrap under another (rotation).
    Rewrap,
}

impl Primitive {
    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Primitive::Wrap => "wrap",
            Primitive::Unwrap => "unwrap",
            Primitive::Rewrap => "rewrap",
        }
    }
}

impl fmt::Display for Primitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Data re-encryption after re-keying leaves.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct DataReencryption {
    /// Bytes re-encrypted (or to re-encrypt).
    pub bytes: u64,
    /// Performed, estimated, none, or not part of the workload.
    pub mode: DataMode,
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
    /// Stored wraps opened by the audit of every slot of every key.
    pub slots_checked: u64,
    /// Slots (or roots) that failed it.
    pub slots_failed: u64,
    /// The first failures, by tenant, key, role and slot.
    pub slot_failures: Vec<String>,
    /// Unwraps performed by verification.
    pub unwraps: u64,
    /// Seconds.
    pub seconds: f64,
    /// What was checked, in words.
    pub notes: Vec<String>,
    /// After a revocation: the attacker who kept every key and copy it took,
    /// plus one more compromise (see [`crate::engine::adversary::one_more`]).
    pub one_more: Option<OneMore>,
}

/// One remedy of a revocation, beside the others: what it would cost (from
/// the plan) and whether it holds against the attacker who keeps its copies
/// plus one more compromise (from the adversary on the store it would leave).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct RemedyCost {
    /// The remedy.
    pub remedy: Remedy,
    /// Its name.
    pub name: &'static str,
    /// Whether this run carried it out.
    pub chosen: bool,
    /// Keys it treats that the attacker can not open but learned something about.
    pub affected_keys: u64,
    /// Operation counts of the whole revocation done this way.
    pub counts: Counts,
    /// Whether it holds against one more compromise.
    pub sufficient: bool,
    /// When it does not: the shortest history that breaks it.
    pub broken_by: Option<String>,
    /// Current leaves that history exposes beyond what its last compromise alone does.
    pub leaves_exposed: u64,
    /// What it does.
    pub summary: &'static str,
    /// What it demands of the operator.
    pub demands: &'static str,
}

/// One run: what was done, what it cost, and whether it verified.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct RunRow {
    /// Design.
    pub design: String,
    /// Workload label.
    pub workload: String,
    /// Workload kind.
    pub kind: WorkloadKind,
    /// Root role (rotate, revoke).
    pub role: Option<String>,
    /// Extent (rotate, revoke).
    pub extent: Option<Extent>,
    /// Scheme.
    pub scheme: SchemeId,
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
    /// Peak resident memory of the process during the run, bytes: the whole
    /// process, so the run's own only when it has the process to itself (see
    /// [`crate::sysinfo::reset_peak_rss`]); `compare` does not report it.
    pub peak_rss_bytes: Option<u64>,
    /// Time the root operations alone take at each key-service profile,
    /// seconds: simulated, one vault per tenant, the provider's own root
    /// operations left out ([`RunRow::root_service`] has the detail).
    pub root_seconds: Vec<(String, f64)>,
    /// The root operations at each key service: customer's and provider's,
    /// and per profile the simulated time, throttling and retries.
    pub root_service: ServiceCost,
    /// Data re-encryption.
    pub data: DataReencryption,
    /// For a revocation whose leak leaves keys partly exposed (a share, an
    /// outer layer): every remedy, its cost and whether it holds (empty when
    /// no key is partly exposed: then every remedy is the same).
    pub remedies: Vec<RemedyCost>,
    /// The remedy carried out (revocations).
    pub remedy: Option<Remedy>,
    /// Shred: whether destroying the tenant's roots makes its data unrecoverable.
    pub crypto_shred: Option<bool>,
    /// Shred: stored wraps to delete when it does not.
    pub wraps_to_delete: Option<u64>,
    /// Who can perform the workload on this design (from the owners of the
    /// keys it acts on): `provider` for the availability key's rotation, ...
    pub controller: Option<Controller>,
    /// Purge: hours the provider's services can still decrypt the tenant's
    /// data after the customer's revocation (0: not at all).
    pub provider_can_decrypt_hours: Option<f64>,
    /// Purge: the steps, the window and what remains decryptable.
    pub purge: Option<PurgeOutcome>,
    /// The same primitive through `aes-kw` one key at a time, measured right after
    /// the run on one thread (kw and kwp only): the side-by-side baseline.
    pub reference: Option<Reference>,
    /// With roots in a backend (a PKCS#11 token): what it did during the
    /// workload (the change itself, not its verification).
    pub root_backend: Option<RootBackendRow>,
    /// Verification.
    pub verification: Verification,
}

/// The root backend during a workload: its operations (which equal the
/// measured root operations when every root operation went through it),
/// the rate achieved and latency, and the time the backend's rates measured
/// beside the run predict for those operations.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct RootBackendRow {
    /// Which backend.
    pub kind: RootKind,
    /// Root operations through it: creates, wraps and unwraps.
    pub ops: u64,
    /// New root versions created.
    pub creates: u64,
    /// Wraps under a root.
    pub wraps: u64,
    /// Unwraps under a root.
    pub unwraps: u64,
    /// Root versions destroyed (not root operations of the model).
    pub destroys: u64,
    /// Operations per second over the workload's wall time.
    pub ops_per_s: f64,
    /// Median latency of a wrap or unwrap, microseconds.
    pub p50_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// Wall time of the workload from the first root creation, seconds.
    pub seconds: f64,
    /// Seconds its operations take at `rates` (one thread): the prediction.
    pub predicted_seconds: Option<f64>,
    /// The backend's rates measured in the same run, when measured.
    pub rates: Option<RootRates>,
}

/// A backend's meter read at the start of a workload's timed part.
pub(super) struct BackendWatch {
    m0: MeterReading,
    t0: std::time::Instant,
}

impl BackendWatch {
    /// Starts watching `ring`'s backend (none: nothing to watch).
    pub(super) fn start(ring: &crate::store::keyring::Keyring) -> Option<BackendWatch> {
        ring.backend().map(|b| BackendWatch {
            m0: b.meter().read(),
            t0: std::time::Instant::now(),
        })
    }

    /// What the backend did since.
    pub(super) fn finish(
        self,
        ring: &crate::store::keyring::Keyring,
        rates: Option<&RootRates>,
    ) -> Option<RootBackendRow> {
        ring.backend()
            .map(|b| RootBackendRow::measure(b.as_ref(), &self.m0, self.t0, rates))
    }
}

impl RootBackendRow {
    /// What `b` did since reading `m0` at `t0`, with the prediction at `rates`.
    pub fn measure(
        b: &dyn RootBackend,
        m0: &MeterReading,
        t0: std::time::Instant,
        rates: Option<&RootRates>,
    ) -> RootBackendRow {
        let seconds = t0.elapsed().as_secs_f64();
        let m = b.meter().read().since(m0);
        let lat = b.meter().latencies_us(m0.samples_len);
        let q = |p: f64| crate::stats::quantile(&lat, p).unwrap_or(0.0);
        let ops = m.root_ops();
        let (creates, wraps, unwraps) = (
            m.count(RootOp::Create),
            m.count(RootOp::Wrap),
            m.count(RootOp::Unwrap),
        );
        RootBackendRow {
            kind: b.kind(),
            ops,
            creates,
            wraps,
            unwraps,
            destroys: m.count(RootOp::Destroy),
            ops_per_s: if seconds > 0.0 {
                ops as f64 / seconds
            } else {
                0.0
            },
            p50_us: q(0.5),
            p99_us: q(0.99),
            seconds,
            predicted_seconds: rates.map(|r| r.predict_seconds(&m)),
            rates: rates.cloned(),
        }
    }
}

/// A side-by-side baseline: the run's primitive in an `aes-kw` loop, one key at a time.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Reference {
    /// `wrap`, `unwrap` or `rewrap` of a 32-byte key under AES-256.
    pub primitive: Primitive,
    /// Keys per second of the loop, one thread (median of 5).
    pub aes_kw_loop_per_s: f64,
    /// The run's items per second per thread, over the loop's: the run's
    /// whole wall (new roots, the split by tenant, writing the wraps, as well
    /// as the wraps themselves) against the primitive alone.
    pub speedup_per_thread: f64,
    /// For a rewrap, the KEK pairs the run moved its keys between (the roots
    /// it replaced); the loop built its pair anew every `items / keks` keys,
    /// as the run had to. `None`: the loop kept one KEK (pair) throughout.
    pub keks: Option<u64>,
}

/// Per-tenant latency percentiles (p50, p99, max), milliseconds, of
/// nanosecond timings (sorted in place).
pub(super) fn percentiles(ns: &mut [u64]) -> (f64, f64, f64) {
    if ns.is_empty() {
        return (0.0, 0.0, 0.0);
    }
    ns.sort_unstable();
    let at = |q: f64| crate::stats::quantile_of_sorted(ns, q).map_or(0.0, |n| n as f64 / 1e6);
    (at(0.5), at(0.99), *ns.last().unwrap_or(&0) as f64 / 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json<T: serde::Serialize>(v: &T) -> String {
        serde_json::to_string(v).unwrap()
    }

    #[test]
    fn row_enums_serialize_to_the_strings_of_the_reports() {
        for m in [
            DataMode::NotApplicable,
            DataMode::None,
            DataMode::Performed,
            DataMode::Estimated,
        ] {
            assert_eq!(json(&m), format!("\"{}\"", m.name()));
        }
        for p in [Primitive::Wrap, Primitive::Unwrap, Primitive::Rewrap] {
            assert_eq!(json(&p), format!("\"{p}\""));
        }
        for k in WorkloadKind::ALL {
            assert_eq!(json(&k), format!("\"{k}\""));
        }
        for s in SchemeId::ALL {
            assert_eq!(json(&s), format!("\"{}\"", s.name()));
        }
        assert_eq!(DataMode::default().name(), "");
    }
}

/// Who acts in a step of the purge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Actor {
    /// The customer.
    Customer,
    /// The provider.
    Provider,
}

/// One step of the purge path.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct PurgeStep {
    /// Who does it.
    pub by: Actor,
    /// What, in words.
    pub action: String,
    /// Keys destroyed or stored wraps deleted in this step.
    pub keys: u64,
}

/// Something that can still decrypt some of the tenant's data.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Residue {
    /// Who holds it.
    pub holder: String,
    /// Through what.
    pub through: String,
    /// Leaves of the tenant it opens.
    pub leaves: u64,
    /// Until when.
    pub until: String,
}

/// What a purge did, or why it could not.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct PurgeOutcome {
    /// The tenant.
    pub tenant: u32,
    /// Whether the service offers the path for this design's keys.
    pub supported: bool,
    /// Why not, when it does not.
    pub reason: Option<String>,
    /// The steps, in order.
    pub steps: Vec<PurgeStep>,
    /// The window after the revocation in which the provider still decrypts, hours.
    pub window_hours: f64,
    /// Leaves of the tenant the provider's services decrypt during it.
    pub provider_leaves_in_window: u64,
    /// Leaves of the tenant any key left after the purge still opens (0: cryptographic).
    pub leaves_left: u64,
    /// Stored wraps deleted.
    pub wraps_deleted: u64,
    /// What remains decryptable afterwards, and by whom.
    pub residue: Vec<Residue>,
}
