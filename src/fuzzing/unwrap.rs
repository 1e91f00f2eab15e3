//! The `unwrap_*` targets: one wrap scheme, an arbitrary KEK, context and
//! wrapped bytes.
//!
//! Input layout ([`UnwrapInput`]; integers big-endian):
//!
//! | size | field |
//! |---:|---|
//! | 1 | KEK length K (any: lengths the scheme does not take must be refused) |
//! | K | KEK |
//! | 4 + 8 + 4 + 8 + 4 | context: tenant, key id, key version, KEK id, KEK version |
//! | 1 | context scheme byte (a byte that names no scheme means the target's own) |
//! | 1 + 1 | context share, layer |
//! | 2 | output buffer length |
//! | rest | the wrapped bytes |

use crate::crypto::scheme::{Kek, NONCE_LEN, SEMIBLOCK, SchemeId, TAG_LEN, WrapContext};
use crate::crypto::wire::Reader;
use crate::error::Error;

use super::{FILL, all_zero};

/// One decoded input of an `unwrap_*` target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnwrapInput {
    /// The KEK bytes (any length).
    pub kek: Vec<u8>,
    /// The context the unwrap is bound to.
    pub ctx: WrapContext,
    /// Length of the output buffer handed to the unwrap.
    pub out_len: u16,
    /// The wrapped bytes.
    pub wrapped: Vec<u8>,
}

impl UnwrapInput {
    /// Reads an input for a target of `scheme`; `None` when the bytes run out.
    pub fn parse(scheme: SchemeId, data: &[u8]) -> Option<UnwrapInput> {
        let mut r = Reader::new(data, "fuzz input");
        let kek_len = usize::from(r.u8().ok()?);
        let kek = r.take(kek_len).ok()?.to_vec();
        let tenant = r.u32().ok()?;
        let key_id = r.u64().ok()?;
        let key_version = r.u32().ok()?;
        let kek_id = r.u64().ok()?;
        let kek_version = r.u32().ok()?;
        let ctx_scheme = SchemeId::from_byte(r.u8().ok()?).unwrap_or(scheme);
        let share = r.u8().ok()?;
        let layer = r.u8().ok()?;
        let out_len = r.u16().ok()?;
        let wrapped = r.take(r.remaining()).ok()?.to_vec();
        let ctx = WrapContext {
            tenant,
            key_id,
            key_version,
            kek_id,
            kek_version,
            scheme: ctx_scheme,
            share,
            share_gen: 0,
            layer,
        };
        Some(UnwrapInput {
            kek,
            ctx,
            out_len,
            wrapped,
        })
    }

    /// The bytes [`UnwrapInput::parse`] reads back (a KEK longer than 255
    /// bytes is cut to 255).
    pub fn encode(&self) -> Vec<u8> {
        let kek = self.kek.get(..255).unwrap_or(&self.kek);
        let mut out = Vec::with_capacity(1 + kek.len() + 33 + self.wrapped.len());
        out.push(kek.len() as u8); // at most 255, cut above
        out.extend_from_slice(kek);
        let c = &self.ctx;
        out.extend_from_slice(&c.tenant.to_be_bytes());
        out.extend_from_slice(&c.key_id.to_be_bytes());
        out.extend_from_slice(&c.key_version.to_be_bytes());
        out.extend_from_slice(&c.kek_id.to_be_bytes());
        out.extend_from_slice(&c.kek_version.to_be_bytes());
        out.push(c.scheme as u8);
        out.push(c.share);
        out.push(c.layer);
        out.extend_from_slice(&self.out_len.to_be_bytes());
        out.extend_from_slice(&self.wrapped);
        out
    }
}

/// `kw` (RFC 3394): see the module table.
pub fn unwrap_kw(data: &[u8]) {
    unwrap_target(SchemeId::Kw, data);
}

/// `kwp` (RFC 5649): see the module table.
pub fn unwrap_kwp(data: &[u8]) {
    unwrap_target(SchemeId::Kwp, data);
}

/// `gcm`: see the module table.
pub fn unwrap_gcm(data: &[u8]) {
    unwrap_target(SchemeId::Gcm, data);
}

/// `gcm-siv`: see the module table.
pub fn unwrap_gcm_siv(data: &[u8]) {
    unwrap_target(SchemeId::GcmSiv, data);
}

/// KEK lengths each scheme takes (RFC 8452 defines no 192-bit GCM-SIV).
fn takes_kek_len(scheme: SchemeId, len: usize) -> bool {
    match scheme {
        SchemeId::GcmSiv => matches!(len, 16 | 32),
        SchemeId::Kw | SchemeId::Kwp | SchemeId::Gcm => matches!(len, 16 | 24 | 32),
    }
}

/// Key-data length a wrap of `len` bytes holds, if the length is possible at all
/// (what `OutputTooSmall` must name as needed).
fn plausible_key_len(scheme: SchemeId, len: usize) -> Option<usize> {
    scheme.check_wrapped_len(len).ok()
}

fn unwrap_target(scheme: SchemeId, data: &[u8]) {
    let Some(input) = UnwrapInput::parse(scheme, data) else {
        return;
    };
    let name = scheme.name();
    let kek = match Kek::new(scheme, &input.kek) {
        Ok(kek) => {
            assert!(
                takes_kek_len(scheme, input.kek.len()),
                "{name}: accepted a KEK of {} bytes",
                input.kek.len()
            );
            kek
        }
        Err(e) => {
            assert!(
                !takes_kek_len(scheme, input.kek.len()),
                "{name}: refused a KEK of {} bytes: {e}",
                input.kek.len()
            );
            assert_eq!(
                e,
                Error::KekLength {
                    scheme: name,
                    len: input.kek.len()
                },
                "{name}: wrong error for a bad KEK length"
            );
            return;
        }
    };
    let mut out = vec![FILL; usize::from(input.out_len)];
    match kek.unwrap(&input.wrapped, &input.ctx, &mut out) {
        Err(e) => {
            assert!(
                all_zero(&out),
                "{name}: a failed unwrap ({e}) left bytes in the output buffer"
            );
            match e {
                Error::UnwrapFailed => {}
                Error::OutputTooSmall { needed, got } => {
                    assert_eq!(
                        got,
                        out.len(),
                        "{name}: OutputTooSmall names the wrong buffer length"
                    );
                    assert!(
                        needed > got,
                        "{name}: OutputTooSmall for a buffer that was large enough"
                    );
                    assert_eq!(
                        Some(needed),
                        plausible_key_len(scheme, input.wrapped.len()),
                        "{name}: OutputTooSmall for a wrap of impossible length, or naming the wrong size"
                    );
                }
                other => panic!("{name}: unwrap failed with an unexpected error: {other:?}"),
            }
        }
        Ok(n) => check_genuine(scheme, &kek, &input, &out, n),
    }
}

/// An unwrap succeeded: the wrap must be exactly what wrapping the result
/// again gives, and (under the AEAD schemes) bound to the whole context.
fn check_genuine(scheme: SchemeId, kek: &Kek, input: &UnwrapInput, out: &[u8], n: usize) {
    let name = scheme.name();
    let wrapped = &input.wrapped;
    let Some(key) = out.get(..n) else {
        panic!(
            "{name}: unwrap reported {n} bytes into a buffer of {}",
            out.len()
        );
    };
    assert_eq!(
        input.ctx.scheme, scheme,
        "{name}: opened a wrap under a context naming another scheme"
    );
    let len = wrapped.len();
    let length_ok = match scheme {
        SchemeId::Kw => n + SEMIBLOCK == len,
        // RFC 5649: the key fills the last semiblock partly, padded with zeros.
        SchemeId::Kwp => n >= 1 && n + SEMIBLOCK <= len && n + 2 * SEMIBLOCK > len,
        SchemeId::Gcm | SchemeId::GcmSiv => n + NONCE_LEN + TAG_LEN == len,
    };
    assert!(
        length_ok,
        "{name}: opened {n} bytes of key from a wrap of {len} bytes"
    );
    if scheme == SchemeId::Kwp {
        let pad_end = out.len().min(len - SEMIBLOCK);
        let pad = out.get(n..pad_end).unwrap_or_default();
        assert!(
            all_zero(pad),
            "{name}: padding bytes after the key left in the output"
        );
    }
    // The nonce the wrap carries (the AEAD schemes); KW and KWP take none.
    let nonce: [u8; NONCE_LEN] = match scheme {
        SchemeId::Gcm | SchemeId::GcmSiv => wrapped
            .get(..NONCE_LEN)
            .and_then(|b| b.try_into().ok())
            .unwrap_or([0; NONCE_LEN]),
        SchemeId::Kw | SchemeId::Kwp => [0; NONCE_LEN],
    };
    let mut again = vec![0u8; len];
    let res = kek.wrap(key, &input.ctx, &nonce, &mut again);
    assert_eq!(
        res,
        Ok(len),
        "{name}: the key an unwrap gave cannot be wrapped again to the same length"
    );
    assert!(
        again == *wrapped,
        "{name}: wrapping the unwrapped key again gives other bytes: the unwrap accepted a wrap it did not make"
    );
    if scheme.binds_context() {
        for (field, ctx) in one_field_changed(&input.ctx) {
            let mut other = vec![FILL; out.len()];
            let res = kek.unwrap(wrapped, &ctx, &mut other);
            assert_eq!(
                res,
                Err(Error::UnwrapFailed),
                "{name}: the wrap also opens under a context with another {field}"
            );
            assert!(
                all_zero(&other),
                "{name}: a failed unwrap under another {field} left bytes in the output"
            );
        }
    }
}

/// The context with exactly one field changed, for each field.
fn one_field_changed(c: &WrapContext) -> [(&'static str, WrapContext); 9] {
    let other_scheme = match c.scheme {
        SchemeId::Gcm => SchemeId::GcmSiv,
        _ => SchemeId::Gcm,
    };
    [
        (
            "tenant",
            WrapContext {
                tenant: c.tenant ^ 1,
                ..*c
            },
        ),
        (
            "key id",
            WrapContext {
                key_id: c.key_id ^ 1,
                ..*c
            },
        ),
        (
            "key version",
            WrapContext {
                key_version: c.key_version.wrapping_add(1),
                ..*c
            },
        ),
        (
            "KEK id",
            WrapContext {
                kek_id: c.kek_id ^ (1 << 63),
                ..*c
            },
        ),
        (
            "KEK version",
            WrapContext {
                kek_version: c.kek_version.wrapping_sub(1),
                ..*c
            },
        ),
        (
            "scheme",
            WrapContext {
                scheme: other_scheme,
                ..*c
            },
        ),
        (
            "share",
            WrapContext {
                share: c.share ^ 0x80,
                ..*c
            },
        ),
        (
            "layer",
            WrapContext {
                layer: c.layer.wrapping_add(1),
                ..*c
            },
        ),
        (
            "share generation",
            WrapContext {
                share_gen: c.share_gen ^ 1,
                ..*c
            },
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_round_trips() {
        let input = UnwrapInput {
            kek: vec![7; 24],
            ctx: WrapContext {
                tenant: 3,
                key_id: 9,
                key_version: 1,
                kek_id: 2,
                kek_version: 1,
                scheme: SchemeId::Kwp,
                share: 0,
                share_gen: 0,
                layer: 0,
            },
            out_len: 40,
            wrapped: vec![1, 2, 3],
        };
        assert_eq!(
            UnwrapInput::parse(SchemeId::Kw, &input.encode()),
            Some(input)
        );
        assert_eq!(UnwrapInput::parse(SchemeId::Kw, &[]), None);
    }

    #[test]
    fn a_real_wrap_passes_every_check() {
        for scheme in SchemeId::ALL {
            let kek_bytes = [0x42u8; 32];
            let kek = Kek::new(scheme, &kek_bytes).unwrap();
            let ctx = WrapContext {
                tenant: 1,
                key_id: 5,
                key_version: 2,
                kek_id: 1,
                kek_version: 1,
                scheme,
                share: 0,
                share_gen: 0,
                layer: 0,
            };
            let mut w = [0u8; 64];
            let len = kek.wrap(&[9u8; 32], &ctx, &[3; NONCE_LEN], &mut w).unwrap();
            let input = UnwrapInput {
                kek: kek_bytes.to_vec(),
                ctx,
                out_len: 64,
                wrapped: w[..len].to_vec(),
            };
            // Runs check_genuine, including the one-field-changed refusals.
            unwrap_target(scheme, &input.encode());
        }
    }
}
