//! Key material: newtypes that zeroize on drop and never print their bytes.
//!
//! This module owns nothing but containers. It does not generate keys (see
//! [`crate::crypto::prf`]) and does not wrap them (see [`crate::crypto::scheme`]).

use core::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Length of every key in a hierarchy: AES-256.
pub const KEY_LEN: usize = 32;

/// A 256-bit key. Zeroized on drop; `Debug` prints nothing of the bytes.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop, Default)]
pub struct Key256([u8; KEY_LEN]);

impl Key256 {
    /// Wraps raw bytes. The caller's copy is its own to zeroize.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Key256(bytes)
    }

    /// Copies a key from a slice of exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        let arr: [u8; KEY_LEN] = bytes.try_into().ok()?;
        Some(Key256(arr))
    }

    /// The key bytes.
    pub fn expose(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// Mutable access to the key bytes, for filling in place.
    pub fn expose_mut(&mut self) -> &mut [u8; KEY_LEN] {
        &mut self.0
    }

    /// Constant-time equality.
    pub fn ct_eq(&self, other: &Key256) -> bool {
        ct_eq(&self.0, &other.0)
    }
}

impl fmt::Debug for Key256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key256(<redacted>)")
    }
}

/// Variable-length secret bytes (a KEK of 16/24/32 bytes, key data in vectors).
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop, Default)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// Takes ownership of the bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        SecretBytes(bytes)
    }

    /// A zero-filled buffer of `len` bytes.
    pub fn zeroed(len: usize) -> Self {
        SecretBytes(vec![0; len])
    }

    /// The bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Mutable bytes.
    pub fn expose_mut(&mut self) -> &mut [u8] {
        &mut self.0
    }

    /// Shortens to `len` bytes, zeroizing what is cut off.
    pub fn truncate(&mut self, len: usize) {
        if len < self.0.len() {
            self.0[len..].zeroize();
            self.0.truncate(len);
        }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes(<{} bytes redacted>)", self.0.len())
    }
}

/// Constant-time comparison of two byte strings (length is not secret).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    core::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_bytes() {
        let k = Key256::from_bytes([0xAB; 32]);
        let s = format!("{k:?}");
        assert!(!s.to_lowercase().contains("ab"), "{s}");
        let b = SecretBytes::new(vec![0xCD; 24]);
        let s = format!("{b:?}");
        assert!(!s.to_lowercase().contains("cd"), "{s}");
        assert!(s.contains("24"));
    }

    #[test]
    fn ct_eq_compares() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
    }
}
