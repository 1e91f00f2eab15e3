//! The side-by-side baseline: a run's primitive done by `aes-kw` one key at a
//! time, on one thread, to set the batched engine's rate beside. It measures
//! only its own loop and never touches a hierarchy.

use std::time::Instant;

use crate::crypto::scheme::SchemeId;

use super::rows::Primitive;

/// Keys per second of an `aes-kw` loop doing `primitive` one key at a time on
/// this thread (median of five runs of 20,000 keys); `None` for schemes other
/// than kw and kwp.
pub fn aes_kw_loop_rate(scheme: SchemeId, primitive: Primitive) -> Option<f64> {
    use aes_kw::{KeyInit, KwAes256, KwpAes256};
    let a = [7u8; 32];
    let b = [9u8; 32];
    let n = 20_000usize;
    let mut times = Vec::new();
    for _ in 0..5 {
        let mut key = [1u8; 32];
        let mut w = [0u8; 40];
        let start = Instant::now();
        // The same loop for either wrapper type (aes-kw's KW and KWP share method names, not a trait).
        macro_rules! one_at_a_time {
            ($kek:ty) => {{
                let (ka, kb) = (<$kek>::new(&a.into()), <$kek>::new(&b.into()));
                ka.wrap_key(&key, &mut w).ok()?;
                for i in 0..n {
                    // a rewrap moves the key from one KEK to the other; alternate directions
                    let (from, to) = if i % 2 == 0 { (&ka, &kb) } else { (&kb, &ka) };
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
            }};
        }
        match scheme {
            SchemeId::Kw => one_at_a_time!(KwAes256),
            SchemeId::Kwp => one_at_a_time!(KwpAes256),
            _ => return None,
        }
        times.push(start.elapsed().as_secs_f64());
    }
    crate::stats::median(&times).map(|t| n as f64 / t)
}
