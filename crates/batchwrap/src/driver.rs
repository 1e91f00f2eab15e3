//! The chunk driver of every batch, and the prefetch hints it hands the
//! kernels: states are loaded [`CHUNK`] at a time (from a slice of wraps or
//! from offsets into an arena, every length checked here), run through the
//! backend, finished, and zeroized however the batch ends. While a chunk's AES
//! work runs, the kernels hint the next chunk's wraps into the cache.
//!
//! It decides nothing about which backend runs (that is `backends`) and does
//! no cryptography (that is the kernels over `state`).

use crate::hints::{Hints, NoHints};
use crate::state::{KeyState, Op};
use crate::{Backend, CHUNK, Error, WRAPPED_LEN};

/// The chunk loop of every batch: for each chunk of up to [`CHUNK`] items,
/// `load(ctx, first, states)`, the kernel, `finish(ctx, first, states)`.
/// `arena` is where the wraps lie (for prefetch hints), if they lie in one.
/// The states are zeroized however it ends.
#[inline]
pub(crate) fn drive<C: ?Sized>(
    backend: Backend,
    op: Op<'_>,
    n: usize,
    arena: Option<(Span, &[usize])>,
    ctx: &mut C,
    mut load: impl FnMut(&C, usize, &mut [KeyState]) -> Result<(), Error>,
    mut finish: impl FnMut(&mut C, usize, &[KeyState]) -> Result<(), Error>,
) -> Result<(), Error> {
    let mut states = [KeyState::default(); CHUNK];
    let mut run = || -> Result<(), Error> {
        for first in (0..n).step_by(CHUNK) {
            let states = &mut states[..CHUNK.min(n - first)];
            load(ctx, first, states)?;
            // the next chunk's wraps come into the cache during this one's AES work
            match arena {
                Some((span, offs)) => {
                    crate::backends::run(backend, op, states, &mut Ahead::after(span, offs, first))
                }
                None => crate::backends::run(backend, op, states, &mut NoHints),
            }
            finish(ctx, first, states)?;
        }
        Ok(())
    };
    let res = run();
    // Only the first `n` states ever held a key (a small batch uses a few).
    for s in &mut states[..n.min(CHUNK)] {
        // SAFETY: a `KeyState` is plain integers (all zeros is a valid
        // value), borrowed exclusively here; this zeroizes its bytes in
        // bulk rather than with one volatile write per field.
        unsafe { zeroize::zeroize_flat_type(s) };
    }
    res
}

#[inline]
fn truncated(arena: &[u8], off: usize) -> Error {
    Error::Truncated {
        needed: off.saturating_add(WRAPPED_LEN),
        got: arena.len(),
    }
}

/// Where an arena lies in memory: an address and a length, for prefetch
/// hints only (never dereferenced).
#[derive(Clone, Copy, Default)]
pub(crate) struct Span {
    addr: usize,
    len: usize,
}

impl Span {
    #[inline]
    pub(crate) fn of(arena: &[u8]) -> Span {
        Span {
            addr: arena.as_ptr() as usize,
            len: arena.len(),
        }
    }
}

/// Wraps to bring into the cache while a chunk's AES work runs (the next
/// chunk's): the kernels call [`Hints::step`] once per round of four steps,
/// which hints a few of them, so that the hints are spread over the AES work
/// and never queue up behind each other (a burst of them stalls like the
/// loads would).
///
/// During a batch's last chunk, the lines just after its last wrap are
/// hinted instead (`tail`): engines work through their arena in order, so
/// that is where the next batch's wraps lie, and that batch's first chunk
/// would otherwise start with every load a miss.
#[derive(Default)]
pub(crate) struct Ahead<'a> {
    span: Span,
    offs: &'a [usize],
    /// Next line to hint past the batch, and how many lines are left.
    tail: (usize, usize),
}

impl<'a> Ahead<'a> {
    /// Wraps hinted per call of [`Hints::step`] (once per round of four
    /// steps: more often slows the narrower kernels): 8 covers a chunk within
    /// 8 rounds on every backend (the widest runs 32 keys per group, 6 rounds).
    const PER_STEP: usize = 8;

    /// Lines hinted past a batch: about a chunk of wraps at the strides the
    /// engines use.
    const TAIL_LINES: usize = 128;

    /// The next chunk of `offs` after the chunk at `first`, or, if there is
    /// none, the lines after the batch's last wrap.
    #[inline]
    pub(crate) fn after(span: Span, offs: &'a [usize], first: usize) -> Ahead<'a> {
        match offs.get(first + CHUNK..) {
            Some(next) if !next.is_empty() => Ahead {
                span,
                offs: next,
                tail: (0, 0),
            },
            _ => Ahead {
                span,
                offs: &[],
                tail: offs.last().map_or((0, 0), |&o| {
                    (o.saturating_add(WRAPPED_LEN), Self::TAIL_LINES)
                }),
            },
        }
    }

    /// Hints the line at byte `off` of the arena, or up to [`Self::TAIL_LINES`]
    /// lines past its end (where an engine's next part of the arena lies).
    #[inline]
    fn hint(&self, off: usize) {
        if off < self.span.len.saturating_add(64 * Self::TAIL_LINES) {
            crate::backends::prefetch(self.span.addr.wrapping_add(off));
        }
    }
}

impl Hints for Ahead<'_> {
    #[inline]
    fn step(&mut self) {
        if self.offs.is_empty() {
            let n = self.tail.1.min(2 * Self::PER_STEP);
            for i in 0..n {
                self.hint(self.tail.0.saturating_add(64 * i));
            }
            self.tail = (self.tail.0.saturating_add(64 * n), self.tail.1 - n);
            return;
        }
        let (now, rest) = self.offs.split_at(Self::PER_STEP.min(self.offs.len()));
        for &o in now {
            self.hint(o);
            self.hint(o.saturating_add(WRAPPED_LEN - 1));
        }
        self.offs = rest;
    }

    fn all(&mut self) {
        self.offs = &[];
        self.tail = (0, 0);
    }
}

/// States from `wrapped[first..]`.
#[inline]
pub(crate) fn load_slice(
    wrapped: &[[u8; WRAPPED_LEN]],
    first: usize,
    states: &mut [KeyState],
) -> Result<(), Error> {
    for (s, w) in states.iter_mut().zip(wrapped.iter().skip(first)) {
        *s = KeyState::from_wrapped(w);
    }
    Ok(())
}

/// States from the wraps at `offs[first..]` in `arena`; an error (nothing
/// loaded) if one runs past its end.
#[inline]
pub(crate) fn load_arena(
    arena: &[u8],
    offs: &[usize],
    first: usize,
    states: &mut [KeyState],
) -> Result<(), Error> {
    for (s, &o) in states.iter_mut().zip(offs.iter().skip(first)) {
        let w = arena.get(o..).and_then(<[u8]>::first_chunk::<WRAPPED_LEN>);
        *s = KeyState::from_wrapped(w.ok_or_else(|| truncated(arena, o))?);
    }
    Ok(())
}

/// The wrap at byte `off` of `arena`, to write; an error if it runs past the end.
#[inline]
pub(crate) fn wrap_at_mut(arena: &mut [u8], off: usize) -> Result<&mut [u8; WRAPPED_LEN], Error> {
    if arena.len() < off.saturating_add(WRAPPED_LEN) {
        return Err(truncated(arena, off));
    }
    arena
        .get_mut(off..)
        .and_then(<[u8]>::first_chunk_mut::<WRAPPED_LEN>)
        .ok_or(Error::UnwrapFailed)
}

/// An error unless every length in `others` is the batch's, `n`.
#[inline]
pub(crate) fn check_lens(what: &'static str, n: usize, others: &[usize]) -> Result<(), Error> {
    match others.iter().find(|&&len| len != n) {
        None => Ok(()),
        Some(&slots) => Err(Error::Lengths {
            what,
            batch: n,
            slots,
        }),
    }
}
