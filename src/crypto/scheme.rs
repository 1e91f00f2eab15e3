//! Wrap schemes: how one key is wrapped under another. One concern, a little
//! past 700 lines: four schemes, each with the length rules its standard sets,
//! behind one trait.
//!
//! Four schemes sit behind one small trait, [`WrapScheme`], and are selected by
//! name through [`SchemeId`]:
//!
//! | name | construction | context binding |
//! |---|---|---|
//! | `kw` | AES Key Wrap, RFC 3394 / SP 800-38F KW, via `aes-kw` | none: the wrap names no context |
//! | `kwp` | AES Key Wrap with Padding, RFC 5649 / SP 800-38F KWP, via `aes-kw` | none |
//! | `gcm` | AES-GCM, 96-bit nonce, 128-bit tag, via `aes-gcm` | the canonical [`WrapContext`] is the associated data |
//! | `gcm-siv` | AES-GCM-SIV (RFC 8452), via `aes-gcm-siv` | likewise |
//!
//! `aes-kw` 0.3 does not enforce every length rule of RFC 3394, RFC 5649 and
//! SP 800-38F: it wraps an empty or one-semiblock key with KW (the output is
//! then the IV, unencrypted), wraps an empty key with KWP, and unwraps a bare
//! 8-byte IV under both. The public functions here check those rules first
//! (see [`kw_rules`]) and only then call the crate. Every failed unwrap
//! zeroes its output and returns the opaque [`Error::UnwrapFailed`].
//!
//! This module knows nothing of tenants, designs or files: a context is a
//! value the caller builds, and a nonce is bytes the caller supplies.

use aes::{Aes128, Aes192, Aes256};
use aes_gcm::{AeadInOut, AesGcm, KeyInit, aead::consts::U12};
use aes_gcm_siv::{Aes128GcmSiv, Aes256GcmSiv};
use aes_kw::{KwAes128, KwAes192, KwAes256, KwpAes128, KwpAes192, KwpAes256};
use zeroize::Zeroize;

use crate::error::{Error, Result};

/// Length of the nonce of the AEAD schemes.
pub const NONCE_LEN: usize = 12;
/// Length of the tag of the AEAD schemes.
pub const TAG_LEN: usize = 16;
/// Length of a KW/KWP semiblock (and of its IV).
pub const SEMIBLOCK: usize = 8;

type Aes192Gcm = AesGcm<Aes192, U12>;
type Aes128Gcm = AesGcm<Aes128, U12>;
type Aes256Gcm = AesGcm<Aes256, U12>;

/// The schemes, by name. The discriminant is the scheme's byte on the wire.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
#[repr(u8)]
pub enum SchemeId {
    /// RFC 3394 AES Key Wrap (the default, as on the command line).
    #[default]
    Kw = 1,
    /// RFC 5649 AES Key Wrap with Padding.
    Kwp = 2,
    /// AES-GCM with the wrap context as associated data.
    Gcm = 3,
    /// AES-GCM-SIV with the wrap context as associated data.
    GcmSiv = 4,
}

impl SchemeId {
    /// Every scheme, in wire order.
    pub const ALL: [SchemeId; 4] = [SchemeId::Kw, SchemeId::Kwp, SchemeId::Gcm, SchemeId::GcmSiv];

    /// The scheme's name, as typed on the command line.
    pub fn name(self) -> &'static str {
        match self {
            SchemeId::Kw => "kw",
            SchemeId::Kwp => "kwp",
            SchemeId::Gcm => "gcm",
            SchemeId::GcmSiv => "gcm-siv",
        }
    }

    /// Parses a scheme name.
    pub fn from_name(name: &str) -> Result<Self> {
        SchemeId::ALL
            .into_iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| Error::UnknownSchemeName(name.to_owned()))
    }

    /// Parses a scheme byte of the wire format.
    pub fn from_byte(b: u8) -> Result<Self> {
        SchemeId::ALL
            .into_iter()
            .find(|s| *s as u8 == b)
            .ok_or(Error::UnknownScheme(b))
    }

    /// Whether a stored wrap names its context (tenant, ids, versions) cryptographically.
    pub fn binds_context(self) -> bool {
        matches!(self, SchemeId::Gcm | SchemeId::GcmSiv)
    }

    /// Whether wrapping is a deterministic function of key and KEK.
    pub fn is_deterministic(self) -> bool {
        matches!(self, SchemeId::Kw | SchemeId::Kwp)
    }

    /// Length of the wrap of `key_len` bytes of key data, or the refusal.
    pub fn wrapped_len(self, key_len: usize) -> Result<usize> {
        match self {
            SchemeId::Kw => kw_rules::check_wrap_len(key_len).map(|_| key_len + SEMIBLOCK),
            SchemeId::Kwp => kwp_rules::check_wrap_len(key_len)
                .map(|_| key_len.div_ceil(SEMIBLOCK) * SEMIBLOCK + SEMIBLOCK),
            SchemeId::Gcm | SchemeId::GcmSiv => {
                if key_len == 0 || key_len > MAX_AEAD_KEY_DATA {
                    Err(Error::KeyDataLength {
                        scheme: self.name(),
                        len: key_len,
                    })
                } else {
                    Ok(NONCE_LEN + key_len + TAG_LEN)
                }
            }
        }
    }

    /// Checks that `len` bytes could be a wrap made by this scheme; returns the
    /// largest key-data length such a wrap can hold.
    pub fn check_wrapped_len(self, len: usize) -> Result<usize> {
        let bad = || Error::WrappedLength {
            scheme: self.name(),
            len,
        };
        match self {
            SchemeId::Kw => kw_rules::check_unwrap_len(len)
                .map_err(|_| bad())
                .map(|_| len - SEMIBLOCK),
            SchemeId::Kwp => kwp_rules::check_unwrap_len(len)
                .map_err(|_| bad())
                .map(|_| len - SEMIBLOCK),
            SchemeId::Gcm | SchemeId::GcmSiv => {
                if len <= NONCE_LEN + TAG_LEN || len > NONCE_LEN + TAG_LEN + MAX_AEAD_KEY_DATA {
                    Err(bad())
                } else {
                    Ok(len - NONCE_LEN - TAG_LEN)
                }
            }
        }
    }
}

impl core::fmt::Display for SchemeId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// `--scheme` on the command line: the names of [`SchemeId::name`].
impl clap::ValueEnum for SchemeId {
    fn value_variants<'a>() -> &'a [Self] {
        &SchemeId::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.name()))
    }
}

impl core::str::FromStr for SchemeId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        SchemeId::from_name(s)
    }
}

/// Largest key data an AEAD wrap accepts here (a wrapped key is small; this
/// bounds what a hostile wrap can make us allocate).
pub const MAX_AEAD_KEY_DATA: usize = 4096;

/// The length rules of RFC 3394 and SP 800-38F §6.2 for KW, which `aes-kw` does not all enforce.
pub mod kw_rules {
    use super::SEMIBLOCK;

    /// Why KW refuses a length.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum KwLenError {
        /// Not a whole number of 64-bit semiblocks (RFC 3394 §2: n 64-bit blocks).
        NotSemiblocks,
        /// Fewer than two semiblocks of key data (RFC 3394 §2.2.1 "n >= 2", SP 800-38F §6.2 "n >= 2").
        TooShort,
    }

    /// KW-AE input: key data of n ≥ 2 semiblocks.
    pub fn check_wrap_len(len: usize) -> Result<(), crate::error::Error> {
        match classify(len, 2) {
            None => Ok(()),
            Some(_) => Err(crate::error::Error::KeyDataLength { scheme: "kw", len }),
        }
    }

    /// KW-AD input: a wrap of n + 1 ≥ 3 semiblocks.
    pub fn check_unwrap_len(len: usize) -> Result<(), KwLenError> {
        classify(len, 3).map_or(Ok(()), Err)
    }

    fn classify(len: usize, min_semiblocks: usize) -> Option<KwLenError> {
        if !len.is_multiple_of(SEMIBLOCK) {
            Some(KwLenError::NotSemiblocks)
        } else if len / SEMIBLOCK < min_semiblocks {
            Some(KwLenError::TooShort)
        } else {
            None
        }
    }
}

/// The length rules of RFC 5649 and SP 800-38F §6.3 for KWP.
pub mod kwp_rules {
    use super::SEMIBLOCK;

    /// A wrap length KWP-AD refuses.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct KwpLenError;

    /// Largest KWP key data: the 32-bit message length indicator (RFC 5649 §3).
    pub const MAX_KEY_DATA: usize = u32::MAX as usize;

    /// KWP-AE input: 1 ≤ len < 2^32 bytes (RFC 5649 §3: "1 <= MLI < 2^32"; SP 800-38F §6.3).
    pub fn check_wrap_len(len: usize) -> Result<(), crate::error::Error> {
        if (1..=MAX_KEY_DATA).contains(&len) {
            Ok(())
        } else {
            Err(crate::error::Error::KeyDataLength { scheme: "kwp", len })
        }
    }

    /// KWP-AD input: a whole number of semiblocks, at least two (RFC 5649 §4.2,
    /// SP 800-38F §6.3 KWP-AD step 1: "if n < 2 ... return FAIL"), at most 2^29 + 1.
    pub fn check_unwrap_len(len: usize) -> Result<(), KwpLenError> {
        let n = len / SEMIBLOCK;
        if len.is_multiple_of(SEMIBLOCK) && (2..=(1 << 29) + 1).contains(&n) {
            Ok(())
        } else {
            Err(KwpLenError)
        }
    }
}

/// What a stored wrap is bound to: which key, wrapped under which key, for
/// which tenant, by which scheme, as which share and at which nesting layer.
///
/// Under `gcm` and `gcm-siv` its canonical encoding ([`WrapContext::encode`]) is
/// the associated data, so a wrap moved to any other slot fails to unwrap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WrapContext {
    /// Tenant owning the wrapped key ([`GLOBAL_TENANT`] for a global key).
    pub tenant: u32,
    /// Id of the wrapped key.
    pub key_id: u64,
    /// Version of the wrapped key.
    pub key_version: u32,
    /// Id of the wrapping key (of this layer).
    pub kek_id: u64,
    /// Version of the wrapping key.
    pub kek_version: u32,
    /// The scheme.
    pub scheme: SchemeId,
    /// Share index (x-coordinate), or 0 for the whole key.
    pub share: u8,
    /// Share generation: which polynomial a share belongs to (bumped by each
    /// re-share of the same key version; 0 for a whole key). Bound into the
    /// associated data, so that an old share wrap put back fails to open.
    pub share_gen: u32,
    /// Nesting layer: 0 for the innermost wrap.
    pub layer: u8,
}

/// The tenant field of a key owned by no tenant.
pub const GLOBAL_TENANT: u32 = u32::MAX;

/// Length of [`WrapContext::encode`].
pub const CONTEXT_LEN: usize = 40;

impl WrapContext {
    /// Canonical encoding: `"KHAD"`, version 2, scheme byte, tenant (u32),
    /// key id (u64), key version (u32), KEK id (u64), KEK version (u32),
    /// share (u8), layer (u8), share generation (u32); integers big-endian.
    /// 40 bytes.
    pub fn encode(&self) -> [u8; CONTEXT_LEN] {
        let mut out = [0u8; CONTEXT_LEN];
        out[0..4].copy_from_slice(b"KHAD");
        out[4] = 2;
        out[5] = self.scheme as u8;
        out[6..10].copy_from_slice(&self.tenant.to_be_bytes());
        out[10..18].copy_from_slice(&self.key_id.to_be_bytes());
        out[18..22].copy_from_slice(&self.key_version.to_be_bytes());
        out[22..30].copy_from_slice(&self.kek_id.to_be_bytes());
        out[30..34].copy_from_slice(&self.kek_version.to_be_bytes());
        out[34] = self.share;
        out[35] = self.layer;
        out[36..40].copy_from_slice(&self.share_gen.to_be_bytes());
        out
    }
}

/// One wrap scheme: a prepared KEK type and checked wrap/unwrap over raw
/// associated data. Implementations validate every length before touching
/// the primitive and zero the output on any failed unwrap.
pub trait WrapScheme {
    /// Which scheme this is.
    const ID: SchemeId;
    /// A KEK with its key schedule built (zeroized on drop by the crates'
    /// `zeroize` features).
    type Kek;

    /// Builds the key schedule; refuses unsupported KEK lengths.
    fn new_kek(kek: &[u8]) -> Result<Self::Kek>;

    /// Wraps `key` into `out`, returning the wrap's length. `aad` and `nonce` are
    /// used by the AEAD schemes only.
    fn wrap(
        kek: &Self::Kek,
        key: &[u8],
        aad: &[u8],
        nonce: &[u8; NONCE_LEN],
        out: &mut [u8],
    ) -> Result<usize>;

    /// Unwraps `wrapped` into `out`, returning the key's length. On failure
    /// `out` is zeroed and the error is opaque.
    fn unwrap(kek: &Self::Kek, wrapped: &[u8], aad: &[u8], out: &mut [u8]) -> Result<usize>;
}

fn out_slice(out: &mut [u8], needed: usize) -> Result<&mut [u8]> {
    let got = out.len();
    out.get_mut(..needed)
        .ok_or(Error::OutputTooSmall { needed, got })
}

/// Runs an unwrap and, on any failure, zeroes the whole of `out`, not only the
/// prefix the scheme wrote to: a caller reusing one buffer must not find an
/// earlier key's bytes in it after a failed unwrap.
fn fail_closed(out: &mut [u8], unwrap: impl FnOnce(&mut [u8]) -> Result<usize>) -> Result<usize> {
    let res = unwrap(&mut *out);
    if res.is_err() {
        out.zeroize();
    }
    res
}

/// KEKs for KW and KWP: AES-128, -192 or -256.
pub enum AesKek<A128, A192, A256> {
    /// 128-bit KEK.
    A128(A128),
    /// 192-bit KEK.
    A192(A192),
    /// 256-bit KEK.
    A256(A256),
}

impl<A, B, C> core::fmt::Debug for AesKek<A, B, C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let bits = match self {
            AesKek::A128(_) => 128,
            AesKek::A192(_) => 192,
            AesKek::A256(_) => 256,
        };
        write!(f, "AesKek({bits}, <redacted>)")
    }
}

fn aes_kek<A: KeyInit, B: KeyInit, C: KeyInit>(
    scheme: &'static str,
    kek: &[u8],
) -> Result<AesKek<A, B, C>> {
    let bad = || Error::KekLength {
        scheme,
        len: kek.len(),
    };
    match kek.len() {
        16 => A::new_from_slice(kek).map(AesKek::A128).map_err(|_| bad()),
        24 => B::new_from_slice(kek).map(AesKek::A192).map_err(|_| bad()),
        32 => C::new_from_slice(kek).map(AesKek::A256).map_err(|_| bad()),
        _ => Err(bad()),
    }
}

/// RFC 3394 AES Key Wrap.
pub struct Kw;

impl WrapScheme for Kw {
    const ID: SchemeId = SchemeId::Kw;
    type Kek = AesKek<KwAes128, KwAes192, KwAes256>;

    fn new_kek(kek: &[u8]) -> Result<Self::Kek> {
        aes_kek("kw", kek)
    }

    fn wrap(
        kek: &Self::Kek,
        key: &[u8],
        _aad: &[u8],
        _nonce: &[u8; NONCE_LEN],
        out: &mut [u8],
    ) -> Result<usize> {
        let len = SchemeId::Kw.wrapped_len(key.len())?;
        let out = out_slice(out, len)?;
        let res = match kek {
            AesKek::A128(k) => k.wrap_key(key, out).map(|w| w.len()),
            AesKek::A192(k) => k.wrap_key(key, out).map(|w| w.len()),
            AesKek::A256(k) => k.wrap_key(key, out).map(|w| w.len()),
        };
        res.map_err(|_| Error::KeyDataLength {
            scheme: "kw",
            len: key.len(),
        })
    }

    fn unwrap(kek: &Self::Kek, wrapped: &[u8], _aad: &[u8], out: &mut [u8]) -> Result<usize> {
        fail_closed(out, |out| {
            if kw_rules::check_unwrap_len(wrapped.len()).is_err() {
                return Err(Error::UnwrapFailed);
            }
            let len = wrapped.len() - SEMIBLOCK;
            let out = out_slice(out, len)?;
            let res = match kek {
                AesKek::A128(k) => k.unwrap_key(wrapped, out).map(|k| k.len()),
                AesKek::A192(k) => k.unwrap_key(wrapped, out).map(|k| k.len()),
                AesKek::A256(k) => k.unwrap_key(wrapped, out).map(|k| k.len()),
            };
            res.map_err(|_| Error::UnwrapFailed)
        })
    }
}

/// RFC 5649 AES Key Wrap with Padding.
pub struct Kwp;

impl WrapScheme for Kwp {
    const ID: SchemeId = SchemeId::Kwp;
    type Kek = AesKek<KwpAes128, KwpAes192, KwpAes256>;

    fn new_kek(kek: &[u8]) -> Result<Self::Kek> {
        aes_kek("kwp", kek)
    }

    fn wrap(
        kek: &Self::Kek,
        key: &[u8],
        _aad: &[u8],
        _nonce: &[u8; NONCE_LEN],
        out: &mut [u8],
    ) -> Result<usize> {
        let len = SchemeId::Kwp.wrapped_len(key.len())?;
        let out = out_slice(out, len)?;
        let res = match kek {
            AesKek::A128(k) => k.wrap_key(key, out).map(|w| w.len()),
            AesKek::A192(k) => k.wrap_key(key, out).map(|w| w.len()),
            AesKek::A256(k) => k.wrap_key(key, out).map(|w| w.len()),
        };
        res.map_err(|_| Error::KeyDataLength {
            scheme: "kwp",
            len: key.len(),
        })
    }

    fn unwrap(kek: &Self::Kek, wrapped: &[u8], _aad: &[u8], out: &mut [u8]) -> Result<usize> {
        fail_closed(out, |out| {
            if kwp_rules::check_unwrap_len(wrapped.len()).is_err() {
                return Err(Error::UnwrapFailed);
            }
            let len = wrapped.len() - SEMIBLOCK;
            let out = out_slice(out, len)?;
            let res = match kek {
                AesKek::A128(k) => k.unwrap_key(wrapped, out).map(|k| k.len()),
                AesKek::A192(k) => k.unwrap_key(wrapped, out).map(|k| k.len()),
                AesKek::A256(k) => k.unwrap_key(wrapped, out).map(|k| k.len()),
            };
            match res {
                // RFC 5649 §3: 8*(n-1) < MLI <= 8*n, so MLI >= 1 (aes-kw already refuses 0 for
                // n >= 1; kept as a guard that does not depend on the crate's version).
                Ok(n) if n >= 1 => {
                    out[n..].zeroize();
                    Ok(n)
                }
                _ => Err(Error::UnwrapFailed),
            }
        })
    }
}

fn aead_wrap<A: AeadInOut<NonceSize = U12, TagSize = aes_gcm::aead::consts::U16>>(
    aead: &A,
    scheme: SchemeId,
    key: &[u8],
    aad: &[u8],
    nonce: &[u8; NONCE_LEN],
    out: &mut [u8],
) -> Result<usize> {
    let len = scheme.wrapped_len(key.len())?;
    let out = out_slice(out, len)?;
    let (n, rest) = out.split_at_mut(NONCE_LEN);
    n.copy_from_slice(nonce);
    let (body, tag_out) = rest.split_at_mut(key.len());
    body.copy_from_slice(key);
    let tag = aead
        .encrypt_inout_detached(&(*nonce).into(), aad, body.into())
        .map_err(|_| Error::KeyDataLength {
            scheme: scheme.name(),
            len: key.len(),
        })?;
    tag_out.copy_from_slice(&tag);
    Ok(len)
}

fn aead_unwrap<A: AeadInOut<NonceSize = U12, TagSize = aes_gcm::aead::consts::U16>>(
    aead: &A,
    scheme: SchemeId,
    wrapped: &[u8],
    aad: &[u8],
    out: &mut [u8],
) -> Result<usize> {
    fail_closed(out, |out| {
        let Ok(len) = scheme.check_wrapped_len(wrapped.len()) else {
            return Err(Error::UnwrapFailed);
        };
        let out = out_slice(out, len)?;
        let (nonce, rest) = wrapped.split_at(NONCE_LEN);
        let (ct, tag) = rest.split_at(len);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| Error::UnwrapFailed)?;
        let tag: [u8; TAG_LEN] = tag.try_into().map_err(|_| Error::UnwrapFailed)?;
        out.copy_from_slice(ct);
        aead.decrypt_inout_detached(&nonce.into(), aad, out.into(), &tag.into())
            .map(|()| len)
            .map_err(|_| Error::UnwrapFailed)
    })
}

/// AES-GCM KEKs: AES-128, -192 or -256 (hierarchies use AES-256).
pub type GcmKek = AesKek<Aes128Gcm, Aes192Gcm, Aes256Gcm>;

/// AES-GCM with the wrap context as associated data.
pub struct Gcm;

impl WrapScheme for Gcm {
    const ID: SchemeId = SchemeId::Gcm;
    type Kek = GcmKek;

    fn new_kek(kek: &[u8]) -> Result<Self::Kek> {
        aes_kek("gcm", kek)
    }

    fn wrap(
        kek: &Self::Kek,
        key: &[u8],
        aad: &[u8],
        nonce: &[u8; NONCE_LEN],
        out: &mut [u8],
    ) -> Result<usize> {
        match kek {
            AesKek::A128(a) => aead_wrap(a, Self::ID, key, aad, nonce, out),
            AesKek::A192(a) => aead_wrap(a, Self::ID, key, aad, nonce, out),
            AesKek::A256(a) => aead_wrap(a, Self::ID, key, aad, nonce, out),
        }
    }

    fn unwrap(kek: &Self::Kek, wrapped: &[u8], aad: &[u8], out: &mut [u8]) -> Result<usize> {
        match kek {
            AesKek::A128(a) => aead_unwrap(a, Self::ID, wrapped, aad, out),
            AesKek::A192(a) => aead_unwrap(a, Self::ID, wrapped, aad, out),
            AesKek::A256(a) => aead_unwrap(a, Self::ID, wrapped, aad, out),
        }
    }
}

/// AES-GCM-SIV KEKs: AES-128 or AES-256 (RFC 8452 defines no 192-bit variant).
pub enum GcmSivKek {
    /// AES-128-GCM-SIV.
    A128(Aes128GcmSiv),
    /// AES-256-GCM-SIV.
    A256(Aes256GcmSiv),
}

impl core::fmt::Debug for GcmSivKek {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("GcmSivKek(<redacted>)")
    }
}

/// AES-GCM-SIV with the wrap context as associated data.
pub struct GcmSiv;

impl WrapScheme for GcmSiv {
    const ID: SchemeId = SchemeId::GcmSiv;
    type Kek = GcmSivKek;

    fn new_kek(kek: &[u8]) -> Result<Self::Kek> {
        let bad = || Error::KekLength {
            scheme: "gcm-siv",
            len: kek.len(),
        };
        match kek.len() {
            16 => Aes128GcmSiv::new_from_slice(kek)
                .map(GcmSivKek::A128)
                .map_err(|_| bad()),
            32 => Aes256GcmSiv::new_from_slice(kek)
                .map(GcmSivKek::A256)
                .map_err(|_| bad()),
            _ => Err(bad()),
        }
    }

    fn wrap(
        kek: &Self::Kek,
        key: &[u8],
        aad: &[u8],
        nonce: &[u8; NONCE_LEN],
        out: &mut [u8],
    ) -> Result<usize> {
        match kek {
            GcmSivKek::A128(a) => aead_wrap(a, Self::ID, key, aad, nonce, out),
            GcmSivKek::A256(a) => aead_wrap(a, Self::ID, key, aad, nonce, out),
        }
    }

    fn unwrap(kek: &Self::Kek, wrapped: &[u8], aad: &[u8], out: &mut [u8]) -> Result<usize> {
        match kek {
            GcmSivKek::A128(a) => aead_unwrap(a, Self::ID, wrapped, aad, out),
            GcmSivKek::A256(a) => aead_unwrap(a, Self::ID, wrapped, aad, out),
        }
    }
}

/// A KEK prepared for any scheme: what callers that pick the scheme at run
/// time (by name) hold.
#[derive(Debug)]
pub enum Kek {
    /// For `kw`.
    Kw(<Kw as WrapScheme>::Kek),
    /// For `kwp`.
    Kwp(<Kwp as WrapScheme>::Kek),
    /// For `gcm`.
    Gcm(<Gcm as WrapScheme>::Kek),
    /// For `gcm-siv`.
    GcmSiv(<GcmSiv as WrapScheme>::Kek),
    /// A key held elsewhere (a root in a backend, [`crate::crypto::root`]):
    /// RFC 5649 without associated data, so its records are `kwp` records.
    Held(std::sync::Arc<dyn HeldKek>),
}

/// A KEK whose key is not in this process: wrap and unwrap are calls to
/// whoever holds it. Its wraps are RFC 5649 (AES key wrap with padding), the
/// `kwp` scheme's bytes, without associated data.
pub trait HeldKek: Send + Sync + core::fmt::Debug {
    /// Wraps `key` into `out`; returns the length.
    fn wrap(&self, key: &[u8], out: &mut [u8]) -> Result<usize>;
    /// Unwraps `wrapped` into `out`; returns the length (fails closed).
    fn unwrap(&self, wrapped: &[u8], out: &mut [u8]) -> Result<usize>;
}

impl Kek {
    /// Builds the key schedule of `kek` for `scheme`.
    pub fn new(scheme: SchemeId, kek: &[u8]) -> Result<Self> {
        Ok(match scheme {
            SchemeId::Kw => Kek::Kw(Kw::new_kek(kek)?),
            SchemeId::Kwp => Kek::Kwp(Kwp::new_kek(kek)?),
            SchemeId::Gcm => Kek::Gcm(Gcm::new_kek(kek)?),
            SchemeId::GcmSiv => Kek::GcmSiv(GcmSiv::new_kek(kek)?),
        })
    }

    /// The scheme this KEK was prepared for.
    pub fn scheme(&self) -> SchemeId {
        match self {
            Kek::Kw(_) => SchemeId::Kw,
            Kek::Kwp(_) => SchemeId::Kwp,
            Kek::Gcm(_) => SchemeId::Gcm,
            Kek::GcmSiv(_) => SchemeId::GcmSiv,
            Kek::Held(_) => SchemeId::Kwp,
        }
    }

    /// Wraps with raw associated data (ignored by `kw`/`kwp`).
    pub fn wrap_raw(
        &self,
        key: &[u8],
        aad: &[u8],
        nonce: &[u8; NONCE_LEN],
        out: &mut [u8],
    ) -> Result<usize> {
        match self {
            Kek::Kw(k) => Kw::wrap(k, key, aad, nonce, out),
            Kek::Kwp(k) => Kwp::wrap(k, key, aad, nonce, out),
            Kek::Gcm(k) => Gcm::wrap(k, key, aad, nonce, out),
            Kek::GcmSiv(k) => GcmSiv::wrap(k, key, aad, nonce, out),
            Kek::Held(k) => k.wrap(key, out),
        }
    }

    /// Unwraps with raw associated data (ignored by `kw`/`kwp`).
    pub fn unwrap_raw(&self, wrapped: &[u8], aad: &[u8], out: &mut [u8]) -> Result<usize> {
        match self {
            Kek::Kw(k) => Kw::unwrap(k, wrapped, aad, out),
            Kek::Kwp(k) => Kwp::unwrap(k, wrapped, aad, out),
            Kek::Gcm(k) => Gcm::unwrap(k, wrapped, aad, out),
            Kek::GcmSiv(k) => GcmSiv::unwrap(k, wrapped, aad, out),
            Kek::Held(k) => k.unwrap(wrapped, out),
        }
    }

    /// Wraps `key` bound to `ctx` (whose scheme must be this KEK's).
    pub fn wrap(
        &self,
        key: &[u8],
        ctx: &WrapContext,
        nonce: &[u8; NONCE_LEN],
        out: &mut [u8],
    ) -> Result<usize> {
        debug_assert_eq!(ctx.scheme, self.scheme());
        self.wrap_raw(key, &ctx.encode(), nonce, out)
    }

    /// Unwraps `wrapped` as bound to `ctx`.
    pub fn unwrap(&self, wrapped: &[u8], ctx: &WrapContext, out: &mut [u8]) -> Result<usize> {
        if ctx.scheme != self.scheme() {
            out.zeroize();
            return Err(Error::UnwrapFailed);
        }
        self.unwrap_raw(wrapped, &ctx.encode(), out)
    }
}
