//! Many single-layer wraps under one KEK at once: where the engines meet the
//! batched fast path.
//!
//! Every workload groups its work by KEK and calls these functions with one
//! KEK and many stored wraps, addressed by their offsets in the payload arena
//! (no copy, no allocation per key). Under `kw` and `kwp` (32-byte keys,
//! 40-byte wraps) they go through [`crate::crypto::fastkw`], which interleaves the
//! keys' RFC 3394 steps; contexts and nonces are then never computed, since
//! those schemes use neither. Under `gcm` and `gcm-siv` they go through the
//! reference schemes one wrap at a time with the same prepared KEK. Either way
//! the bytes are those of [`crate::crypto::scheme`] (tests and a fuzz target hold the
//! fast path to that).

use crate::crypto::fastkw::{self, BatchKek, Mode, WRAPPED_LEN};
use crate::crypto::root::RootKeks;
use crate::crypto::scheme::{Kek, NONCE_LEN, SchemeId, WrapContext};
use crate::crypto::secret::{KEY_LEN, Key256};
use crate::error::{Error, Result};
use std::sync::OnceLock;

/// Wraps per call of the fast path (bounded stack buffers).
const CHUNK: usize = 256;

/// Whether `scheme` has a batched path for 32-byte keys.
pub fn batched(scheme: SchemeId) -> Option<Mode> {
    match scheme {
        SchemeId::Kw => Some(Mode::Kw),
        SchemeId::Kwp => Some(Mode::Kwp),
        SchemeId::Gcm | SchemeId::GcmSiv => None,
    }
}

/// A KEK prepared for both paths. Under `kw` and `kwp` only the batched key
/// schedules are built; the reference scheme's are built on first use (a wrap
/// of another length, which hierarchies do not hold).
pub struct PreparedKek {
    scheme: SchemeId,
    key: Key256,
    /// Boxed: it is large, seldom built under `kw`, and the struct is moved on creation.
    reference: OnceLock<Box<Kek>>,
    fast: Option<(Mode, BatchKek)>,
}

impl core::fmt::Debug for PreparedKek {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "PreparedKek({}, <redacted>)", self.scheme)
    }
}

impl PreparedKek {
    /// Builds the key schedules of `key` once.
    pub fn new(scheme: SchemeId, key: &Key256) -> Result<Self> {
        let fast = batched(scheme).map(|m| (m, BatchKek::new(key.expose())));
        let reference = OnceLock::new();
        if fast.is_none() {
            let _ = reference.set(Box::new(Kek::new(scheme, key.expose())?));
        }
        Ok(PreparedKek {
            scheme,
            key: key.clone(),
            reference,
            fast,
        })
    }

    /// A KEK built elsewhere (a root held by a backend, [`Kek::Held`]):
    /// every wrap goes through it, one at a time.
    pub fn from_kek(kek: Kek) -> Self {
        let scheme = kek.scheme();
        let reference = OnceLock::new();
        let _ = reference.set(Box::new(kek));
        PreparedKek {
            scheme,
            key: Key256::default(),
            reference,
            fast: None,
        }
    }

    /// The KEK of node `node` at `version`: the one `roots` holds when it
    /// holds that root, else built from `key`.
    pub fn for_node(
        scheme: SchemeId,
        roots: Option<&dyn RootKeks>,
        node: u32,
        version: u32,
        key: &Key256,
    ) -> Result<Self> {
        match roots.and_then(|r| r.root_kek(node, version)) {
            Some(kek) => Ok(PreparedKek::from_kek(kek)),
            None => PreparedKek::new(scheme, key),
        }
    }

    /// The reference scheme's KEK.
    fn reference(&self) -> Result<&Kek> {
        if let Some(k) = self.reference.get() {
            return Ok(k);
        }
        let k = Kek::new(self.scheme, self.key.expose())?;
        Ok(self.reference.get_or_init(|| Box::new(k)))
    }
}

/// Contexts and nonces of a batch, computed only where the scheme uses them.
pub struct Binding<'a> {
    /// Context of item `i` (as stored, for opening; as to be stored, for wrapping).
    pub ctx: &'a dyn Fn(usize) -> WrapContext,
    /// Context of item `i` after a rewrap.
    pub new_ctx: &'a dyn Fn(usize) -> WrapContext,
    /// Nonce of item `i`'s new wrap of `plaintext` (see [`crate::crypto::prf::Prf::wrap_nonce`]:
    /// derived from the new context and the plaintext, so that one KEK never
    /// seals two plaintexts under one nonce).
    pub nonce: &'a dyn Fn(usize, &[u8]) -> [u8; NONCE_LEN],
}

fn truncated(off: usize, len: usize, got: usize) -> Error {
    Error::Truncated {
        what: "payload arena",
        needed: off.saturating_add(len),
        got,
    }
}

fn slot(arena: &[u8], off: usize, len: usize) -> Result<&[u8]> {
    arena
        .get(off..off.saturating_add(len))
        .ok_or(truncated(off, len, arena.len()))
}

fn slot_mut(arena: &mut [u8], off: usize, len: usize) -> Result<&mut [u8]> {
    let got = arena.len();
    arena
        .get_mut(off..off.saturating_add(len))
        .ok_or(truncated(off, len, got))
}

/// Writes `wraps` to the arena at `offs`.
fn scatter(arena: &mut [u8], offs: &[usize], wraps: &[[u8; WRAPPED_LEN]]) -> Result<()> {
    let got = arena.len();
    for (w, &o) in wraps.iter().zip(offs) {
        let dst = arena
            .get_mut(o..)
            .and_then(<[u8]>::first_chunk_mut::<WRAPPED_LEN>)
            .ok_or(truncated(o, WRAPPED_LEN, got))?;
        *dst = *w;
    }
    Ok(())
}

/// Opens the wraps of `len` bytes at `offs` in `arena` under `kek`, calling
/// `sink(i, key)` for each. Fails closed: if any wrap does not authenticate,
/// returns `UnwrapFailed` (no key of that chunk reaches `sink`).
pub fn unwrap_many(
    kek: &PreparedKek,
    arena: &[u8],
    offs: &[usize],
    len: usize,
    b: &Binding<'_>,
    mut sink: impl FnMut(usize, &Key256),
) -> Result<()> {
    if let Some((mode, fast)) = &kek.fast
        && len == WRAPPED_LEN
    {
        // one key-sized buffer handed to `sink` in turn (zeroized once, on drop)
        let mut tmp = Key256::default();
        return fastkw::unwrap_at(fast, *mode, arena, offs, &mut |first, keys, ok| {
            if !ok.iter().all(|&o| o) {
                return Err(Error::UnwrapFailed);
            }
            for (j, k) in keys.iter().enumerate() {
                *tmp.expose_mut() = *k;
                sink(first + j, &tmp);
            }
            Ok(())
        });
    }
    let mut buf = [0u8; 256];
    for (i, &o) in offs.iter().enumerate() {
        let res = kek
            .reference()?
            .unwrap(slot(arena, o, len)?, &(b.ctx)(i), &mut buf);
        let key = res.and_then(|l| Key256::from_slice(&buf[..l]).ok_or(Error::UnwrapFailed));
        zeroize::Zeroize::zeroize(&mut buf);
        sink(i, &key?);
    }
    Ok(())
}

/// Wraps `secret(i)` under `kek` into `arena` at `offs[i]`.
pub fn wrap_many(
    kek: &PreparedKek,
    secret: &dyn Fn(usize) -> Result<Key256>,
    arena: &mut [u8],
    offs: &[usize],
    b: &Binding<'_>,
) -> Result<()> {
    if let Some((mode, fast)) = &kek.fast {
        let mut keys = [[0u8; KEY_LEN]; CHUNK];
        let mut wrapped = [[0u8; WRAPPED_LEN]; CHUNK];
        let mut run = || -> Result<()> {
            for (c, offs) in offs.chunks(CHUNK).enumerate() {
                let n = offs.len();
                for (j, k) in keys[..n].iter_mut().enumerate() {
                    *k = *secret(c * CHUNK + j)?.expose();
                }
                fastkw::wrap_batch(fast, *mode, &keys[..n], &mut wrapped[..n])?;
                scatter(arena, offs, &wrapped[..n])?;
            }
            Ok(())
        };
        let res = run();
        // every secret copied above, also when `secret` or the wrap failed part-way
        zeroize::Zeroize::zeroize(keys.as_flattened_mut());
        return res;
    }
    let mut buf = [0u8; 256];
    for (i, &o) in offs.iter().enumerate() {
        let len = {
            let secret = secret(i)?;
            let pt = secret.expose();
            kek.reference()?
                .wrap(pt, &(b.ctx)(i), &(b.nonce)(i, pt), &mut buf)?
        };
        slot_mut(arena, o, len)?.copy_from_slice(&buf[..len]);
    }
    Ok(())
}

/// Moves the wraps of `len` bytes at `offs` in `arena` from `from` to `to`, in
/// place. Fails closed on the first wrap that does not authenticate (that
/// chunk is left as it was).
pub fn rewrap_many(
    from: &PreparedKek,
    to: &PreparedKek,
    arena: &mut [u8],
    offs: &[usize],
    len: usize,
    b: &Binding<'_>,
) -> Result<()> {
    if let (Some((mode, f)), Some((_, t))) = (&from.fast, &to.fast)
        && len == WRAPPED_LEN
    {
        return fastkw::rewrap_at(f, t, *mode, arena, offs);
    }
    let mut key = [0u8; 256];
    let mut buf = [0u8; 256];
    for (i, &o) in offs.iter().enumerate() {
        let res = from
            .reference()?
            .unwrap(slot(arena, o, len)?, &(b.ctx)(i), &mut key);
        let w = res.and_then(|l| {
            to.reference()?.wrap(
                &key[..l],
                &(b.new_ctx)(i),
                &(b.nonce)(i, &key[..l]),
                &mut buf,
            )
        });
        zeroize::Zeroize::zeroize(&mut key);
        let w = w?;
        slot_mut(arena, o, w)?.copy_from_slice(&buf[..w]);
    }
    Ok(())
}

/// A few prepared KEKs, most recent first: consecutive slots mostly share KEKs.
/// With `roots` (a keyring whose roots a backend holds), a root's KEK comes
/// from there, never from key bytes.
pub struct KekCache<'r> {
    entries: Vec<(u32, u32, Kek)>,
    roots: Option<&'r dyn RootKeks>,
}

impl<'r> KekCache<'r> {
    /// An empty cache (it allocates on its first miss: many callers never miss).
    pub fn new() -> Self {
        KekCache {
            entries: Vec::new(),
            roots: None,
        }
    }

    /// An empty cache that asks `roots` first (none: as [`KekCache::new`]).
    pub fn with_roots(roots: Option<&'r dyn RootKeks>) -> Self {
        KekCache {
            entries: Vec::new(),
            roots,
        }
    }

    /// The prepared KEK of `(node, version)`, built with `make` on a miss.
    pub fn get(
        &mut self,
        node: u32,
        version: u32,
        make: impl FnOnce() -> Result<Kek>,
    ) -> Result<&Kek> {
        if let Some(i) = self
            .entries
            .iter()
            .position(|(n, v, _)| *n == node && *v == version)
        {
            if i != 0 {
                self.entries.swap(0, i);
            }
        } else {
            let kek = match self.roots.and_then(|r| r.root_kek(node, version)) {
                Some(k) => k,
                None => make()?,
            };
            if self.entries.len() == 8 {
                self.entries.pop();
            }
            self.entries.insert(0, (node, version, kek));
        }
        Ok(&self.entries[0].2)
    }
}

impl Default for KekCache<'_> {
    fn default() -> Self {
        Self::new()
    }
}

/// Work items grouped by KEK, in the order each KEK was first seen: per KEK,
/// the arena offsets of its stored wraps (ready for [`crate::crypto::batch`]) and an
/// item of the caller's for each.
pub struct KekGroups<T> {
    index: std::collections::HashMap<u32, usize>,
    last: Option<(u32, usize)>,
    /// The first `used` are in use; the rest are kept (empty) for reuse.
    groups: Vec<(u32, Vec<usize>, Vec<T>)>,
    used: usize,
    first_capacity: usize,
}

impl<T> Default for KekGroups<T> {
    fn default() -> Self {
        KekGroups {
            index: std::collections::HashMap::new(),
            last: None,
            groups: Vec::new(),
            used: 0,
            first_capacity: 0,
        }
    }
}

impl<T> KekGroups<T> {
    /// Room for `n` items under the first KEK (the usual case: one KEK per run).
    pub fn with_capacity(n: usize) -> Self {
        KekGroups {
            first_capacity: n,
            ..KekGroups::default()
        }
    }

    /// Empties the groups, keeping their memory for the next use.
    pub fn clear(&mut self) {
        for (_, offs, items) in &mut self.groups[..self.used] {
            offs.clear();
            items.clear();
        }
        self.used = 0;
        self.index.clear();
        self.last = None;
    }

    /// Files the wrap at arena offset `off`, with `item`, under `kek`
    /// (consecutive pushes under one KEK skip the hash).
    pub fn push(&mut self, kek: u32, off: usize, item: T) {
        self.extend(kek, [off].into_iter(), [item].into_iter());
    }

    /// Files wraps at arena offsets `offs`, with `items` (one each, in order),
    /// under `kek`. A stretch filed at once streams into the group's buffers.
    pub fn extend(
        &mut self,
        kek: u32,
        offs: impl ExactSizeIterator<Item = usize>,
        items: impl ExactSizeIterator<Item = T>,
    ) {
        debug_assert_eq!(offs.len(), items.len());
        let g = match self.last {
            Some((k, g)) if k == kek => g,
            _ => {
                let next = self.used;
                let g = *self.index.entry(kek).or_insert(next);
                if g == next {
                    if let Some(slot) = self.groups.get_mut(next) {
                        slot.0 = kek;
                    } else {
                        let cap = core::mem::take(&mut self.first_capacity);
                        self.groups
                            .push((kek, Vec::with_capacity(cap), Vec::with_capacity(cap)));
                    }
                    self.used += 1;
                }
                self.last = Some((kek, g));
                g
            }
        };
        if let Some((_, o, i)) = self.groups.get_mut(g) {
            let n = offs.len().min(items.len());
            o.extend(offs.take(n));
            i.extend(items.take(n));
        }
    }

    /// The groups: each KEK with its offsets and items, in first-seen order.
    pub fn groups(&self) -> impl Iterator<Item = (u32, &[usize], &[T])> {
        self.groups[..self.used]
            .iter()
            .map(|(k, o, i)| (*k, o.as_slice(), i.as_slice()))
    }
}
