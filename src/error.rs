//! The library's one error type.
//!
//! Every failure that untrusted input can cause (a stored wrap, a file, a corpus
//! entry, an argument) is a variant here. Unwrap failures are deliberately
//! opaque ([`Error::UnwrapFailed`]): the caller learns that a wrap did not open,
//! never which check refused it.

use core::fmt;

/// Errors of the keyhier library.
#[non_exhaustive]
#[allow(missing_docs)] // variant fields are named for what they hold
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A wrap did not authenticate under the given key and context. Opaque by
    /// design: integrity, padding and context failures all look alike.
    UnwrapFailed,
    /// A key-encryption key of a length the scheme does not take.
    KekLength { scheme: &'static str, len: usize },
    /// Key data of a length the scheme refuses to wrap (RFC 3394 / 5649 / SP 800-38F limits).
    KeyDataLength { scheme: &'static str, len: usize },
    /// A wrapped blob of a length the scheme can never produce.
    WrappedLength { scheme: &'static str, len: usize },
    /// An output buffer too small for the result.
    OutputTooSmall { needed: usize, got: usize },
    /// A scheme name that is not one of `kw`, `kwp`, `gcm`, `gcm-siv`.
    UnknownSchemeName(String),
    /// A scheme byte in an encoding that is not a known scheme.
    UnknownScheme(u8),
    /// Bad magic bytes at the start of an encoding.
    BadMagic { what: &'static str },
    /// An encoding version this build does not read.
    UnsupportedVersion { what: &'static str, version: u16 },
    /// Input ended before the structure did.
    Truncated {
        what: &'static str,
        needed: usize,
        got: usize,
    },
    /// Bytes left over after a complete structure.
    TrailingBytes { what: &'static str, extra: usize },
    /// A field whose value is out of its allowed range.
    InvalidField { what: &'static str, detail: String },
    /// A shape (tenants, groups, leaves) that cannot be built.
    InvalidShape(String),
    /// A design name or definition that cannot be built.
    InvalidDesign(String),
    /// An argument, or a combination of arguments, that cannot run.
    InvalidArgument(String),
    /// A root role a design does not have (a workload built against it).
    UnknownRole {
        design: String,
        role: String,
        roots: Vec<String>,
    },
    /// A key that cannot be recovered from the available roots.
    Unrecoverable { key: u64 },
    /// A threshold sharing operation failed (bad share set).
    Shares(&'static str),
    /// An I/O failure, with the path or step it concerned.
    Io {
        context: String,
        kind: std::io::ErrorKind,
        message: String,
    },
    /// The PKCS#11 module could not be loaded.
    TokenModule { path: String, detail: String },
    /// No initialized token has this label.
    TokenNotFound { label: String, found: Vec<String> },
    /// The token refused the PIN.
    TokenPin,
    /// The PIN is not set in the environment variable named.
    TokenPinUnset { var: &'static str },
    /// The token lacks a mechanism keyhier needs.
    TokenMechanism { mechanism: &'static str },
    /// Another failure of a token call.
    Token { call: &'static str, detail: String },
}

impl Error {
    pub(crate) fn invalid(what: &'static str, detail: impl Into<String>) -> Self {
        Error::InvalidField {
            what,
            detail: detail.into(),
        }
    }

    pub(crate) fn io(context: impl Into<String>, err: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            kind: err.kind(),
            message: err.to_string(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::UnwrapFailed => f.write_str(
                "unwrap failed: the wrap does not authenticate under this key and context",
            ),
            Error::KekLength { scheme, len } => write!(
                f,
                "{scheme}: a key-encryption key of {len} bytes is not supported"
            ),
            Error::KeyDataLength { scheme, len } => {
                write!(f, "{scheme}: key data of {len} bytes cannot be wrapped")
            }
            Error::WrappedLength { scheme, len } => {
                write!(f, "{scheme}: a wrapped key of {len} bytes is impossible")
            }
            Error::OutputTooSmall { needed, got } => {
                write!(f, "output buffer of {got} bytes, {needed} needed")
            }
            Error::UnknownSchemeName(name) => write!(
                f,
                "unknown scheme {name:?} (expected kw, kwp, gcm or gcm-siv)"
            ),
            Error::UnknownScheme(b) => write!(f, "unknown scheme byte 0x{b:02x}"),
            Error::BadMagic { what } => write!(f, "{what}: bad magic bytes"),
            Error::UnsupportedVersion { what, version } => {
                write!(f, "{what}: unsupported format version {version}")
            }
            Error::Truncated { what, needed, got } => {
                write!(f, "{what}: truncated ({got} bytes, {needed} needed)")
            }
            Error::TrailingBytes { what, extra } => write!(f, "{what}: {extra} trailing bytes"),
            Error::InvalidField { what, detail } => write!(f, "{what}: {detail}"),
            Error::InvalidShape(detail) => write!(f, "invalid shape: {detail}"),
            Error::InvalidDesign(detail) => write!(f, "invalid design: {detail}"),
            Error::InvalidArgument(detail) => write!(f, "invalid argument: {detail}"),
            Error::UnknownRole {
                design,
                role,
                roots,
            } => write!(
                f,
                "design {design} has no root role {role:?}; its roots are {}",
                roots.join(", ")
            ),
            Error::Unrecoverable { key } => {
                write!(f, "key {key} cannot be recovered from the available roots")
            }
            Error::Shares(detail) => write!(f, "secret sharing: {detail}"),
            Error::Io {
                context, message, ..
            } => write!(f, "{context}: {message}"),
            Error::TokenModule { path, detail } => {
                write!(f, "PKCS#11 module {path} could not be loaded: {detail}")
            }
            Error::TokenNotFound { label, found } => write!(
                f,
                "no initialized token is labelled {label:?} (found: {}); create one with `keyhier token init --dir DIR --label {label}` and set SOFTHSM2_CONF=DIR/softhsm2.conf",
                if found.is_empty() {
                    "none".to_string()
                } else {
                    found.join(", ")
                }
            ),
            Error::TokenPin => f.write_str("the token refused the PIN (KEYHIER_PKCS11_PIN)"),
            Error::TokenPinUnset { var } => write!(
                f,
                "{var} is not set: the token's PIN comes from the environment, never from a flag"
            ),
            Error::TokenMechanism { mechanism } => {
                write!(f, "the token does not support {mechanism}")
            }
            Error::Token { call, detail } => write!(f, "token call {call} failed: {detail}"),
        }
    }
}

impl std::error::Error for Error {}

/// The library's result type.
pub type Result<T, E = Error> = core::result::Result<T, E>;
