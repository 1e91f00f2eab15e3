//! The crate's one error type. Unwrap failures are opaque
//! ([`Error::UnwrapFailed`]): the caller learns that a wrap did not open,
//! never which check refused it.

use core::fmt;

use crate::Backend;

/// Errors of the batch functions. Each is decided before any output is
/// written, except [`Error::UnwrapFailed`] from a rewrap in place (see
/// [`Backend::rewrap_at`]) and errors returned by a [`crate::KeySink`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A wrap did not authenticate under the given KEK and mode.
    UnwrapFailed,
    /// The backend cannot run on this CPU.
    Unavailable(Backend),
    /// An output slice whose length is not the batch's.
    Lengths {
        /// Which output: `wrap_batch output`, `unwrap_batch output` or
        /// `rewrap_batch output`.
        what: &'static str,
        /// Items in the batch.
        batch: usize,
        /// Slots in the output that differs.
        slots: usize,
    },
    /// A wrap whose offset runs past the end of its arena.
    Truncated {
        /// Bytes the arena would need to hold the wrap (saturating).
        needed: usize,
        /// Bytes it has.
        got: usize,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::UnwrapFailed => {
                f.write_str("unwrap failed: the wrap does not authenticate under this key")
            }
            Error::Unavailable(b) => write!(f, "{} is not available on this CPU", b.name()),
            Error::Lengths { what, batch, slots } => {
                write!(f, "{what}: {slots} slots for a batch of {batch}")
            }
            Error::Truncated { needed, got } => {
                write!(f, "wrap in arena: truncated ({got} bytes, {needed} needed)")
            }
        }
    }
}

impl std::error::Error for Error {}
