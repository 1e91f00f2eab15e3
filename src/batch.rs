//! Many single-layer wraps under one KEK at once: where the engines meet the
//! batched fast path.
//!
//! Every workload groups its work by KEK and calls these functions with one
//! KEK and many stored wraps, addressed by their offsets in the payload arena
//! (no copy, no allocation per key). Under `kw` and `kwp` (32-byte keys,
//! 40-byte wraps) they go through [`crate::fastkw`], which interleaves the
//! keys' RFC 3394 steps; contexts and nonces are then never computed, since
//! those schemes use neither. Under `gcm` and `gcm-siv` they go through the
//! reference schemes one wrap at a time with the same prepared KEK. Either way
//! the bytes are those of [`crate::scheme`] (tests and a fuzz target hold the
//! fast path to that).

use crate::error::{Error, Result};
use crate::fastkw::{self, BatchKek, Mode, WRAPPED_LEN};
use crate::scheme::{Kek, NONCE_LEN, SchemeId, WrapContext};
use crate::secret::{KEY_LEN, Key256};
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
    /// Nonce of item `i`'s new wrap.
    pub nonce: &'a dyn Fn(usize) -> [u8; NONCE_LEN],
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
        let len =
            kek.reference()?
                .wrap(secret(i)?.expose(), &(b.ctx)(i), &(b.nonce)(i), &mut buf)?;
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
            to.reference()?
                .wrap(&key[..l], &(b.new_ctx)(i), &(b.nonce)(i), &mut buf)
        });
        zeroize::Zeroize::zeroize(&mut key);
        let w = w?;
        slot_mut(arena, o, w)?.copy_from_slice(&buf[..w]);
    }
    Ok(())
}
