//! Where root keys live: the [`RootBackend`] trait (create a root version,
//! wrap and unwrap a child under it, destroy it), its meter, and the handles
//! through which a keyring names roots it does not hold as bytes.
//!
//! Two implementations: [`SoftRoots`] here (root keys in process, as software
//! keys standing in for a vault), and the PKCS#11 token in
//! `crate::store::pkcs11`. The engine's default path does not go through this
//! trait at all: a keyring without a backend holds its roots as bytes and the
//! batched kernels wrap under them (today's speed and bytes). A keyring with a
//! backend holds, per root version, a [`HeldRoot`]; every KEK of such a root
//! is a [`Kek::Held`], whose wraps and unwraps are calls to the backend.
//!
//! A backend's wraps are RFC 5649 (AES key wrap with padding) without
//! associated data: byte for byte the records of the `kwp` scheme. The context
//! binding that `gcm` and `gcm-siv` give a stored wrap (node, slot, layer,
//! versions) is therefore absent from root slots under a backend, as it is
//! from every slot under `kwp`: a root slot copied to another slot of the same
//! root still opens. What binds it instead is the hierarchy's own structure
//! (each slot names its KEK and version), which the audit checks.
//!
//! This module knows no tenants, designs or hierarchies, and never prints.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::crypto::scheme::{HeldKek, Kek};
use crate::crypto::secret::Key256;
use crate::error::{Error, Result};

/// What a root operation did (each is counted and timed apart).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RootOp {
    /// A new root version was created.
    Create,
    /// A child was wrapped under a root.
    Wrap,
    /// A child was unwrapped under a root.
    Unwrap,
    /// A root version was destroyed.
    Destroy,
}

const OPS: [RootOp; 4] = [
    RootOp::Create,
    RootOp::Wrap,
    RootOp::Unwrap,
    RootOp::Destroy,
];

impl RootOp {
    fn index(self) -> usize {
        self as usize
    }

    /// Its name in rows.
    pub fn name(self) -> &'static str {
        match self {
            RootOp::Create => "create",
            RootOp::Wrap => "wrap",
            RootOp::Unwrap => "unwrap",
            RootOp::Destroy => "destroy",
        }
    }
}

/// Counts and latencies of a backend's operations, from any thread.
#[derive(Debug, Default)]
pub struct RootMeter {
    counts: [AtomicU64; 4],
    nanos: [AtomicU64; 4],
    /// Latency samples, nanoseconds, of wraps and unwraps (creates and
    /// destroys are rare and counted only).
    samples: Mutex<Vec<u32>>,
}

/// A reading of a [`RootMeter`]: totals so far, or the difference of two readings.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MeterReading {
    /// Operations by [`RootOp`] (create, wrap, unwrap, destroy).
    pub counts: [u64; 4],
    /// Time spent in each kind, summed over threads, seconds.
    pub busy_seconds: [f64; 4],
    /// How many latency samples the meter held when read (the ones after
    /// an earlier reading are `samples[from..]`).
    pub samples_len: usize,
}

impl MeterReading {
    /// Operations of kind `op`.
    pub fn count(&self, op: RootOp) -> u64 {
        self.counts[op.index()]
    }

    /// Creates, wraps and unwraps: the root operations a plan counts
    /// (destroying a version is not one).
    pub fn root_ops(&self) -> u64 {
        self.count(RootOp::Create) + self.count(RootOp::Wrap) + self.count(RootOp::Unwrap)
    }

    /// What happened between `earlier` and this reading.
    pub fn since(&self, earlier: &MeterReading) -> MeterReading {
        MeterReading {
            counts: core::array::from_fn(|i| self.counts[i].saturating_sub(earlier.counts[i])),
            busy_seconds: core::array::from_fn(|i| {
                (self.busy_seconds[i] - earlier.busy_seconds[i]).max(0.0)
            }),
            samples_len: self.samples_len,
        }
    }
}

/// Most latency samples a meter keeps (a long run keeps its first ones).
const MAX_SAMPLES: usize = 1 << 22;

impl RootMeter {
    /// Times `f` as one operation of kind `op`.
    pub fn time<T>(&self, op: RootOp, f: impl FnOnce() -> T) -> T {
        let t = Instant::now();
        let out = f();
        let ns = t.elapsed().as_nanos().min(u128::from(u32::MAX)) as u64;
        self.counts[op.index()].fetch_add(1, Ordering::Relaxed);
        self.nanos[op.index()].fetch_add(ns, Ordering::Relaxed);
        if matches!(op, RootOp::Wrap | RootOp::Unwrap)
            && let Ok(mut s) = self.samples.lock()
            && s.len() < MAX_SAMPLES
        {
            s.push(ns as u32);
        }
        out
    }

    /// The totals so far.
    pub fn read(&self) -> MeterReading {
        MeterReading {
            counts: OPS.map(|op| self.counts[op.index()].load(Ordering::Relaxed)),
            busy_seconds: OPS.map(|op| self.nanos[op.index()].load(Ordering::Relaxed) as f64 / 1e9),
            samples_len: self.samples.lock().map(|s| s.len()).unwrap_or(0),
        }
    }

    /// Latency samples (wraps and unwraps), microseconds, from sample `from` on.
    pub fn latencies_us(&self, from: usize) -> Vec<f64> {
        self.samples
            .lock()
            .map(|s| {
                s.get(from..)
                    .unwrap_or(&[])
                    .iter()
                    .map(|&ns| f64::from(ns) / 1e3)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Kinds of root backend.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RootKind {
    /// Root keys in process (the keyring; or [`SoftRoots`] through the trait).
    #[default]
    Soft,
    /// Root keys in a PKCS#11 token.
    Pkcs11,
}

impl RootKind {
    /// Its name on the command line and in rows.
    pub fn name(self) -> &'static str {
        match self {
            RootKind::Soft => "soft",
            RootKind::Pkcs11 => "pkcs11",
        }
    }
}

impl core::fmt::Display for RootKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

impl core::str::FromStr for RootKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "soft" => Ok(RootKind::Soft),
            "pkcs11" => Ok(RootKind::Pkcs11),
            _ => Err(Error::InvalidArgument(format!(
                "unknown root backend {s:?} (soft or pkcs11)"
            ))),
        }
    }
}

/// Identifies one root version inside a backend (unique per backend, also
/// when two states of one run create the same (node, version)).
pub type RootHandle = u64;

/// Where root keys live. Wraps are RFC 5649 (the `kwp` record's payload) of
/// any key-sized plaintext (a key, a share, or an inner layer's wrap).
pub trait RootBackend: Send + Sync {
    /// Its kind.
    fn kind(&self) -> RootKind;
    /// Creates root `node` at `version` (a fresh AES-256 key the backend
    /// generates and keeps); rotating a root is creating its next version
    /// and keeping the old one.
    fn create(&self, node: u32, version: u32) -> Result<RootHandle>;
    /// Wraps `plaintext` under root `h` into `out`; returns the length.
    fn wrap(&self, h: RootHandle, plaintext: &[u8], out: &mut [u8]) -> Result<usize>;
    /// Unwraps `wrapped` under root `h` into `out`; returns the length. Fails
    /// closed: `UnwrapFailed`, `out` zeroed.
    fn unwrap(&self, h: RootHandle, wrapped: &[u8], out: &mut [u8]) -> Result<usize>;
    /// Destroys root `h` (every copy of its key). True if it was held.
    fn destroy(&self, h: RootHandle) -> Result<bool>;
    /// Its meter.
    fn meter(&self) -> &RootMeter;
}

/// A shared backend, as plans and options carry it (its `Debug` names its kind).
#[derive(Clone)]
pub struct SharedRoots(pub Arc<dyn RootBackend>);

impl core::fmt::Debug for SharedRoots {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "SharedRoots({})", self.0.kind().name())
    }
}

/// One root version held by a backend. Dropping the last reference destroys
/// the key in the backend: a keyring that forgets a version (revocation,
/// shredding, `destroy-retired`) destroys it unless a copy of the state (a
/// comparison's other run) still names it.
pub struct HeldRoot {
    backend: Arc<dyn RootBackend>,
    handle: RootHandle,
    node: u32,
    version: u32,
}

impl HeldRoot {
    /// Creates root `node` at `version` in `backend`.
    pub fn create(backend: &Arc<dyn RootBackend>, node: u32, version: u32) -> Result<Arc<Self>> {
        let handle = backend.create(node, version)?;
        Ok(Arc::new(HeldRoot {
            backend: backend.clone(),
            handle,
            node,
            version,
        }))
    }

    /// The root's node and version.
    pub fn id(&self) -> (u32, u32) {
        (self.node, self.version)
    }
}

impl Drop for HeldRoot {
    fn drop(&mut self) {
        // A failure to destroy leaves the key in the token under its label;
        // nothing here can report it (the next run's labels differ).
        let _ = self.backend.destroy(self.handle);
    }
}

impl core::fmt::Debug for HeldRoot {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "HeldRoot({} root {} v{}, handle {})",
            self.backend.kind().name(),
            self.node,
            self.version,
            self.handle
        )
    }
}

impl HeldRoot {
    /// Its KEK: every wrap and unwrap a call to the backend.
    pub fn kek(self: &Arc<Self>) -> Kek {
        Kek::Held(self.clone())
    }
}

impl HeldKek for HeldRoot {
    fn wrap(&self, key: &[u8], out: &mut [u8]) -> Result<usize> {
        self.backend.wrap(self.handle, key, out)
    }

    fn unwrap(&self, wrapped: &[u8], out: &mut [u8]) -> Result<usize> {
        self.backend.unwrap(self.handle, wrapped, out)
    }
}

/// Who can name a root's KEK by (node, version): a keyring with a backend.
/// The engine's caches ask it before building a KEK from key bytes.
pub trait RootKeks: Sync {
    /// The KEK of root `node` at `version`, when a backend holds it.
    fn root_kek(&self, node: u32, version: u32) -> Option<Kek>;
}

/// Root keys in process behind the trait: random AES-256 keys, RFC 5649 by
/// the `kwp` scheme. For measuring the trait's cost beside a token's
/// (`keyhier token bench`, `benches/roots.rs`); runs with software roots use
/// the keyring directly.
#[derive(Default)]
pub struct SoftRoots {
    keys: std::sync::RwLock<std::collections::HashMap<RootHandle, Kek>>,
    next: AtomicU64,
    meter: RootMeter,
}

impl RootBackend for SoftRoots {
    fn kind(&self) -> RootKind {
        RootKind::Soft
    }

    fn create(&self, _node: u32, _version: u32) -> Result<RootHandle> {
        self.meter.time(RootOp::Create, || {
            let mut key = Key256::default();
            getrandom::fill(key.expose_mut())
                .map_err(|e| Error::InvalidArgument(format!("no randomness: {e}")))?;
            let kek = Kek::new(crate::crypto::scheme::SchemeId::Kwp, key.expose())?;
            let h = self.next.fetch_add(1, Ordering::Relaxed);
            self.keys
                .write()
                .map_err(|_| Error::InvalidArgument("root store poisoned".into()))?
                .insert(h, kek);
            Ok(h)
        })
    }

    fn wrap(&self, h: RootHandle, plaintext: &[u8], out: &mut [u8]) -> Result<usize> {
        self.meter.time(RootOp::Wrap, || {
            let keys = self
                .keys
                .read()
                .map_err(|_| Error::InvalidArgument("root store poisoned".into()))?;
            let kek = keys.get(&h).ok_or(Error::Unrecoverable { key: h })?;
            kek.wrap_raw(plaintext, &[], &[0; crate::crypto::scheme::NONCE_LEN], out)
        })
    }

    fn unwrap(&self, h: RootHandle, wrapped: &[u8], out: &mut [u8]) -> Result<usize> {
        self.meter.time(RootOp::Unwrap, || {
            let keys = self.keys.read().map_err(|_| Error::UnwrapFailed)?;
            let kek = keys.get(&h).ok_or(Error::UnwrapFailed)?;
            kek.unwrap_raw(wrapped, &[], out)
        })
    }

    fn destroy(&self, h: RootHandle) -> Result<bool> {
        self.meter.time(RootOp::Destroy, || {
            Ok(self
                .keys
                .write()
                .map_err(|_| Error::InvalidArgument("root store poisoned".into()))?
                .remove(&h)
                .is_some())
        })
    }

    fn meter(&self) -> &RootMeter {
        &self.meter
    }
}

/// Measured rates of one backend: `n` wraps of fresh 32-byte keys under one
/// scratch root, then their `n` unwraps, one thread.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct RootRates {
    /// The backend.
    pub kind: RootKind,
    /// Operations of each kind measured.
    pub n: u64,
    /// Wraps per second.
    pub wrap_per_s: f64,
    /// Unwraps per second (for a token: unwrap into a session object and read its value).
    pub unwrap_per_s: f64,
    /// Median and 99th percentile latency of a wrap, microseconds.
    pub wrap_p50_us: f64,
    /// 99th percentile of a wrap.
    pub wrap_p99_us: f64,
    /// Median latency of an unwrap, microseconds.
    pub unwrap_p50_us: f64,
    /// 99th percentile of an unwrap.
    pub unwrap_p99_us: f64,
    /// Root versions created per second (a token writes each to its store).
    pub create_per_s: f64,
    /// Root versions destroyed per second.
    pub destroy_per_s: f64,
}

impl RootRates {
    /// Seconds that the operations of `m` take at these rates, one at a time.
    pub fn predict_seconds(&self, m: &MeterReading) -> f64 {
        let per = |op: RootOp, rate: f64| {
            if rate > 0.0 {
                m.count(op) as f64 / rate
            } else {
                0.0
            }
        };
        per(RootOp::Wrap, self.wrap_per_s)
            + per(RootOp::Unwrap, self.unwrap_per_s)
            + per(RootOp::Create, self.create_per_s)
            + per(RootOp::Destroy, self.destroy_per_s)
    }
}

/// Root versions created and destroyed when measuring rates.
const CREATES: u32 = 32;

/// Measures `backend` ([`RootRates`]), leaving no root behind.
pub fn measure_rates(backend: &Arc<dyn RootBackend>, n: u64) -> Result<RootRates> {
    let t = Instant::now();
    let made = (0..CREATES)
        .map(|v| backend.create(u32::MAX, v))
        .collect::<Result<Vec<_>>>()?;
    let create_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    for h in made {
        backend.destroy(h)?;
    }
    let destroy_s = t.elapsed().as_secs_f64();
    let per_s = |s: f64| if s > 0.0 { f64::from(CREATES) / s } else { 0.0 };
    let kek = HeldRoot::create(backend, u32::MAX, 0)?;
    let mut wraps = Vec::with_capacity(n as usize);
    let m = backend.meter();
    let from = m.read().samples_len;
    let t = Instant::now();
    for i in 0..n {
        let key = crate::crypto::prf::Prf::new(i).node_key(1, 1);
        let mut out = [0u8; 64];
        let len = kek.wrap(key.expose(), &mut out)?;
        wraps.push(out[..len].to_vec());
    }
    let wrap_s = t.elapsed().as_secs_f64();
    let mid = m.read().samples_len;
    let t = Instant::now();
    for w in &wraps {
        let mut out = [0u8; 64];
        kek.unwrap(w, &mut out)?;
        zeroize::Zeroize::zeroize(&mut out);
    }
    let unwrap_s = t.elapsed().as_secs_f64();
    let all = m.latencies_us(from);
    let split = (mid - from).min(all.len());
    let (w_lat, u_lat) = all.split_at(split);
    let q = |s: &[f64], p: f64| crate::stats::quantile(s, p).unwrap_or(0.0);
    let rate = |s: f64| if s > 0.0 { n as f64 / s } else { 0.0 };
    Ok(RootRates {
        kind: backend.kind(),
        n,
        wrap_per_s: rate(wrap_s),
        unwrap_per_s: rate(unwrap_s),
        wrap_p50_us: q(w_lat, 0.5),
        wrap_p99_us: q(w_lat, 0.99),
        unwrap_p50_us: q(u_lat, 0.5),
        unwrap_p99_us: q(u_lat, 0.99),
        create_per_s: per_s(create_s),
        destroy_per_s: per_s(destroy_s),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soft_roots_wrap_as_kwp_and_fail_closed_after_destroy() {
        let b: Arc<dyn RootBackend> = Arc::new(SoftRoots::default());
        let root = HeldRoot::create(&b, 3, 1).unwrap();
        let kek = root.clone();
        let child = [7u8; 32];
        let mut w = [0u8; 64];
        let len = kek.wrap(&child, &mut w).unwrap();
        assert_eq!(len, 40, "RFC 5649 of 32 bytes");
        let mut out = [0u8; 64];
        assert_eq!(kek.unwrap(&w[..len], &mut out).unwrap(), 32);
        assert_eq!(out[..32], child);
        w[5] ^= 1;
        assert!(matches!(
            kek.unwrap(&w[..len], &mut out),
            Err(Error::UnwrapFailed)
        ));
        let r = b.meter().read();
        assert_eq!(
            (
                r.count(RootOp::Create),
                r.count(RootOp::Wrap),
                r.count(RootOp::Unwrap)
            ),
            (1, 1, 2)
        );
        drop(kek);
        drop(root);
        assert_eq!(
            b.meter().read().count(RootOp::Destroy),
            1,
            "last handle dropped"
        );
    }

    #[test]
    fn rates_are_measured_and_predict_from_counts() {
        let b: Arc<dyn RootBackend> = Arc::new(SoftRoots::default());
        let r = measure_rates(&b, 200).unwrap();
        assert!(r.wrap_per_s > 0.0 && r.unwrap_per_s > 0.0);
        assert!(r.wrap_p50_us <= r.wrap_p99_us);
        let m = MeterReading {
            counts: [0, 200, 200, 0],
            ..MeterReading::default()
        };
        let want = 200.0 / r.wrap_per_s + 200.0 / r.unwrap_per_s;
        assert!((r.predict_seconds(&m) - want).abs() < 1e-9);
        // the scratch roots are gone
        let read = b.meter().read();
        assert_eq!(read.count(RootOp::Create), read.count(RootOp::Destroy));
    }
}
