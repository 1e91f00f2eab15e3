//! Deterministic key material for reproducible benchmarks.
//!
//! Every key, GCM nonce and share polynomial of a generated hierarchy is a
//! pure function of the run's seed and of small integers (node, version,
//! generation), computed as AES-256 in counter mode under a seed-derived key
//! (a PRF in the sense of SP 800-108's counter mode, with AES as the PRF;
//! no new primitive). That makes generation parallel and byte-identical
//! whatever the thread count, and lets verification recompute the expected
//! key of any leaf without storing it.
//!
//! This is for benchmarks: anyone holding the seed holds every key. The seed
//! therefore goes into the keyring file, never into the hierarchy file.

use aes::Aes256;
use aes::cipher::{BlockCipherEncrypt, KeyInit};
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};

use crate::scheme::NONCE_LEN;
use crate::secret::{KEY_LEN, Key256};

/// What a derived value is for (domain separation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Domain {
    /// Key material of a node at a version.
    Key = 1,
    /// A GCM / GCM-SIV nonce.
    Nonce = 2,
    /// Coefficients of a secret-sharing polynomial.
    Share = 3,
    /// Data encryption keys and nonces in the re-encryption workload.
    Data = 4,
}

/// The seeded PRF.
pub struct Prf {
    cipher: Aes256,
    seed: u64,
}

impl core::fmt::Debug for Prf {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Prf(seed <redacted>)")
    }
}

impl Prf {
    /// The PRF of `seed`. The AES key is drawn from ChaCha20 seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let mut k = Key256::default();
        rng.fill_bytes(k.expose_mut());
        let cipher = Aes256::new(k.expose().into());
        Prf { cipher, seed }
    }

    /// The seed this PRF was made from (secret: it derives every key).
    pub fn seed(&self) -> u64 {
        self.seed
    }

    fn blocks(&self, domain: Domain, a: u64, b: u32) -> [u8; 32] {
        let mut blocks = [[0u8; 16]; 2];
        for (ctr, blk) in blocks.iter_mut().enumerate() {
            blk[0] = domain as u8;
            blk[1] = ctr as u8;
            blk[2..10].copy_from_slice(&a.to_be_bytes());
            blk[10..14].copy_from_slice(&b.to_be_bytes());
        }
        let mut arr = blocks.map(aes::Block::from);
        self.cipher.encrypt_blocks(&mut arr);
        let mut out = [0u8; 32];
        out[..16].copy_from_slice(&arr[0]);
        out[16..].copy_from_slice(&arr[1]);
        out
    }

    /// 32 derived bytes for `(domain, a, b)`, as a key.
    pub fn key(&self, domain: Domain, a: u64, b: u32) -> Key256 {
        let mut bytes = self.blocks(domain, a, b);
        let k = Key256::from_bytes(bytes);
        zeroize::Zeroize::zeroize(&mut bytes);
        k
    }

    /// Key material of node `node` at `version`.
    pub fn node_key(&self, node: u32, version: u32) -> Key256 {
        self.key(Domain::Key, u64::from(node), version)
    }

    /// A nonce unique to `(slot, layer, generation)`.
    pub fn nonce(&self, slot: u32, layer: u8, generation: u32) -> [u8; NONCE_LEN] {
        let b = self.blocks(
            Domain::Nonce,
            (u64::from(slot) << 8) | u64::from(layer),
            generation,
        );
        let mut n = [0u8; NONCE_LEN];
        n.copy_from_slice(&b[..NONCE_LEN]);
        n
    }

    /// Fills `out` with derived bytes for `(domain, a, b)` (any length).
    pub fn fill(&self, domain: Domain, a: u64, b: u32, out: &mut [u8]) {
        for (i, chunk) in out.chunks_mut(KEY_LEN).enumerate() {
            // Counter blocks beyond the first pair use the high bits of `b`'s neighbour, a.
            let mut blk = self.blocks(domain, a ^ ((i as u64) << 48), b);
            chunk.copy_from_slice(&blk[..chunk.len()]);
            zeroize::Zeroize::zeroize(&mut blk);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_separated() {
        let p = Prf::new(7);
        let q = Prf::new(7);
        assert_eq!(p.node_key(3, 1), q.node_key(3, 1));
        assert_ne!(p.node_key(3, 1), p.node_key(3, 2));
        assert_ne!(p.node_key(3, 1), p.node_key(4, 1));
        assert_ne!(p.node_key(3, 1), Prf::new(8).node_key(3, 1));
        assert_ne!(p.key(Domain::Key, 3, 1), p.key(Domain::Share, 3, 1));
        assert_ne!(p.nonce(1, 0, 0), p.nonce(1, 1, 0));
        assert_ne!(p.nonce(1, 0, 0), p.nonce(1, 0, 1));
    }
}
