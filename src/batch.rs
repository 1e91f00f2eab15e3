//! Many single-layer wraps under one KEK at once: where the engines meet the
//! batched fast path.
//!
//! Every workload groups its work by KEK and calls these functions with one
//! KEK and many stored wraps. Under `kw` and `kwp` (32-byte keys, 40-byte
//! wraps) they go through [`crate::fastkw`], which interleaves the keys' RFC
//! 3394 steps; under `gcm` and `gcm-siv`, and for anything else, through the
//! reference schemes one wrap at a time with the same prepared KEK. Either
//! way the result is byte-identical to [`crate::scheme`] (tests and a fuzz
//! target hold the fast path to that).

use crate::error::{Error, Result};
use crate::fastkw::{self, BatchKek, Mode};
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
    fast: Option<BatchKek>,
}

impl core::fmt::Debug for PreparedKek {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "PreparedKek({}, <redacted>)", self.scheme)
    }
}

impl PreparedKek {
    /// Builds the key schedules of `key` once.
    pub fn new(scheme: SchemeId, key: &Key256) -> Result<Self> {
        let fast = batched(scheme).map(|_| BatchKek::new(key.expose()));
        Ok(PreparedKek { scheme, reference: Kek::new(scheme, key.expose())?, fast })
    }

    /// The reference KEK.
    pub fn reference(&self) -> &Kek {
        &self.reference
    }
}

/// One wrap to open: its payload and context.
pub struct ToOpen<'a> {
    /// The stored payload.
    pub payload: &'a [u8],
    /// Its context.
    pub ctx: WrapContext,
}

/// Unwraps every item under `kek` into `out` (same length). Fails closed: on
/// the first wrap that does not authenticate, returns `UnwrapFailed`.
pub fn unwrap_many(kek: &PreparedKek, items: &[ToOpen<'_>], out: &mut [Key256]) -> Result<()> {
    if items.len() != out.len() {
        return Err(Error::invalid("unwrap_many", "output length differs"));
    }
    if let (Some(mode), Some(fast)) = (batched(kek.scheme), &kek.fast)
        && items.iter().all(|i| i.payload.len() == fastkw::WRAPPED_LEN)
    {
        let mut wrapped = [[0u8; fastkw::WRAPPED_LEN]; CHUNK];
        let mut keys = [[0u8; KEY_LEN]; CHUNK];
        let mut ok = [false; CHUNK];
        for (items, out) in items.chunks(CHUNK).zip(out.chunks_mut(CHUNK)) {
            let n = items.len();
            for (w, i) in wrapped.iter_mut().zip(items) {
                w.copy_from_slice(i.payload);
            }
            fastkw::unwrap_batch(fast, mode, &wrapped[..n], &mut keys[..n], &mut ok[..n])?;
            let all = ok[..n].iter().all(|&o| o);
            for (o, k) in out.iter_mut().zip(&keys[..n]) {
                *o = Key256::from_bytes(*k);
            }
            zeroize::Zeroize::zeroize(&mut keys);
            if !all {
                out.iter_mut().for_each(|k| *k = Key256::default());
                return Err(Error::UnwrapFailed);
            }
        }
        return Ok(());
    }
    let mut buf = [0u8; 256];
    for (i, o) in items.iter().zip(out.iter_mut()) {
        let len = kek.reference.unwrap(i.payload, &i.ctx, &mut buf)?;
        *o = Key256::from_slice(&buf[..len]).ok_or(Error::UnwrapFailed)?;
    }
    zeroize::Zeroize::zeroize(&mut buf);
    Ok(())
}

/// One secret to wrap: the secret, its context and nonce.
pub struct ToWrap<'a> {
    /// The key or share.
    pub secret: &'a Key256,
    /// Its context.
    pub ctx: WrapContext,
    /// Its nonce (AEAD schemes).
    pub nonce: [u8; NONCE_LEN],
}

/// Wraps every item under `kek`, calling `put(i, wrap)` for each.
pub fn wrap_many(kek: &PreparedKek, items: &[ToWrap<'_>], put: &mut dyn FnMut(usize, &[u8]) -> Result<()>) -> Result<()> {
    if let (Some(mode), Some(fast)) = (batched(kek.scheme), &kek.fast) {
        let mut keys = [[0u8; KEY_LEN]; CHUNK];
        let mut wrapped = [[0u8; fastkw::WRAPPED_LEN]; CHUNK];
        for (c, items) in items.chunks(CHUNK).enumerate() {
            let n = items.len();
            for (k, i) in keys.iter_mut().zip(items) {
                k.copy_from_slice(i.secret.expose());
            }
            fastkw::wrap_batch(fast, mode, &keys[..n], &mut wrapped[..n])?;
            zeroize::Zeroize::zeroize(&mut keys);
            for (j, w) in wrapped[..n].iter().enumerate() {
                put(c * CHUNK + j, w)?;
            }
        }
        return Ok(());
    }
    let mut buf = [0u8; 256];
    for (j, i) in items.iter().enumerate() {
        let len = kek.reference.wrap(i.secret.expose(), &i.ctx, &i.nonce, &mut buf)?;
        put(j, &buf[..len])?;
    }
    Ok(())
}

/// One stored wrap to move from one KEK to another: payload, old and new context, new nonce.
pub struct ToRewrap<'a> {
    /// The stored payload.
    pub payload: &'a [u8],
    /// Its context now.
    pub old_ctx: WrapContext,
    /// Its context after.
    pub new_ctx: WrapContext,
    /// The new nonce (AEAD schemes).
    pub nonce: [u8; NONCE_LEN],
}

/// Unwraps every item under `from` and wraps it under `to`, calling `put(i, wrap)`.
/// Fails closed on the first wrap that does not authenticate.
pub fn rewrap_many(from: &PreparedKek, to: &PreparedKek, items: &[ToRewrap<'_>], put: &mut dyn FnMut(usize, &[u8]) -> Result<()>) -> Result<()> {
    if let (Some(mode), Some(f), Some(t)) = (batched(from.scheme), &from.fast, &to.fast)
        && items.iter().all(|i| i.payload.len() == fastkw::WRAPPED_LEN)
    {
        let mut wrapped = [[0u8; fastkw::WRAPPED_LEN]; CHUNK];
        let mut out = [[0u8; fastkw::WRAPPED_LEN]; CHUNK];
        let mut ok = [false; CHUNK];
        for (c, items) in items.chunks(CHUNK).enumerate() {
            let n = items.len();
            for (w, i) in wrapped.iter_mut().zip(items) {
                w.copy_from_slice(i.payload);
            }
            fastkw::rewrap_batch(f, t, mode, &wrapped[..n], &mut out[..n], &mut ok[..n])?;
            if !ok[..n].iter().all(|&o| o) {
                return Err(Error::UnwrapFailed);
            }
            for (j, w) in out[..n].iter().enumerate() {
                put(c * CHUNK + j, w)?;
            }
        }
        return Ok(());
    }
    let mut key = [0u8; 256];
    let mut buf = [0u8; 256];
    for (j, i) in items.iter().enumerate() {
        let len = from.reference.unwrap(i.payload, &i.old_ctx, &mut key)?;
        let w = to.reference.wrap(&key[..len], &i.new_ctx, &i.nonce, &mut buf);
        zeroize::Zeroize::zeroize(&mut key);
        let w = w?;
        put(j, &buf[..w])?;
    }
    Ok(())
}
