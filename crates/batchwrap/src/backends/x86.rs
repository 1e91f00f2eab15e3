//! What the x86_64 backends share: the AES-256 round keys (expanded with
//! AES-NI once per KEK), [`Op`] with those keys, 16-byte moves between states
//! and registers, and the RFC 3394 step loops over any register width
//! (`kernels!`, invoked by `aesni`, `vaes256` and `vaes512` with their own
//! register type and helpers).

use core::arch::x86_64::*;

use zeroize::Zeroize;

use crate::state;

/// AES-256 round keys as `[lo, hi]` words: encryption, and decryption in
/// the order of the equivalent inverse cipher (`aesdec`).
#[derive(Zeroize)]
pub(crate) struct RoundKeys {
    pub(super) enc: [[u64; 2]; 15],
    pub(super) dec: [[u64; 2]; 15],
}

impl RoundKeys {
    /// Expands `kek` with AES-NI; `None` on a CPU without it.
    pub(crate) fn new(kek: &[u8; 32]) -> Option<Self> {
        if !(std::arch::is_x86_feature_detected!("aes")
            && std::arch::is_x86_feature_detected!("sse4.1"))
        {
            return None;
        }
        // SAFETY: the two features `expand` is compiled for were detected just above.
        Some(unsafe { expand(kek) })
    }
}

/// [`state::Op`] with the round keys the kernels need.
#[derive(Clone, Copy)]
pub(super) enum Op<'a> {
    Wrap(&'a [[u64; 2]; 15]),
    Unwrap(&'a [[u64; 2]; 15]),
    Rewrap {
        from: &'a [[u64; 2]; 15],
        to: &'a [[u64; 2]; 15],
        iv: u64,
    },
}

impl<'a> Op<'a> {
    /// `None` if a KEK has no x86 round keys (a CPU without AES-NI).
    pub(super) fn of(op: state::Op<'a>) -> Option<Self> {
        Some(match op {
            state::Op::Wrap(k) => Op::Wrap(&k.x86.as_ref()?.enc),
            state::Op::Unwrap(k) => Op::Unwrap(&k.x86.as_ref()?.dec),
            state::Op::Rewrap { from, to, iv } => Op::Rewrap {
                from: &from.x86.as_ref()?.dec,
                to: &to.x86.as_ref()?.enc,
                iv,
            },
        })
    }
}

#[inline]
pub(super) fn load128(lane: &u128) -> __m128i {
    // SAFETY: `lane` is 16 readable bytes; the unaligned load needs no alignment.
    unsafe { _mm_loadu_si128((lane as *const u128).cast()) }
}

#[inline]
pub(super) fn store128(v: __m128i, lane: &mut u128) {
    // SAFETY: `lane` is 16 writable bytes; the unaligned store needs no alignment.
    unsafe { _mm_storeu_si128((lane as *mut u128).cast(), v) }
}

#[target_feature(enable = "aes,sse4.1")]
fn words(v: __m128i) -> [u64; 2] {
    [
        _mm_cvtsi128_si64(v) as u64,
        _mm_extract_epi64::<1>(v) as u64,
    ]
}

#[target_feature(enable = "aes,sse4.1")]
fn from_words(w: [u64; 2]) -> __m128i {
    _mm_set_epi64x(w[1] as i64, w[0] as i64)
}

/// `x ^ x<<32 ^ x<<64 ^ x<<96`: the running XOR of the key schedule.
#[target_feature(enable = "aes,sse4.1")]
fn spread(x: __m128i) -> __m128i {
    let x = _mm_xor_si128(x, _mm_slli_si128::<4>(x));
    _mm_xor_si128(x, _mm_slli_si128::<8>(x))
}

#[target_feature(enable = "aes,sse4.1")]
fn even_round<const RCON: i32>(prev2: __m128i, prev: __m128i) -> __m128i {
    let t = _mm_shuffle_epi32::<0xff>(_mm_aeskeygenassist_si128::<RCON>(prev));
    _mm_xor_si128(spread(prev2), t)
}

#[target_feature(enable = "aes,sse4.1")]
fn odd_round(prev2: __m128i, prev: __m128i) -> __m128i {
    let t = _mm_shuffle_epi32::<0xaa>(_mm_aeskeygenassist_si128::<0>(prev));
    _mm_xor_si128(spread(prev2), t)
}

/// FIPS 197 §5.2 key expansion for AES-256.
#[target_feature(enable = "aes,sse4.1")]
fn expand(kek: &[u8; 32]) -> RoundKeys {
    let mut w = [0u64; 4];
    for (w, c) in w.iter_mut().zip(kek.as_chunks::<8>().0) {
        *w = u64::from_le_bytes(*c);
    }
    let mut rk = [_mm_setzero_si128(); 15];
    rk[0] = from_words([w[0], w[1]]);
    rk[1] = from_words([w[2], w[3]]);
    rk[2] = even_round::<0x01>(rk[0], rk[1]);
    rk[3] = odd_round(rk[1], rk[2]);
    rk[4] = even_round::<0x02>(rk[2], rk[3]);
    rk[5] = odd_round(rk[3], rk[4]);
    rk[6] = even_round::<0x04>(rk[4], rk[5]);
    rk[7] = odd_round(rk[5], rk[6]);
    rk[8] = even_round::<0x08>(rk[6], rk[7]);
    rk[9] = odd_round(rk[7], rk[8]);
    rk[10] = even_round::<0x10>(rk[8], rk[9]);
    rk[11] = odd_round(rk[9], rk[10]);
    rk[12] = even_round::<0x20>(rk[10], rk[11]);
    rk[13] = odd_round(rk[11], rk[12]);
    rk[14] = even_round::<0x40>(rk[12], rk[13]);
    let mut keys = RoundKeys {
        enc: [[0; 2]; 15],
        dec: [[0; 2]; 15],
    };
    for (r, k) in rk.iter().enumerate() {
        keys.enc[r] = words(*k);
        keys.dec[14 - r] = if r == 0 || r == 14 {
            words(*k)
        } else {
            words(_mm_aesimc_si128(*k))
        };
    }
    w.zeroize();
    rk.zeroize();
    keys
}

/// The W and W⁻¹ loops of RFC 3394 for 32-byte keys, over any register
/// width. The invoking module provides `V` (the register), `W` (keys per
/// register), `detected()`, and `#[inline]` helpers compiled for `$feat`:
/// `zero`, `splat` (a 128-bit value in every lane), `from_lanes`,
/// `to_lanes`, `load`, `store`, `blend_hi` (low 64 bits of each lane from
/// the first argument, high from the second), `xor`, `enc`, `enc_last`,
/// `dec`, `dec_last`.
///
/// Per register the state is `cur`, the last AES output (its low halves are
/// `A`), and `slot[i]`, whose high halves are `R[i]`; a step's input is
/// `blend_hi(cur, slot[i])`. The step counter `t` is folded into the last
/// round key when wrapping and into the first when unwrapping, so a step
/// costs the 15 AES instructions and one blend, and `cur` stays in a
/// register from step to step.
macro_rules! kernels {
    ($feat:literal, $p_max:literal) => {
        /// Registers in flight per group (`P_MAX * W` keys), chosen by measurement.
        const P_MAX: usize = $p_max;

        // `load` and `store` move exactly one register.
        const _: () = assert!(core::mem::size_of::<V>() == 16 * W);

        /// Runs `op` on every state if this CPU has the kernels' features.
        pub(in crate::backends) fn run<H: crate::hints::Hints>(
            op: Op<'_>,
            states: &mut [KeyState],
            ahead: &mut H,
        ) -> bool {
            if !detected() {
                return false;
            }
            // SAFETY: `detected()` just confirmed every target feature `run_detected` is compiled for.
            unsafe { run_detected(op, states, ahead) };
            true
        }

        /// AES-256-encrypts independent blocks (ECB) if this CPU has the
        /// kernels' features: the throughput ceiling of this width.
        pub(in crate::backends) fn encrypt_blocks(
            keys: &RoundKeys,
            blocks: &mut [[u8; 16]],
        ) -> bool {
            if !detected() {
                return false;
            }
            // SAFETY: `detected()` just confirmed every target feature `ecb_detected` is compiled for.
            unsafe { ecb_detected(&keys.enc, blocks) };
            true
        }

        #[target_feature(enable = $feat)]
        fn run_detected<H: crate::hints::Hints>(
            op: Op<'_>,
            states: &mut [KeyState],
            ahead: &mut H,
        ) {
            for group in states.chunks_mut(P_MAX * W) {
                match group.len().div_ceil(W) {
                    1 => run_group::<1, H>(op, group, ahead),
                    2 => run_group::<2, H>(op, group, ahead),
                    3..=4 => run_group::<4, H>(op, group, ahead),
                    _ => run_group::<P_MAX, H>(op, group, ahead),
                }
            }
        }

        /// `op` on up to `P * W` states.
        #[target_feature(enable = $feat)]
        fn run_group<const P: usize, H: crate::hints::Hints>(
            op: Op<'_>,
            group: &mut [KeyState],
            ahead: &mut H,
        ) {
            let mut cur = [zero(); P];
            let mut slot = [[zero(); N]; P];
            gather(group, &mut cur, &mut slot);
            match op {
                Op::Wrap(keys) => wrap_steps(keys, &mut cur, &mut slot, ahead),
                Op::Unwrap(keys) => unwrap_steps(keys, &mut cur, &mut slot, ahead),
                Op::Rewrap { from, to, iv } => {
                    unwrap_steps(from, &mut cur, &mut slot, ahead);
                    for (p, cur) in cur.iter().enumerate() {
                        let lanes = to_lanes(*cur);
                        for (s, lane) in group.iter_mut().skip(p * W).take(W).zip(lanes) {
                            s.check = _mm_cvtsi128_si64(lane) as u64;
                        }
                    }
                    let start = splat([iv, 0]);
                    cur.fill(start);
                    wrap_steps(to, &mut cur, &mut slot, ahead);
                }
            }
            scatter(group, &cur, &slot);
            cur.zeroize();
            slot.zeroize();
        }

        /// Loads up to `P * W` states (missing lanes are zero): lane `l` of
        /// `slot[p][i]` is `lanes[i]` of state `p * W + l`, whose high half is
        /// `R[i + 1]`; `cur` starts as `slot[0]`, whose low half is `A`.
        /// (`lanes` is not zeroized: that would force it from registers onto
        /// the stack; the key material lives on in `slot`, zeroized by
        /// `run_group`.)
        #[inline]
        #[target_feature(enable = $feat)]
        fn gather<const P: usize>(group: &[KeyState], cur: &mut [V; P], slot: &mut [[V; N]; P]) {
            for (p, (cur, slot)) in cur.iter_mut().zip(slot.iter_mut()).enumerate() {
                let mut lanes = [[_mm_setzero_si128(); W]; N];
                for (l, s) in group.iter().skip(p * W).take(W).enumerate() {
                    for (lanes, lane) in lanes.iter_mut().zip(&s.lanes) {
                        lanes[l] = load128(lane);
                    }
                }
                for (slot, lanes) in slot.iter_mut().zip(&lanes) {
                    *slot = from_lanes(*lanes);
                }
                *cur = slot[0];
            }
        }

        /// Stores `A` (low halves of `cur`) and `R[i + 1]` (high halves of
        /// `slot[i]`) back into the states they came from.
        #[inline]
        #[target_feature(enable = $feat)]
        fn scatter<const P: usize>(group: &mut [KeyState], cur: &[V; P], slot: &[[V; N]; P]) {
            for (p, (cur, slot)) in cur.iter().zip(slot.iter()).enumerate() {
                let mut lanes = [[_mm_setzero_si128(); W]; N];
                for (lanes, slot) in lanes.iter_mut().zip(slot) {
                    *lanes = to_lanes(*slot);
                }
                lanes[0] = to_lanes(blend_hi(*cur, slot[0]));
                for (l, s) in group.iter_mut().skip(p * W).take(W).enumerate() {
                    for (lane, lanes) in s.lanes.iter_mut().zip(&lanes) {
                        store128(lanes[l], lane);
                    }
                }
            }
        }

        /// W: step `(j, i)` encrypts `A | R[i]`.
        #[inline]
        #[target_feature(enable = $feat)]
        fn wrap_steps<const P: usize, H: crate::hints::Hints>(
            keys: &[[u64; 2]; 15],
            cur: &mut [V; P],
            slot: &mut [[V; N]; P],
            ahead: &mut H,
        ) {
            let mut rk = [zero(); 15];
            for (rk, k) in rk.iter_mut().zip(keys) {
                *rk = splat(*k);
            }
            for j in 0..6 {
                ahead.step();
                for i in 0..N {
                    // The last round key XOR t: the AES output is then
                    // already (MSB64(B) ^ t) | LSB64(B) = A | R[i].
                    let last = xor(rk[14], splat([step_word(j, i), 0]));
                    for (x, slot) in cur.iter_mut().zip(slot.iter()) {
                        *x = xor(blend_hi(*x, slot[i]), rk[0]);
                    }
                    for k in &rk[1..14] {
                        for x in cur.iter_mut() {
                            *x = enc(*x, *k);
                        }
                    }
                    for (x, slot) in cur.iter_mut().zip(slot.iter_mut()) {
                        *x = enc_last(*x, last);
                        slot[i] = *x;
                    }
                }
            }
            rk.zeroize();
        }

        /// W⁻¹: step `(j, i)` decrypts `(A ^ t) | R[i]`.
        #[inline]
        #[target_feature(enable = $feat)]
        fn unwrap_steps<const P: usize, H: crate::hints::Hints>(
            keys: &[[u64; 2]; 15],
            cur: &mut [V; P],
            slot: &mut [[V; N]; P],
            ahead: &mut H,
        ) {
            let mut rk = [zero(); 15];
            for (rk, k) in rk.iter_mut().zip(keys) {
                *rk = splat(*k);
            }
            for j in (0..6).rev() {
                ahead.step();
                for i in (0..N).rev() {
                    // The first round key XOR t: AES⁻¹ of (A ^ t) | R[i].
                    let first = xor(rk[0], splat([step_word(j, i), 0]));
                    for (x, slot) in cur.iter_mut().zip(slot.iter()) {
                        *x = xor(blend_hi(*x, slot[i]), first);
                    }
                    for k in &rk[1..14] {
                        for x in cur.iter_mut() {
                            *x = dec(*x, *k);
                        }
                    }
                    for (x, slot) in cur.iter_mut().zip(slot.iter_mut()) {
                        *x = dec_last(*x, rk[14]);
                        slot[i] = *x;
                    }
                }
            }
            rk.zeroize();
        }

        #[target_feature(enable = $feat)]
        fn ecb_detected(keys: &[[u64; 2]; 15], blocks: &mut [[u8; 16]]) {
            let mut rk = [zero(); 15];
            for (rk, k) in rk.iter_mut().zip(keys) {
                *rk = splat(*k);
            }
            let (regs, tail) = blocks.as_chunks_mut::<W>();
            let (groups, rest) = regs.as_chunks_mut::<P_MAX>();
            for group in groups {
                ecb_regs(&rk, group);
            }
            for reg in rest {
                ecb_regs(&rk, core::array::from_mut(reg));
            }
            if !tail.is_empty() {
                let mut reg = [[0u8; 16]; W];
                for (d, s) in reg.iter_mut().zip(tail.iter()) {
                    *d = *s;
                }
                ecb_regs(&rk, core::array::from_mut(&mut reg));
                for (d, s) in tail.iter_mut().zip(reg.iter()) {
                    *d = *s;
                }
            }
            rk.zeroize();
        }

        #[inline]
        #[target_feature(enable = $feat)]
        fn ecb_regs<const P: usize>(rk: &[V; 15], regs: &mut [[[u8; 16]; W]; P]) {
            let mut x = [zero(); P];
            for (x, r) in x.iter_mut().zip(regs.iter()) {
                *x = xor(load(r), rk[0]);
            }
            for k in &rk[1..14] {
                for x in x.iter_mut() {
                    *x = enc(*x, *k);
                }
            }
            for (x, r) in x.iter().zip(regs.iter_mut()) {
                store(enc_last(*x, rk[14]), r);
            }
        }
    };
}

pub(super) use kernels;
