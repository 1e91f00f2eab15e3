//! The safe core of RFC 3394 for 32-byte keys: the state of one key in flight,
//! the step counter, the constant-time check of `A`, and what a kernel does to
//! a slice of states ([`Op`]). Every backend works on these; nothing here
//! knows of backends, chunks or memory layout beyond one state.

use zeroize::Zeroize;

use crate::{BatchKek, KEY_LEN, WRAPPED_LEN};

/// Semiblocks of key data (`n` in RFC 3394).
pub(crate) const N: usize = KEY_LEN / 8;

/// One key in flight, laid out for 16-byte loads: `lanes[0]` is `A | R[1]`
/// and the high half of `lanes[i]` is `R[i + 1]` (a semiblock as the
/// little-endian reading of its 8 bytes; the low halves of `lanes[1..]` are
/// not read). `check` is the `A` an unwrap ended with, kept by a rewrap.
#[derive(Clone, Copy, Default, Zeroize)]
pub(crate) struct KeyState {
    pub(crate) lanes: [u128; N],
    pub(crate) check: u64,
}

const LOW: u128 = u64::MAX as u128;

impl KeyState {
    #[inline]
    pub(crate) fn from_key(iv: u64, key: &[u8; KEY_LEN]) -> Self {
        let mut s = KeyState::default();
        for (i, r) in key.as_chunks::<8>().0.iter().enumerate() {
            s.set_r(i, u64::from_le_bytes(*r));
        }
        s.set_a(iv);
        s
    }

    #[inline]
    pub(crate) fn from_wrapped(wrapped: &[u8; WRAPPED_LEN]) -> Self {
        let mut s = KeyState::default();
        for (i, lane) in s.lanes.iter_mut().enumerate() {
            let bytes = wrapped.get(8 * i..).and_then(<[u8]>::first_chunk::<16>);
            *lane = u128::from_le_bytes(bytes.copied().unwrap_or_default());
        }
        s
    }

    #[inline]
    pub(crate) fn a(&self) -> u64 {
        self.lanes[0] as u64
    }

    #[inline]
    pub(crate) fn set_a(&mut self, a: u64) {
        self.lanes[0] = (self.lanes[0] & !LOW) | u128::from(a);
    }

    /// `R[i + 1]`.
    #[inline]
    pub(crate) fn r(&self, i: usize) -> u64 {
        self.lanes.get(i).map_or(0, |l| (l >> 64) as u64)
    }

    /// Sets `R[i + 1]`.
    #[inline]
    pub(crate) fn set_r(&mut self, i: usize, r: u64) {
        if let Some(l) = self.lanes.get_mut(i) {
            *l = (*l & LOW) | (u128::from(r) << 64);
        }
    }

    /// The wrap `A | R[1] | .. | R[4]`, every byte ANDed with `mask`.
    #[inline]
    pub(crate) fn write_wrapped(&self, mask: u64, out: &mut [u8; WRAPPED_LEN]) {
        for (i, c) in out.as_chunks_mut::<8>().0.iter_mut().enumerate() {
            let w = if i == 0 { self.a() } else { self.r(i - 1) };
            *c = (w & mask).to_le_bytes();
        }
    }

    /// The key `R[1] | .. | R[4]`, every byte ANDed with `mask`.
    #[inline]
    pub(crate) fn write_key(&self, mask: u64, out: &mut [u8; KEY_LEN]) {
        for (i, c) in out.as_chunks_mut::<8>().0.iter_mut().enumerate() {
            *c = (self.r(i) & mask).to_le_bytes();
        }
    }
}

/// The step counter `t` of RFC 3394 (1-based, `t = n*j + i`) for round `j`
/// (0..6) and semiblock `i` (0..4), as the word of its 8 big-endian bytes.
#[inline]
pub(crate) fn step_word(j: usize, i: usize) -> u64 {
    let t = (N * j + i + 1) as u64;
    u64::from_le_bytes(t.to_be_bytes())
}

/// All ones if `a == b`, else zero, with no branch on the values.
#[inline]
pub(crate) fn ct_eq_mask(a: u64, b: u64) -> u64 {
    let d = core::hint::black_box(a ^ b);
    ((d | d.wrapping_neg()) >> 63).wrapping_sub(1)
}

/// What a kernel does to a slice of states.
#[derive(Clone, Copy)]
pub(crate) enum Op<'a> {
    /// W under the KEK: a state goes from `IV, key` to the wrap.
    Wrap(&'a BatchKek),
    /// W⁻¹ under the KEK: a state goes from the wrap to `A, key`.
    Unwrap(&'a BatchKek),
    /// W⁻¹ under `from`, then W under `to` from `iv`: a state goes from one
    /// wrap to the other, and `check` receives the `A` the unwrap ended with.
    Rewrap {
        from: &'a BatchKek,
        to: &'a BatchKek,
        iv: u64,
    },
}
