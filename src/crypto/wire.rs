//! Wire format of one stored wrap.
//!
//! A stored wrap is self-describing: it names the scheme, the wrapped key and
//! every wrapping key (more than one for a nested slot, innermost first), the
//! share it holds, and carries the payload. The decoder is strict: exact
//! lengths, no trailing bytes, unknown versions and schemes rejected, every
//! failure a typed [`Error`].
//!
//! | offset | size | field | rule |
//! |---:|---:|---|---|
//! | 0 | 4 | magic | `4B 48 57 52` (`"KHWR"`) |
//! | 4 | 1 | format version | `02` |
//! | 5 | 1 | scheme | `01` kw, `02` kwp, `03` gcm, `04` gcm-siv |
//! | 6 | 1 | share | `00`: the whole key; `01`..`FF`: share with that x-coordinate |
//! | 7 | 1 | layers L | `01`..`04`: wrapping keys, innermost first |
//! | 8 | 4 | tenant | u32 BE; `FFFFFFFF` for a global key |
//! | 12 | 8 | key id | u64 BE |
//! | 20 | 4 | key version | u32 BE |
//! | 24 | 4 | share generation | u32 BE: which polynomial a share is of (0 for a whole key) |
//! | 28 | 12·L | wrapping keys | per layer: KEK id u64 BE, KEK version u32 BE |
//! | 28+12·L | 2 | payload length P | u16 BE; must be a length the scheme can produce |
//! | 30+12·L | P | payload | the outermost layer's wrap (gcm/gcm-siv: nonce ‖ ciphertext ‖ tag) |
//!
//! Total: 30 + 12·L + P bytes. Version 2 added the share generation (a
//! re-share of the same key version draws a new polynomial; the generation
//! names it, and is bound into the AEAD context); version 1 is refused.
//! A nested wrap applies the scheme L times: layer
//! 0 wraps the key under the first KEK, layer i wraps layer i−1's output under
//! KEK i, each bound (for gcm/gcm-siv) to a [`WrapContext`] whose `layer` is i.
//!
//! ## Worked example
//!
//! Key 7 (version 1) of tenant 3, wrapped with `kw` under key 2 (version 1),
//! the RFC 3394 §4.6 example payload (a 256-bit key under a 256-bit KEK):
//!
//! ```text
//! 4b485752 02 01 00 01          magic, version 2, kw, whole key, 1 layer
//! 00000003                      tenant 3
//! 0000000000000007 00000001     key 7, version 1
//! 00000000                      share generation 0 (a whole key)
//! 0000000000000002 00000001     wrapped under key 2, version 1
//! 0028                          payload: 40 bytes
//! 28c9f404c4b810f4cbccb35cfb87f8263f5786e2d80ed326cbc7f0e71a99f43bfb988b9b7a02dd21
//! ```
//!
//! The test `worked_example_matches_docs` encodes this value and compares it
//! byte for byte with the hex above.

use crate::crypto::scheme::{SchemeId, WrapContext};
use crate::error::{Error, Result};

/// `"KHWR"`.
pub const MAGIC: [u8; 4] = *b"KHWR";
/// The only format version this build writes and reads.
pub const VERSION: u8 = 2;
/// Most wrapping keys a nested slot may have.
pub const MAX_LAYERS: usize = 4;
/// Bytes before the first layer.
pub const FIXED_HEADER: usize = 28;
/// Bytes per layer.
pub const LAYER_LEN: usize = 12;

/// A key reference: id and version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeyRef {
    /// The key's id.
    pub id: u64,
    /// The key's version.
    pub version: u32,
}

/// One stored wrap, decoded. Holds no secret: the payload is ciphertext.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredWrap {
    /// The scheme.
    pub scheme: SchemeId,
    /// Share x-coordinate, or 0 for the whole key.
    pub share: u8,
    /// Tenant of the wrapped key.
    pub tenant: u32,
    /// The wrapped key.
    pub key: KeyRef,
    /// Share generation (0 for a whole key).
    pub share_gen: u32,
    /// Wrapping keys, innermost first (1 to [`MAX_LAYERS`]).
    pub keks: Vec<KeyRef>,
    /// The outermost layer's output.
    pub payload: Vec<u8>,
}

impl StoredWrap {
    /// The context of layer `layer` (must be < `keks.len()`).
    pub fn context(&self, layer: usize) -> Option<WrapContext> {
        let kek = self.keks.get(layer)?;
        Some(WrapContext {
            tenant: self.tenant,
            key_id: self.key.id,
            key_version: self.key.version,
            kek_id: kek.id,
            kek_version: kek.version,
            scheme: self.scheme,
            share: self.share,
            share_gen: self.share_gen,
            layer: u8::try_from(layer).ok()?,
        })
    }

    /// Encoded length.
    pub fn encoded_len(&self) -> usize {
        encoded_len(self.keks.len(), self.payload.len())
    }

    /// Appends the encoding to `out`. Fails if the value breaks a rule the
    /// decoder enforces (so whatever encodes, decodes).
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<()> {
        encode_parts(
            self.scheme,
            self.share,
            self.tenant,
            self.key,
            self.share_gen,
            &self.keks,
            &self.payload,
            out,
        )
    }

    /// The encoding as a new vector.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode_into(&mut out)?;
        Ok(out)
    }

    /// Strict decoding of exactly one stored wrap.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let (wrap, used) = Self::decode_prefix(bytes)?;
        if used != bytes.len() {
            return Err(Error::TrailingBytes {
                what: "stored wrap",
                extra: bytes.len() - used,
            });
        }
        Ok(wrap)
    }

    /// Decodes one stored wrap at the start of `bytes`; returns it and the
    /// number of bytes it took (for readers of concatenated wraps).
    pub fn decode_prefix(bytes: &[u8]) -> Result<(Self, usize)> {
        let mut r = Reader::new(bytes, "stored wrap");
        if r.take(4)? != MAGIC {
            return Err(Error::BadMagic {
                what: "stored wrap",
            });
        }
        let version = r.u8()?;
        if version != VERSION {
            return Err(Error::UnsupportedVersion {
                what: "stored wrap",
                version: version.into(),
            });
        }
        let scheme = SchemeId::from_byte(r.u8()?)?;
        let share = r.u8()?;
        let layers = usize::from(r.u8()?);
        if layers == 0 || layers > MAX_LAYERS {
            return Err(Error::invalid(
                "stored wrap layers",
                format!("{layers} (expected 1 to {MAX_LAYERS})"),
            ));
        }
        let tenant = r.u32()?;
        let key = KeyRef {
            id: r.u64()?,
            version: r.u32()?,
        };
        let share_gen = r.u32()?;
        let mut keks = Vec::with_capacity(layers);
        for _ in 0..layers {
            keks.push(KeyRef {
                id: r.u64()?,
                version: r.u32()?,
            });
        }
        let payload_len = usize::from(r.u16()?);
        scheme.check_wrapped_len(payload_len)?;
        let payload = r.take(payload_len)?.to_vec();
        Ok((
            StoredWrap {
                scheme,
                share,
                tenant,
                key,
                share_gen,
                keks,
                payload,
            },
            r.pos,
        ))
    }
}

/// Encoded length of a wrap with `layers` KEKs and a payload of `payload_len` bytes.
pub fn encoded_len(layers: usize, payload_len: usize) -> usize {
    FIXED_HEADER + LAYER_LEN * layers + 2 + payload_len
}

/// Encodes from parts without building a [`StoredWrap`] (the hot path of file writers).
#[allow(clippy::too_many_arguments)] // the record's fields, in their order
pub fn encode_parts(
    scheme: SchemeId,
    share: u8,
    tenant: u32,
    key: KeyRef,
    share_gen: u32,
    keks: &[KeyRef],
    payload: &[u8],
    out: &mut Vec<u8>,
) -> Result<()> {
    if keks.is_empty() || keks.len() > MAX_LAYERS {
        return Err(Error::invalid(
            "stored wrap layers",
            format!("{} (expected 1 to {MAX_LAYERS})", keks.len()),
        ));
    }
    scheme.check_wrapped_len(payload.len())?;
    let payload_len = u16::try_from(payload.len()).map_err(|_| {
        Error::invalid(
            "stored wrap payload",
            format!("{} bytes exceeds 65535", payload.len()),
        )
    })?;
    out.reserve(encoded_len(keks.len(), payload.len()));
    out.extend_from_slice(&MAGIC);
    out.push(VERSION);
    out.push(scheme as u8);
    out.push(share);
    out.push(keks.len() as u8); // ≤ MAX_LAYERS, checked above
    out.extend_from_slice(&tenant.to_be_bytes());
    out.extend_from_slice(&key.id.to_be_bytes());
    out.extend_from_slice(&key.version.to_be_bytes());
    out.extend_from_slice(&share_gen.to_be_bytes());
    for k in keks {
        out.extend_from_slice(&k.id.to_be_bytes());
        out.extend_from_slice(&k.version.to_be_bytes());
    }
    out.extend_from_slice(&payload_len.to_be_bytes());
    out.extend_from_slice(payload);
    Ok(())
}

/// A bounds-checked big-endian reader over untrusted bytes.
#[derive(Debug)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    /// Bytes consumed so far.
    pub pos: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// Reads `bytes`, naming errors after `what`.
    pub fn new(bytes: &'a [u8], what: &'static str) -> Self {
        Reader {
            bytes,
            pos: 0,
            what,
        }
    }

    /// Next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or(Error::Truncated {
            what: self.what,
            needed: usize::MAX,
            got: self.bytes.len(),
        })?;
        let s = self.bytes.get(self.pos..end).ok_or(Error::Truncated {
            what: self.what,
            needed: end,
            got: self.bytes.len(),
        })?;
        self.pos = end;
        Ok(s)
    }

    /// Next `N` bytes as an array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    /// A byte.
    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }
    /// A big-endian u16.
    pub fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array()?))
    }
    /// A big-endian u32.
    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array()?))
    }
    /// A big-endian u64.
    pub fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_be_bytes(self.array()?))
    }
    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }
    /// Fails unless everything was read.
    pub fn finish(&self) -> Result<()> {
        match self.remaining() {
            0 => Ok(()),
            extra => Err(Error::TrailingBytes {
                what: self.what,
                extra,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE_HEX: &str = "4b48575202010001\
        00000003\
        000000000000000700000001\
        00000000\
        000000000000000200000001\
        0028\
        28c9f404c4b810f4cbccb35cfb87f8263f5786e2d80ed326cbc7f0e71a99f43bfb988b9b7a02dd21";

    fn example() -> StoredWrap {
        StoredWrap {
            scheme: SchemeId::Kw,
            share: 0,
            tenant: 3,
            key: KeyRef { id: 7, version: 1 },
            share_gen: 0,
            keks: vec![KeyRef { id: 2, version: 1 }],
            payload: hex::decode(
                "28c9f404c4b810f4cbccb35cfb87f8263f5786e2d80ed326cbc7f0e71a99f43bfb988b9b7a02dd21",
            )
            .unwrap(),
        }
    }

    #[test]
    fn worked_example_matches_docs() {
        let enc = example().encode().unwrap();
        assert_eq!(hex::encode(&enc), EXAMPLE_HEX);
        // The payload is the RFC 3394 §4.6 wrap: it unwraps under the RFC's KEK.
        let kek = crate::crypto::scheme::Kek::new(
            SchemeId::Kw,
            &hex::decode("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
                .unwrap(),
        )
        .unwrap();
        let mut out = [0u8; 32];
        let w = StoredWrap::decode(&enc).unwrap();
        let n = kek
            .unwrap(&w.payload, &w.context(0).unwrap(), &mut out)
            .unwrap();
        assert_eq!(
            hex::encode(&out[..n]),
            "00112233445566778899aabbccddeeff000102030405060708090a0b0c0d0e0f"
        );
        assert_eq!(enc.len(), encoded_len(1, 40));
    }

    #[test]
    fn round_trips_every_scheme_and_layer_count() {
        for scheme in SchemeId::ALL {
            for layers in 1..=MAX_LAYERS {
                let payload_len = scheme.wrapped_len(32).unwrap() + 8 * (layers - 1);
                let w = StoredWrap {
                    scheme,
                    share: layers as u8,
                    tenant: u32::MAX,
                    key: KeyRef {
                        id: u64::MAX,
                        version: 9,
                    },
                    share_gen: layers as u32 * 7,
                    keks: (0..layers)
                        .map(|i| KeyRef {
                            id: i as u64,
                            version: i as u32,
                        })
                        .collect(),
                    payload: vec![0x5a; payload_len],
                };
                let enc = w.encode().unwrap();
                assert_eq!(enc.len(), w.encoded_len());
                assert_eq!(StoredWrap::decode(&enc).unwrap(), w);
            }
        }
    }

    #[test]
    fn rejects_each_malformation_with_its_error() {
        let enc = example().encode().unwrap();
        // every truncation
        for cut in 0..enc.len() {
            assert!(
                matches!(
                    StoredWrap::decode(&enc[..cut]),
                    Err(Error::Truncated { .. })
                ),
                "cut {cut}"
            );
        }
        // trailing byte
        let mut long = enc.clone();
        long.push(0);
        assert_eq!(
            StoredWrap::decode(&long),
            Err(Error::TrailingBytes {
                what: "stored wrap",
                extra: 1
            })
        );
        // magic
        let mut m = enc.clone();
        m[0] ^= 1;
        assert_eq!(
            StoredWrap::decode(&m),
            Err(Error::BadMagic {
                what: "stored wrap"
            })
        );
        // version
        let mut v = enc.clone();
        v[4] = 1;
        assert_eq!(
            StoredWrap::decode(&v),
            Err(Error::UnsupportedVersion {
                what: "stored wrap",
                version: 1
            })
        );
        // scheme
        let mut s = enc.clone();
        s[5] = 9;
        assert_eq!(StoredWrap::decode(&s), Err(Error::UnknownScheme(9)));
        // layers
        for bad in [0u8, 5, 255] {
            let mut l = enc.clone();
            l[7] = bad;
            assert!(matches!(
                StoredWrap::decode(&l),
                Err(Error::InvalidField {
                    what: "stored wrap layers",
                    ..
                })
            ));
        }
        // payload length impossible for kw (not a multiple of 8, and too short)
        for bad in [39u16, 16] {
            let mut p = enc[..40].to_vec();
            p.extend_from_slice(&bad.to_be_bytes());
            p.extend(std::iter::repeat_n(0, usize::from(bad)));
            assert_eq!(
                StoredWrap::decode(&p),
                Err(Error::WrappedLength {
                    scheme: "kw",
                    len: usize::from(bad)
                })
            );
        }
    }

    #[test]
    fn encoder_refuses_what_decoder_would() {
        let mut w = example();
        w.keks.clear();
        assert!(w.encode().is_err());
        let mut w = example();
        w.payload.truncate(39);
        assert!(w.encode().is_err());
    }
}
