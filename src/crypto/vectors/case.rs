//! One case, whatever file it came from: judging it against a scheme, wrap
//! and unwrap, into a [`Verdict`], and reading its fields (hex strings, JSON
//! members) into bytes or into the [`malformed`] error naming the file and
//! the case. Every reader builds on this file and it imports none of them: it
//! knows no file format (the readers build the [`Case`]) and implements no
//! cryptography: it calls [`Kek::wrap_raw`] and [`Kek::unwrap_raw`].

use std::fmt;
use std::path::Path;

use serde_json::{Map, Value};

use crate::crypto::scheme::{Kek, NONCE_LEN, SchemeId};
use crate::crypto::secret::{SecretBytes, ct_eq};
use crate::error::{Error, Result};

/// What the file says a case must do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expect {
    /// Wrap gives the wrapped bytes; unwrap gives the key data back.
    Valid,
    /// Unwrap fails (and wrap refuses the key data or gives something else).
    Invalid,
    /// Either outcome, consistently.
    Acceptable,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Passed,
    RejectedAsRequired,
    Acceptable { accepted: bool },
    Failed(String),
    Skipped(String),
}

/// One case ready to run: `msg` is the key data (absent in a CAVP `FAIL`
/// record), `wrapped` what the wrap is or is claimed to be.
pub(crate) struct Case<'a> {
    pub(crate) kek: &'a Kek,
    pub(crate) msg: Option<&'a [u8]>,
    pub(crate) aad: &'a [u8],
    pub(crate) nonce: [u8; NONCE_LEN],
    pub(crate) wrapped: &'a [u8],
    pub(crate) expect: Expect,
}

fn wrap_once(kek: &Kek, key: &[u8], aad: &[u8], nonce: &[u8; NONCE_LEN]) -> Result<Vec<u8>> {
    let mut out = vec![0; kek.scheme().wrapped_len(key.len())?];
    let n = kek.wrap_raw(key, aad, nonce, &mut out)?;
    out.truncate(n);
    Ok(out)
}

fn unwrap_once(kek: &Kek, wrapped: &[u8], aad: &[u8]) -> Result<SecretBytes> {
    let mut out = SecretBytes::zeroed(wrapped.len());
    let n = kek.unwrap_raw(wrapped, aad, out.expose_mut())?;
    out.truncate(n);
    Ok(out)
}

pub(crate) fn judge(case: &Case<'_>) -> Verdict {
    let wrap = case
        .msg
        .map(|m| wrap_once(case.kek, m, case.aad, &case.nonce));
    let unwrap = unwrap_once(case.kek, case.wrapped, case.aad);
    // A failed unwrap must say only that it failed.
    if let Err(e) = &unwrap
        && *e != Error::UnwrapFailed
    {
        return Verdict::Failed(format!(
            "unwrap returned `{e}`, not the opaque UnwrapFailed"
        ));
    }
    let wrap_matches = matches!(&wrap, Some(Ok(w)) if w == case.wrapped);
    let unwrap_matches = |k: &SecretBytes| case.msg.is_none_or(|m| ct_eq(k.expose(), m));
    match case.expect {
        Expect::Valid => {
            match &wrap {
                Some(Err(e)) => return Verdict::Failed(format!("wrap refused the key data: {e}")),
                Some(Ok(_)) if !wrap_matches => {
                    return Verdict::Failed("wrap gave other bytes".to_owned());
                }
                _ => {}
            }
            match &unwrap {
                Ok(k) if unwrap_matches(k) => Verdict::Passed,
                Ok(_) => Verdict::Failed("unwrap gave other key data".to_owned()),
                Err(_) => Verdict::Failed("unwrap refused a valid wrap".to_owned()),
            }
        }
        Expect::Invalid => {
            if unwrap.is_ok() {
                return Verdict::Failed("unwrap accepted an invalid wrap".to_owned());
            }
            match &wrap {
                Some(Ok(_)) if case.wrapped.is_empty() => {
                    Verdict::Failed("wrap accepted key data it must refuse".to_owned())
                }
                Some(Ok(_)) if wrap_matches => {
                    Verdict::Failed("wrap produced the invalid wrap".to_owned())
                }
                _ => Verdict::RejectedAsRequired,
            }
        }
        Expect::Acceptable => {
            if matches!(&wrap, Some(Ok(_))) && !case.wrapped.is_empty() && !wrap_matches {
                return Verdict::Failed("wrap gave other bytes".to_owned());
            }
            if let Ok(k) = &unwrap
                && !unwrap_matches(k)
            {
                return Verdict::Failed("unwrap gave other key data".to_owned());
            }
            let wrap_ok = matches!(&wrap, Some(Ok(_)));
            // With no wrapped bytes given, only the wrap direction says anything.
            if wrap.is_some() && !case.wrapped.is_empty() && wrap_ok != unwrap.is_ok() {
                let (yes, no) = if wrap_ok {
                    ("wrap", "unwrap")
                } else {
                    ("unwrap", "wrap")
                };
                return Verdict::Failed(format!("{yes} accepted what {no} refused"));
            }
            Verdict::Acceptable {
                accepted: wrap_ok || unwrap.is_ok(),
            }
        }
    }
}

/// Builds the KEK of a case, or the reason to skip it.
pub(crate) fn kek_or_skip(scheme: SchemeId, kek: &SecretBytes) -> Result<Kek, String> {
    Kek::new(scheme, kek.expose())
        .map_err(|_| format!("{}-bit KEK: not taken by {scheme}", kek.len() * 8))
}

/// The error for a vector file that cannot be read as its format says.
pub(crate) fn malformed(path: &Path, detail: impl fmt::Display) -> Error {
    Error::invalid("vector file", format!("{}: {detail}", path.display()))
}

pub(crate) fn decode_hex(path: &Path, case: &str, field: &str, text: &str) -> Result<Vec<u8>> {
    hex::decode(text.trim())
        .map_err(|e| malformed(path, format_args!("{case}: field `{field}`: bad hex: {e}")))
}

fn field<'v>(path: &Path, case: &str, obj: &'v Map<String, Value>, key: &str) -> Result<&'v Value> {
    obj.get(key)
        .ok_or_else(|| malformed(path, format_args!("{case}: missing field `{key}`")))
}

pub(crate) fn str_field<'v>(
    path: &Path,
    case: &str,
    obj: &'v Map<String, Value>,
    key: &str,
) -> Result<&'v str> {
    field(path, case, obj, key)?
        .as_str()
        .ok_or_else(|| malformed(path, format_args!("{case}: field `{key}` is not a string")))
}

pub(crate) fn array_field<'v>(
    path: &Path,
    case: &str,
    obj: &'v Map<String, Value>,
    key: &str,
) -> Result<&'v [Value]> {
    field(path, case, obj, key)?
        .as_array()
        .map(Vec::as_slice)
        .ok_or_else(|| malformed(path, format_args!("{case}: field `{key}` is not an array")))
}

pub(crate) fn hex_field(
    path: &Path,
    case: &str,
    obj: &Map<String, Value>,
    key: &str,
) -> Result<Vec<u8>> {
    decode_hex(path, case, key, str_field(path, case, obj, key)?)
}

pub(crate) fn object<'v>(
    path: &Path,
    case: &str,
    value: &'v Value,
) -> Result<&'v Map<String, Value>> {
    value
        .as_object()
        .ok_or_else(|| malformed(path, format_args!("{case}: not a JSON object")))
}
