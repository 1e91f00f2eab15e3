//! A KEK prepared for batches: the round keys every backend needs, built once
//! per KEK, zeroized on drop, never printed. It holds keys only; which backend
//! runs them is decided in `backends`.

use std::sync::OnceLock;

use aes::Aes256;
use aes::cipher::KeyInit;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::Backend;

/// A KEK prepared for batched wrapping: the AES-256 encryption and decryption
/// round keys, for the portable path and (where AES-NI is present) for the
/// intrinsic paths. Zeroized on drop; `Debug` prints nothing of the key.
pub struct BatchKek {
    /// The key, kept to build `cipher` on first use (most KEKs never need it).
    key: [u8; 32],
    /// Boxed: it is large, seldom built, and the struct is moved on creation.
    cipher: OnceLock<Box<Aes256>>,
    /// The intrinsic backends' round keys; `None` on a CPU without AES-NI.
    #[cfg(target_arch = "x86_64")]
    pub(crate) x86: Option<crate::backends::RoundKeys>,
}

impl BatchKek {
    /// Expands `kek` into round keys. Build it once per KEK and reuse it.
    pub fn new(kek: &[u8; 32]) -> Self {
        BatchKek {
            key: *kek,
            cipher: OnceLock::new(),
            #[cfg(target_arch = "x86_64")]
            x86: crate::backends::RoundKeys::new(kek),
        }
    }

    /// The `aes` crate's cipher (the portable path), built on first use: its
    /// key schedule costs about as much as rewrapping a few keys, and the
    /// intrinsic backends never need it.
    pub(crate) fn cipher(&self) -> &Aes256 {
        self.cipher
            .get_or_init(|| Box::new(Aes256::new(&self.key.into())))
    }

    /// Whether this KEK holds the round keys `backend` runs on.
    pub(crate) fn has_keys_for(&self, backend: Backend) -> bool {
        #[cfg(target_arch = "x86_64")]
        return backend == Backend::Portable || self.x86.is_some();
        #[cfg(not(target_arch = "x86_64"))]
        return backend == Backend::Portable;
    }
}

impl Drop for BatchKek {
    fn drop(&mut self) {
        // `Aes256` zeroizes its own round keys on drop (the `zeroize` feature).
        self.key.zeroize();
        #[cfg(target_arch = "x86_64")]
        self.x86.zeroize();
    }
}

impl ZeroizeOnDrop for BatchKek {}

impl core::fmt::Debug for BatchKek {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("BatchKek(<redacted>)")
    }
}
