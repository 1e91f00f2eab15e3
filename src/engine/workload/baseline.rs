//! The side-by-side baseline: a run's primitive done by `aes-kw` one key at a
//! time, on one thread, to set the batched engine's rate beside. It measures
//! only its own loop and never touches a hierarchy.

use std::time::Instant;

use crate::crypto::scheme::SchemeId;

use super::rows::Primitive;

/// Keys per second of an `aes-kw` loop doing `primitive` one key at a time on
/// this thread (median of five runs of 20,000 keys); `None` for schemes other
/// than kw and kwp. With `keys_per_kek`, the loop builds its KEKs anew (both
/// key schedules) every that many keys, as a run that moves so few keys under
/// each KEK must; without, it builds them once.
pub fn aes_kw_loop_rate(
    scheme: SchemeId,
    primitive: Primitive,
    keys_per_kek: Option<f64>,
) -> Option<f64> {
    use aes_kw::{KeyInit, KwAes256, KwpAes256};
    let n = 20_000usize;
    // the KEK pair in use at key `i`: a new pair every `per` keys
    let per = keys_per_kek.filter(|k| k.is_finite() && *k >= 1.0);
    let epoch = |i: usize| per.map_or(0, |k| (i as f64 / k) as u64);
    let kek = |epoch: u64, which: u8| {
        let mut k = [which; 32];
        k[..8].copy_from_slice(&epoch.to_le_bytes());
        core::hint::black_box(k)
    };
    let mut times = Vec::new();
    for _ in 0..5 {
        let mut key = [1u8; 32];
        // The same loop for either wrapper type (aes-kw's KW and KWP share method names, not a trait).
        macro_rules! one_at_a_time {
            ($kek:ty) => {{
                let pair = |e: u64| {
                    (
                        <$kek>::new(&kek(e, 7).into()),
                        <$kek>::new(&kek(e, 9).into()),
                    )
                };
                // the key wrapped under each pair's first KEK, made before the clock starts
                let epochs = epoch(n.saturating_sub(1)) + 1;
                let mut first = Vec::with_capacity(epochs as usize);
                for e in 0..epochs {
                    let mut we = [0u8; 40];
                    pair(e).0.wrap_key(&key, &mut we).ok()?;
                    first.push(we);
                }
                let start = Instant::now();
                let (mut at, (mut ka, mut kb)) = (0, pair(0));
                let mut w = first[0];
                let mut forth = true;
                for i in 0..n {
                    if epoch(i) != at {
                        // the next pair of KEKs: both key schedules, as the run builds them
                        at = epoch(i);
                        (ka, kb) = pair(at);
                        w = first[at as usize];
                        forth = true;
                    }
                    // a rewrap moves the key from one KEK to the other; alternate directions
                    let (from, to) = if forth { (&ka, &kb) } else { (&kb, &ka) };
                    forth = !forth;
                    match primitive {
                        Primitive::Wrap => {
                            let _ = ka.wrap_key(core::hint::black_box(&key), &mut w).ok()?;
                        }
                        Primitive::Unwrap => {
                            let _ = ka.unwrap_key(core::hint::black_box(&w), &mut key).ok()?;
                        }
                        Primitive::Rewrap => {
                            from.unwrap_key(core::hint::black_box(&w), &mut key).ok()?;
                            to.wrap_key(&key, &mut w).ok()?;
                        }
                    }
                }
                times.push(start.elapsed().as_secs_f64());
            }};
        }
        match scheme {
            SchemeId::Kw => one_at_a_time!(KwAes256),
            SchemeId::Kwp => one_at_a_time!(KwpAes256),
            _ => return None,
        }
    }
    crate::stats::median(&times).map(|t| n as f64 / t)
}
