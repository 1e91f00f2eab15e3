//! The generator: a design, a shape, a scheme and a seed make a hierarchy.
//!
//! Every key is `Prf::node_key(node, version)`, every nonce
//! `Prf::wrap_nonce(context, plaintext)`, every share polynomial
//! `Prf::key(Share, node and version, share generation)`: pure functions of
//! the seed and of positions. The work is cut into chunks of consecutive nodes that are filled
//! in parallel, each into its own disjoint part of the arrays, so the result
//! is byte-identical whatever the thread count.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use crate::crypto::batch::{KekCache, KekGroups};
use crate::crypto::prf::{Domain, Prf};
use crate::crypto::root::{RootBackend, RootKeks};
use crate::crypto::scheme::{Kek, SchemeId};
use crate::crypto::secret::Key256;
use crate::crypto::shamir;
use crate::error::{Error, Result};
use crate::graph::counts::Counts;
use crate::graph::design::Design;
use crate::graph::hierarchy::Hierarchy;
use crate::graph::shape::Shape;
use crate::graph::skeleton::{chunks, skeleton, split_parts};
use crate::store::keyring::Keyring;

/// What to generate.
#[derive(Clone, Debug)]
pub struct GenSpec {
    /// The design.
    pub design: Design,
    /// The shape.
    pub shape: Shape,
    /// The wrap scheme.
    pub scheme: SchemeId,
    /// The seed of every key and nonce.
    pub seed: u64,
}

/// Builds the hierarchy and its keyring. `progress` is called with the number
/// of nodes finished since its last call (from any thread).
pub fn generate(spec: &GenSpec, progress: &(dyn Fn(u64) + Sync)) -> Result<(Hierarchy, Keyring)> {
    generate_in(spec, None, progress)
}

/// [`generate`] with the roots created in `backend` (none: in the keyring,
/// from the seed's PRF, as [`generate`]). Under a backend the roots are the
/// backend's own keys, so the root slots' bytes differ from run to run; every
/// other key and wrap is the seed's.
pub fn generate_in(
    spec: &GenSpec,
    backend: Option<Arc<dyn RootBackend>>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(Hierarchy, Keyring)> {
    if backend.is_some() && spec.scheme != SchemeId::Kwp {
        return Err(Error::InvalidArgument(format!(
            "roots in a token wrap with RFC 5649 (the kwp scheme); this hierarchy's scheme is {} (use --scheme kwp)",
            spec.scheme
        )));
    }
    crate::engine::budget::check(
        &spec.design,
        &spec.shape,
        spec.scheme,
        crate::engine::budget::memory_available(),
    )?;
    let mut h = skeleton(&spec.design, &spec.shape, spec.scheme, spec.seed)?;
    let prf = Prf::new(spec.seed);
    let keyring = match backend {
        None => {
            fill_wraps(&mut h, &prf, progress, None)?;
            Keyring::from_prf(&h, &prf)
        }
        Some(b) => {
            let ring = Keyring::in_backend(&h, b)?;
            fill_wraps(&mut h, &prf, progress, ring.root_keks())?;
            ring
        }
    };
    Ok((h, keyring))
}

/// Shares (or the whole key) that node `n`'s slots hold, in slot order: for
/// a share-based key, the polynomial of its current version and share
/// generation ([`Hierarchy::share_gen_of`]), one per (key, version, generation).
pub fn slot_secrets(h: &Hierarchy, prf: &Prf, n: u32, key: &Key256) -> Vec<Key256> {
    let role = &h.design.roles[usize::from(h.role[n as usize])];
    if !role.shares {
        return vec![key.clone(); role.slots.len()];
    }
    let coeffs: Vec<Key256> = (1..role.threshold)
        .map(|i| {
            prf.key(
                Domain::Share,
                (u64::from(h.version[n as usize]) << 40) ^ ((u64::from(n) << 8) | u64::from(i)),
                h.share_gen_of(n),
            )
        })
        .collect();
    (1..=role.slots.len() as u8)
        .map(|x| shamir::share(key, &coeffs, x))
        .collect()
}

/// Wraps `secret` through every layer of slot `s` of node `n`, writing the
/// payload. `kek_key(k)` gives the material of KEK node `k` at its current version.
#[allow(clippy::too_many_arguments)]
pub fn wrap_slot(
    h: &Hierarchy,
    prf: &Prf,
    cache: &mut KekCache,
    n: u32,
    s: u32,
    secret: &Key256,
    kek_key: &dyn Fn(u32) -> Result<Key256>,
    out: &mut [u8],
) -> Result<usize> {
    let keks = h.slot_keks(s);
    let mut buf = [0u8; 256];
    let mut cur = [0u8; 256];
    cur[..32].copy_from_slice(secret.expose());
    let mut cur_len = 32;
    for (layer, &k) in keks.iter().enumerate() {
        let kek = cache.get(k, h.version[k as usize], || {
            Kek::new(h.scheme, kek_key(k)?.expose())
        })?;
        let ctx = h.context(n, s, layer);
        let nonce = prf.wrap_nonce(&ctx, &cur[..cur_len]);
        let len = kek.wrap(&cur[..cur_len], &ctx, &nonce, &mut buf)?;
        cur[..len].copy_from_slice(&buf[..len]);
        cur_len = len;
    }
    zeroize::Zeroize::zeroize(&mut buf);
    let got = out.len();
    let dst = out.get_mut(..cur_len).ok_or(Error::OutputTooSmall {
        needed: cur_len,
        got,
    })?;
    dst.copy_from_slice(&cur[..cur_len]);
    zeroize::Zeroize::zeroize(&mut cur);
    Ok(cur_len)
}

fn fill_wraps(
    h: &mut Hierarchy,
    prf: &Prf,
    progress: &(dyn Fn(u64) + Sync),
    roots: Option<&dyn RootKeks>,
) -> Result<()> {
    fill_wraps_metered(h, prf, progress, roots).map(|_| ())
}

/// Wraps every slot of a skeleton, counting each wrap (and each performed
/// with a root key). With `roots`, the KEK of every root they hold is theirs.
pub fn fill_wraps_metered(
    h: &mut Hierarchy,
    prf: &Prf,
    progress: &(dyn Fn(u64) + Sync),
    roots: Option<&dyn RootKeks>,
) -> Result<Counts> {
    let chunks = chunks(h);
    let lens = chunks
        .iter()
        .map(|&(a, b)| (h.slot_start[b as usize] - h.slot_start[a as usize]) as usize * h.stride);
    let mut payload = std::mem::take(&mut h.payload);
    let parts = split_parts(&mut payload, lens);
    let hh = &*h;
    let done = AtomicU64::new(0);
    let kek_key = |k: u32| Ok(prf.node_key(k, hh.version[k as usize]));
    let res: Result<Vec<Counts>> = chunks
        .par_iter()
        .zip(parts)
        .map(|(&(lo, hi), part)| {
            let mut cache = KekCache::with_roots(roots);
            let mut c = Counts::default();
            let slot0 = hh.slot_start[lo as usize];
            // Single-layer slots are grouped by KEK and wrapped in batches; nested slots one by one.
            let mut by_kek: KekGroups<(u32, u32, Key256)> = KekGroups::default();
            for n in lo..hi {
                if hh.is_root(n) {
                    continue;
                }
                let key = prf.node_key(n, hh.version[n as usize]);
                let secrets = slot_secrets(hh, prf, n, &key);
                for (s, secret) in hh.slots_of(n).zip(secrets) {
                    for &k in hh.slot_keks(s) {
                        c.wraps += 1;
                        c.root_ops += u64::from(hh.is_root(k));
                    }
                    c.wraps_rewritten += 1;
                    c.bytes_rewritten += crate::graph::counts::record_len(hh, s) as u64;
                    match hh.slot_keks(s) {
                        [k] => by_kek.push(*k, (s - slot0) as usize * hh.stride, (n, s, secret)),
                        _ => {
                            let off = (s - slot0) as usize * hh.stride;
                            wrap_slot(
                                hh,
                                prf,
                                &mut cache,
                                n,
                                s,
                                &secret,
                                &kek_key,
                                &mut part[off..off + hh.stride],
                            )?;
                        }
                    }
                }
            }
            for (kek, offs, items) in by_kek.groups() {
                let v = hh.version[kek as usize];
                let prepared = match roots.and_then(|r| r.root_kek(kek, v)) {
                    Some(held) => crate::crypto::batch::PreparedKek::from_kek(held),
                    None => crate::crypto::batch::PreparedKek::new(hh.scheme, &kek_key(kek)?)?,
                };
                let ctx = |j: usize| hh.context(items[j].0, items[j].1, 0);
                let nonce = |j: usize, pt: &[u8]| prf.wrap_nonce(&ctx(j), pt);
                let b = crate::crypto::batch::Binding {
                    ctx: &ctx,
                    new_ctx: &ctx,
                    nonce: &nonce,
                };
                crate::crypto::batch::wrap_many(
                    &prepared,
                    &|j| Ok(items[j].2.clone()),
                    part,
                    offs,
                    &b,
                )?;
            }
            let nodes = u64::from(hi - lo);
            done.fetch_add(nodes, Ordering::Relaxed);
            progress(nodes);
            Ok(c)
        })
        .collect();
    h.payload = payload;
    let mut total = Counts::default();
    for c in res? {
        total.add(&c);
    }
    Ok(total)
}
