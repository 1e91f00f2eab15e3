//! The key-service simulator: root operations sent by client workers to
//! rate-limited quota scopes (vaults, accounts, projects), in simulated time.
//!
//! Each scope has the token buckets of its [`ServiceProfile`] (refilled to
//! their limit at the start of every window), and, where the profile says so,
//! shares a cap with the other scopes of the same tenant (Azure's
//! subscription). `workers_per_vault` workers per scope each send one request
//! at a time, in the scope's order (per root: its new version, then the
//! unwraps, then the wraps); a request that finds a bucket short is
//! refused (a 429, which costs no quota), and the worker sends it again after
//! the profile's exponential backoff with jitter, until it succeeds. Each
//! response takes a latency drawn from [`Latency`]; the bucket is charged
//! when the request is sent. Scopes work in parallel: the run's time is the
//! slowest scope's, not the sum.
//!
//! Pure computation: an event queue in simulated nanoseconds, no sleeping,
//! no clock, no printing. The same inputs and seed give the same result (one
//! ChaCha8 stream, events ordered by time then by the order they were
//! queued). With no latency, a worker's requests that fit in the buckets at
//! one instant are taken in one step (they all complete at that instant
//! anyway), so a quota-bound run costs a few events per window, not one per
//! operation.

use core::cmp::Reverse;
use std::collections::BinaryHeap;

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

use super::profile::{Backoff, Jitter, RequestKind, ServiceProfile};
use crate::error::{Error, Result};

const NS_PER_MS: f64 = 1e6;

/// The 99th percentile of the standard normal distribution.
const Z99: f64 = 2.326_347_874_040_841;

/// How long one request takes, from sending it to its response.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Latency {
    /// Always the same, milliseconds (0: no latency).
    Constant {
        /// Milliseconds.
        ms: f64,
    },
    /// Log-normal with this median and 99th percentile, milliseconds.
    LogNormal {
        /// Median.
        p50_ms: f64,
        /// 99th percentile.
        p99_ms: f64,
    },
}

impl Default for Latency {
    fn default() -> Self {
        Latency::Constant { ms: 0.0 }
    }
}

impl Latency {
    /// A measured backend's latency: log-normal through its p50 and p99, or
    /// constant if they are equal.
    pub fn from_measured(p50_ms: f64, p99_ms: f64) -> Result<Latency> {
        let l = if p99_ms == p50_ms {
            Latency::Constant { ms: p50_ms }
        } else {
            Latency::LogNormal { p50_ms, p99_ms }
        };
        l.validate()?;
        Ok(l)
    }

    /// Reads `MS` (constant) or `P50,P99` (log-normal), in milliseconds.
    pub fn parse(s: &str) -> Result<Latency> {
        let num = |t: &str| {
            t.trim().parse::<f64>().map_err(|_| {
                Error::InvalidArgument(format!(
                    "latency {s:?}: expected MS or P50,P99 in milliseconds (e.g. 20 or 15,120)"
                ))
            })
        };
        let l = match s.split_once(',') {
            None => Latency::Constant { ms: num(s)? },
            Some((a, b)) => Latency::from_measured(num(a)?, num(b)?)?,
        };
        l.validate()?;
        Ok(l)
    }

    /// Refuses a latency that is negative, not finite, above a minute, or
    /// whose p99 is below its p50.
    pub fn validate(&self) -> Result<()> {
        let ok = |ms: f64| ms.is_finite() && (0.0..=60_000.0).contains(&ms);
        let fine = match *self {
            Latency::Constant { ms } => ok(ms),
            Latency::LogNormal { p50_ms, p99_ms } => {
                ok(p50_ms) && ok(p99_ms) && p50_ms > 0.0 && p99_ms >= p50_ms
            }
        };
        if fine {
            Ok(())
        } else {
            Err(Error::InvalidArgument(format!(
                "latency {self:?}: milliseconds from 0 to 60,000, a p50 above 0 and a p99 at or above it"
            )))
        }
    }

    /// Whether every request takes no time.
    fn is_zero(&self) -> bool {
        matches!(*self, Latency::Constant { ms } if ms == 0.0)
    }

    /// One draw, nanoseconds.
    pub(crate) fn draw(&self, rng: &mut ChaCha8Rng) -> u64 {
        match *self {
            Latency::Constant { ms } => (ms * NS_PER_MS).round() as u64,
            Latency::LogNormal { p50_ms, p99_ms } => {
                let sigma = (p99_ms / p50_ms).ln() / Z99;
                // Box-Muller: u1 in (0, 1], u2 in [0, 1)
                let u1 = 1.0 - unit(rng);
                let u2 = unit(rng);
                let z = (-2.0 * u1.ln()).sqrt() * (core::f64::consts::TAU * u2).cos();
                (p50_ms * NS_PER_MS * (sigma * z).exp()).round().max(1.0) as u64
            }
        }
    }
}

/// A uniform draw in [0, 1).
fn unit(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// The simulator's knobs besides the profile.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct SimOptions {
    /// Client workers per quota scope, each with one request in flight.
    pub workers_per_vault: u32,
    /// Latency of every request.
    pub latency: Latency,
    /// Seed of the jitter and latency draws.
    pub seed: u64,
    /// Wraps under an RSA public key done by the client, without the service
    /// (only where [`ServiceProfile::public_key_wraps`]).
    pub local_public_wraps: bool,
}

impl Default for SimOptions {
    /// 8 workers per vault (keyhier's choice: with no latency only the count
    /// of throttled requests depends on it), no latency (no service
    /// publishes one: pass yours, or a measured backend's), seed 1, every
    /// wrap sent to the service.
    fn default() -> Self {
        SimOptions {
            workers_per_vault: 8,
            latency: Latency::default(),
            seed: 1,
            local_public_wraps: false,
        }
    }
}

impl SimOptions {
    /// Refuses workers outside 1 to 4,096 or a bad latency.
    pub fn validate(&self) -> Result<()> {
        if !(1..=4096).contains(&self.workers_per_vault) {
            return Err(Error::InvalidArgument(format!(
                "workers per vault must be 1 to 4096, not {}",
                self.workers_per_vault
            )));
        }
        self.latency.validate()
    }
}

/// The requests of one quota scope, in the order its workers send them.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct VaultWork {
    /// The scopes with the same group share the profile's tenant cap (one
    /// tenant's subscription); `None`: no shared cap.
    pub group: Option<u32>,
    /// Runs of requests: a kind and how many.
    pub requests: Vec<(RequestKind, u64)>,
}

impl VaultWork {
    /// Requests in all.
    pub fn total(&self) -> u64 {
        self.requests.iter().map(|r| r.1).sum()
    }
}

/// Operations completed and requests throttled per window of simulated time.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Timeline {
    /// Width of each window, seconds: the profile's shortest quota window
    /// times 1, 2 or 5 times a power of ten (at most 1,000 windows).
    pub window_s: f64,
    /// Operations completed in each window.
    pub completed: Vec<u64>,
    /// 429 responses in each window.
    pub throttled: Vec<u64>,
}

/// Most windows a timeline keeps; past it, windows are merged.
const TIMELINE_WINDOWS: usize = 1000;

struct TimelineBuilder {
    width: u64,
    /// Whether the width is 1 (not 2) times a power of ten.
    one: bool,
    completed: Vec<u64>,
    throttled: Vec<u64>,
}

impl TimelineBuilder {
    /// Windows of a thousandth of `quota_window` nanoseconds to start with.
    fn new(quota_window: u64) -> Self {
        TimelineBuilder {
            width: (quota_window / 1000).max(1),
            one: true,
            completed: Vec::new(),
            throttled: Vec::new(),
        }
    }

    /// Merges windows by 2 or 5 in turn (1, 2, 5, 10, 20, ... times the first width).
    fn coarsen(&mut self) {
        let f: usize = if self.one { 2 } else { 5 };
        let merge = |v: &[u64]| -> Vec<u64> { v.chunks(f).map(|c| c.iter().sum()).collect() };
        self.completed = merge(&self.completed);
        self.throttled = merge(&self.throttled);
        self.width *= f as u64;
        self.one = !self.one;
    }

    fn add(&mut self, t: u64, completed: u64, throttled: u64) {
        while (t / self.width) as usize >= TIMELINE_WINDOWS {
            self.coarsen();
        }
        let i = (t / self.width) as usize;
        if self.completed.len() <= i {
            self.completed.resize(i + 1, 0);
            self.throttled.resize(i + 1, 0);
        }
        self.completed[i] += completed;
        self.throttled[i] += throttled;
    }

    /// The timeline, in windows no shorter than `quota_window`: a rate over
    /// less than a quota window shows bursts the quota allows, not the rate.
    fn finish(mut self, quota_window: u64) -> Timeline {
        while self.width < quota_window {
            self.coarsen();
        }
        Timeline {
            window_s: self.width as f64 / 1e9,
            completed: self.completed,
            throttled: self.throttled,
        }
    }
}

/// What a simulated run took.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct SimResult {
    /// Simulated seconds until the last operation completed (the slowest scope's).
    pub seconds: f64,
    /// Operations completed.
    pub operations: u64,
    /// Operations per second achieved over the run (0 when no time passed).
    pub ops_per_s: f64,
    /// Operations refused at least once (requests throttled).
    pub throttled: u64,
    /// Requests sent again after a 429 (one per 429 response).
    pub retries: u64,
    /// Scopes with work.
    pub vaults: u32,
    /// Each scope's time, seconds, in the order given.
    pub vault_seconds: Vec<f64>,
    /// The slowest scope, by its index in the order given.
    pub slowest_vault: Option<usize>,
    /// Operations per window.
    pub timeline: Timeline,
}

struct Bucket {
    limit: u64,
    window: u64,
    index: u64,
    used: u64,
}

impl Bucket {
    /// Units left at time `t`.
    fn room(&mut self, t: u64) -> u64 {
        let i = t / self.window;
        if i != self.index {
            self.index = i;
            self.used = 0;
        }
        self.limit - self.used
    }
}

struct Vault {
    requests: Vec<(RequestKind, u64)>,
    run: usize,
    left: u64,
    /// Bucket index and units of each request kind: its own, then its group's.
    charges: [[(usize, u64); 2]; 4],
    charge_count: usize,
    finish: u64,
}

impl Vault {
    fn next(&mut self) -> Option<RequestKind> {
        while self.left == 0 {
            self.run += 1;
            self.left = self.requests.get(self.run)?.1;
        }
        self.left -= 1;
        Some(self.requests[self.run].0)
    }

    /// Takes up to `max` more requests of `kind` from the current run.
    fn take_more(&mut self, kind: RequestKind, max: u64) -> u64 {
        match self.requests.get(self.run) {
            Some(&(k, _)) if k == kind => {
                let n = self.left.min(max);
                self.left -= n;
                n
            }
            _ => 0,
        }
    }
}

struct Worker {
    vault: usize,
    pending: Option<RequestKind>,
    attempt: u32,
}

/// The delay before resending after the `attempt`-th 429 in a row, nanoseconds.
fn backoff_ns(b: &Backoff, attempt: u32, rng: &mut ChaCha8Rng) -> u64 {
    let doublings = attempt.saturating_sub(1).min(40);
    let d = b.base_ms.saturating_mul(1u64 << doublings).min(b.cap_ms) as f64 * NS_PER_MS;
    let jittered = match b.jitter {
        Jitter::None => d,
        Jitter::Full => d * unit(rng),
        Jitter::PlusMinus { ms } => d + (2.0 * unit(rng) - 1.0) * ms as f64 * NS_PER_MS,
    };
    // at least a microsecond: a retry always moves time forward
    jittered.round().max(1000.0) as u64
}

/// Simulates `vaults` (each a quota scope with its requests) at `profile`.
pub fn simulate(
    profile: &ServiceProfile,
    vaults: &[VaultWork],
    opts: &SimOptions,
) -> Result<SimResult> {
    profile.validate()?;
    opts.validate()?;
    let nq = profile.quotas.len();
    let own = |v: usize, q: usize| v * nq + q;
    let mut buckets: Vec<Bucket> = Vec::with_capacity(vaults.len() * nq);
    for _ in vaults {
        for q in &profile.quotas {
            buckets.push(Bucket {
                limit: q.limit,
                window: q.window_ms * 1_000_000,
                index: u64::MAX,
                used: 0,
            });
        }
    }
    // the tenant cap: one set of buckets per group, `factor` times each quota
    let mut groups: Vec<u32> = Vec::new();
    if let Some(factor) = profile.tenant_cap_factor {
        groups = vaults.iter().filter_map(|v| v.group).collect();
        groups.sort_unstable();
        groups.dedup();
        for _ in &groups {
            for q in &profile.quotas {
                buckets.push(Bucket {
                    limit: q.limit.saturating_mul(factor),
                    window: q.window_ms * 1_000_000,
                    index: u64::MAX,
                    used: 0,
                });
            }
        }
    }
    let group_base = vaults.len() * nq;
    let mut state: Vec<Vault> = Vec::with_capacity(vaults.len());
    for (v, work) in vaults.iter().enumerate() {
        let group = work
            .group
            .filter(|_| profile.tenant_cap_factor.is_some())
            .and_then(|g| groups.binary_search(&g).ok());
        let mut charges = [[(0usize, 0u64); 2]; 4];
        for k in RequestKind::ALL {
            let c = profile.charges[k.index()];
            charges[k.index()][0] = (own(v, c.quota), c.units);
            if let Some(g) = group {
                charges[k.index()][1] = (group_base + g * nq + c.quota, c.units);
            }
        }
        let requests: Vec<(RequestKind, u64)> =
            work.requests.iter().copied().filter(|r| r.1 > 0).collect();
        let left = requests.first().map_or(0, |r| r.1);
        state.push(Vault {
            requests,
            run: 0,
            left,
            charges,
            charge_count: if group.is_some() { 2 } else { 1 },
            finish: 0,
        });
    }

    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let mut heap: BinaryHeap<Reverse<(u64, u64, u32)>> = BinaryHeap::new();
    let mut seq = 0u64;
    let mut workers: Vec<Worker> = Vec::new();
    for (v, work) in vaults.iter().enumerate() {
        let n = work.total().min(u64::from(opts.workers_per_vault));
        for _ in 0..n {
            heap.push(Reverse((0, seq, workers.len() as u32)));
            seq += 1;
            workers.push(Worker {
                vault: v,
                pending: None,
                attempt: 0,
            });
        }
    }
    let zero_latency = opts.latency.is_zero();
    let quota_window = profile
        .quotas
        .iter()
        .map(|q| q.window_ms * 1_000_000)
        .min()
        .unwrap_or(1_000_000_000);
    let mut timeline = TimelineBuilder::new(quota_window);
    let (mut operations, mut throttled, mut retries) = (0u64, 0u64, 0u64);
    while let Some(Reverse((t, _, w))) = heap.pop() {
        let worker = &mut workers[w as usize];
        let vault = &mut state[worker.vault];
        let Some(kind) = worker.pending.take().or_else(|| vault.next()) else {
            continue; // nothing left for this worker
        };
        let charges = &vault.charges[kind.index()][..vault.charge_count];
        let fits = charges
            .iter()
            .map(|&(b, units)| buckets[b].room(t) / units)
            .min()
            .unwrap_or(0);
        let latency = opts.latency.draw(&mut rng);
        let next = if fits >= 1 {
            let extra = if zero_latency {
                vault.take_more(kind, fits - 1)
            } else {
                0
            };
            let n = 1 + extra;
            for &(b, units) in &vault.charges[kind.index()][..vault.charge_count] {
                buckets[b].used += n * units;
            }
            operations += n;
            vault.finish = vault.finish.max(t + latency);
            timeline.add(t + latency, n, 0);
            worker.attempt = 0;
            t + latency
        } else {
            if worker.attempt == 0 {
                throttled += 1;
            }
            retries += 1;
            timeline.add(t, 0, 1);
            worker.attempt += 1;
            worker.pending = Some(kind);
            t + latency + backoff_ns(&profile.backoff, worker.attempt, &mut rng)
        };
        heap.push(Reverse((next, seq, w)));
        seq += 1;
    }

    let vault_seconds: Vec<f64> = state.iter().map(|v| v.finish as f64 / 1e9).collect();
    let slowest_vault = (0..state.len())
        .filter(|&v| vaults[v].total() > 0)
        .max_by_key(|&v| (state[v].finish, Reverse(v)));
    let seconds = slowest_vault.map_or(0.0, |v| vault_seconds[v]);
    Ok(SimResult {
        seconds,
        operations,
        ops_per_s: if seconds > 0.0 {
            operations as f64 / seconds
        } else {
            0.0
        },
        throttled,
        retries,
        vaults: vaults.iter().filter(|v| v.total() > 0).count() as u32,
        vault_seconds,
        slowest_vault,
        timeline: timeline.finish(quota_window),
    })
}
