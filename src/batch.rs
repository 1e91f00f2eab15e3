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

/// A KEK prepared for both paths.
pub struct PreparedKek {
    scheme: SchemeId,
    reference: Kek,
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
        Ok(PreparedKek {
            scheme,
            reference: Kek::new(scheme, key.expose())?,
            fast,
        })
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

fn slot(arena: &[u8], off: usize, len: usize) -> Result<&[u8]> {
    arena.get(off..off + len).ok_or(Error::Truncated {
        what: "payload arena",
        needed: off + len,
        got: arena.len(),
    })
}

fn slot_mut(arena: &mut [u8], off: usize, len: usize) -> Result<&mut [u8]> {
    let got = arena.len();
    arena.get_mut(off..off + len).ok_or(Error::Truncated {
        what: "payload arena",
        needed: off + len,
        got,
    })
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
    sink: &mut dyn FnMut(usize, &Key256),
) -> Result<()> {
    if let Some((mode, fast)) = &kek.fast
        && len == WRAPPED_LEN
    {
        let mut wrapped = [[0u8; WRAPPED_LEN]; CHUNK];
        let mut keys = [[0u8; KEY_LEN]; CHUNK];
        let mut ok = [false; CHUNK];
        // one key-sized buffer handed to `sink` in turn (zeroized once, on drop)
        let mut tmp = Key256::default();
        for (c, offs) in offs.chunks(CHUNK).enumerate() {
            let n = offs.len();
            for (w, &o) in wrapped.iter_mut().zip(offs) {
                w.copy_from_slice(slot(arena, o, len)?);
            }
            fastkw::unwrap_batch(fast, *mode, &wrapped[..n], &mut keys[..n], &mut ok[..n])?;
            if !ok[..n].iter().all(|&o| o) {
                keys[..n].iter_mut().for_each(zeroize::Zeroize::zeroize);
                return Err(Error::UnwrapFailed);
            }
            for (j, k) in keys[..n].iter().enumerate() {
                tmp.expose_mut().copy_from_slice(k);
                sink(c * CHUNK + j, &tmp);
            }
            keys[..n].iter_mut().for_each(zeroize::Zeroize::zeroize);
        }
        return Ok(());
    }
    let mut buf = [0u8; 256];
    for (i, &o) in offs.iter().enumerate() {
        let res = kek
            .reference
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
        for (c, offs) in offs.chunks(CHUNK).enumerate() {
            let n = offs.len();
            for (j, k) in keys[..n].iter_mut().enumerate() {
                k.copy_from_slice(secret(c * CHUNK + j)?.expose());
            }
            let res = fastkw::wrap_batch(fast, *mode, &keys[..n], &mut wrapped[..n]);
            keys[..n].iter_mut().for_each(zeroize::Zeroize::zeroize);
            res?;
            for (w, &o) in wrapped[..n].iter().zip(offs) {
                slot_mut(arena, o, WRAPPED_LEN)?.copy_from_slice(w);
            }
        }
        return Ok(());
    }
    let mut buf = [0u8; 256];
    for (i, &o) in offs.iter().enumerate() {
        let len = kek
            .reference
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
        let mut wrapped = [[0u8; WRAPPED_LEN]; CHUNK];
        let mut out = [[0u8; WRAPPED_LEN]; CHUNK];
        let mut ok = [false; CHUNK];
        for offs in offs.chunks(CHUNK) {
            let n = offs.len();
            for (w, &o) in wrapped.iter_mut().zip(offs) {
                w.copy_from_slice(slot(arena, o, len)?);
            }
            fastkw::rewrap_batch(f, t, *mode, &wrapped[..n], &mut out[..n], &mut ok[..n])?;
            if !ok[..n].iter().all(|&o| o) {
                return Err(Error::UnwrapFailed);
            }
            for (w, &o) in out[..n].iter().zip(offs) {
                slot_mut(arena, o, len)?.copy_from_slice(w);
            }
        }
        return Ok(());
    }
    let mut key = [0u8; 256];
    let mut buf = [0u8; 256];
    for (i, &o) in offs.iter().enumerate() {
        let res = from
            .reference
            .unwrap(slot(arena, o, len)?, &(b.ctx)(i), &mut key);
        let w = res.and_then(|l| {
            to.reference
                .wrap(&key[..l], &(b.new_ctx)(i), &(b.nonce)(i), &mut buf)
        });
        zeroize::Zeroize::zeroize(&mut key);
        let w = w?;
        slot_mut(arena, o, w)?.copy_from_slice(&buf[..w]);
    }
    Ok(())
}
