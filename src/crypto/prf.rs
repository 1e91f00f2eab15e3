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

use crate::crypto::scheme::{NONCE_LEN, WrapContext};
use crate::crypto::secret::{KEY_LEN, Key256};

/// What a derived value is for (domain separation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Domain {
    /// Key material of a node at a version.
    Key = 1,
    /// Formerly GCM / GCM-SIV nonces (now [`Prf::wrap_nonce`]); kept so
    /// that the other domains keep their values.
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

    /// The AES input block `ctr` for `(domain, a, b)`.
    fn input(domain: Domain, a: u64, b: u32, ctr: u8) -> [u8; 16] {
        let mut blk = [0u8; 16];
        blk[0] = domain as u8;
        blk[1] = ctr;
        blk[2..10].copy_from_slice(&a.to_be_bytes());
        blk[10..14].copy_from_slice(&b.to_be_bytes());
        blk
    }

    fn blocks(&self, domain: Domain, a: u64, b: u32) -> [u8; 32] {
        let mut arr = [0, 1].map(|ctr| aes::Block::from(Self::input(domain, a, b, ctr)));
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

    /// The keys of `(node, version)` pairs, equal to [`Prf::node_key`] of
    /// each, from one AES call per 128 keys: a call prepares its round keys
    /// first, which for one key costs more than the two blocks themselves.
    pub fn node_keys(&self, nodes: &[(u32, u32)]) -> Vec<Key256> {
        const PER_CALL: usize = 128;
        let mut out = Vec::with_capacity(nodes.len());
        let mut buf: [aes::Block; 2 * PER_CALL] = core::array::from_fn(|_| aes::Block::default());
        for chunk in nodes.chunks(PER_CALL) {
            let blocks = &mut buf[..2 * chunk.len()];
            for (pair, &(n, v)) in blocks.chunks_exact_mut(2).zip(chunk) {
                for (ctr, blk) in (0u8..).zip(pair.iter_mut()) {
                    *blk = aes::Block::from(Self::input(Domain::Key, u64::from(n), v, ctr));
                }
            }
            self.cipher.encrypt_blocks(blocks);
            for pair in blocks.chunks_exact(2) {
                let mut k = Key256::default();
                k.expose_mut()[..16].copy_from_slice(&pair[0]);
                k.expose_mut()[16..].copy_from_slice(&pair[1]);
                out.push(k);
            }
        }
        for blk in &mut buf {
            zeroize::Zeroize::zeroize(blk.as_mut_slice());
        }
        out
    }

    /// The nonce of a wrap of `plaintext` under the context `ctx` (AEAD
    /// schemes only): the first 96 bits of SHA-256 over a label, this PRF's
    /// seed, the full context (key, key version, KEK, KEK version, share,
    /// share generation, layer, scheme, tenant) and the plaintext.
    ///
    /// A counter cannot be unique here: two histories forked from one state
    /// reach the same generation and seal different keys under the same KEK.
    /// Derived this way (a synthetic IV), one KEK version sealing the same
    /// nonce twice means the same context and plaintext (the same ciphertext,
    /// harmless) unless SHA-256 collides on 96 bits: for `n` wraps under one
    /// KEK version, across every history and seed, the chance of any repeat
    /// is below n²/2^97 (2^-33 at n = 2^32, NIST's bound for random nonces).
    /// Reproducible: the same seed, context and plaintext give the same nonce.
    pub fn wrap_nonce(&self, ctx: &WrapContext, plaintext: &[u8]) -> [u8; NONCE_LEN] {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(b"keyhier wrap nonce v2\0");
        h.update(self.seed.to_be_bytes());
        h.update(ctx.encode());
        h.update((plaintext.len() as u32).to_be_bytes());
        h.update(plaintext);
        let d = h.finalize();
        let mut n = [0u8; NONCE_LEN];
        n.copy_from_slice(&d[..NONCE_LEN]);
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
    fn node_keys_equal_node_key_one_by_one() {
        let p = Prf::new(9);
        for n in [0usize, 1, 2, 127, 128, 129, 300] {
            let nodes: Vec<(u32, u32)> = (0..n as u32).map(|i| (i * 7 + 1, i % 3 + 1)).collect();
            let got = p.node_keys(&nodes);
            assert_eq!(got.len(), n);
            for (&(node, v), k) in nodes.iter().zip(&got) {
                assert_eq!(*k, p.node_key(node, v), "{n} keys: node {node}");
            }
        }
    }

    #[test]
    fn deterministic_and_separated() {
        let p = Prf::new(7);
        let q = Prf::new(7);
        assert_eq!(p.node_key(3, 1), q.node_key(3, 1));
        assert_ne!(p.node_key(3, 1), p.node_key(3, 2));
        assert_ne!(p.node_key(3, 1), p.node_key(4, 1));
        assert_ne!(p.node_key(3, 1), Prf::new(8).node_key(3, 1));
        assert_ne!(p.key(Domain::Key, 3, 1), p.key(Domain::Share, 3, 1));
        let ctx = WrapContext {
            tenant: 1,
            key_id: 2,
            key_version: 1,
            kek_id: 0,
            kek_version: 1,
            scheme: crate::crypto::scheme::SchemeId::Gcm,
            share: 0,
            share_gen: 0,
            layer: 0,
        };
        let n = p.wrap_nonce(&ctx, &[1; 32]);
        assert_eq!(n, q.wrap_nonce(&ctx, &[1; 32]), "reproducible");
        assert_ne!(n, p.wrap_nonce(&ctx, &[2; 32]), "another plaintext");
        assert_ne!(n, Prf::new(8).wrap_nonce(&ctx, &[1; 32]), "another seed");
        for other in [
            WrapContext {
                key_version: 2,
                ..ctx
            },
            WrapContext {
                share_gen: 1,
                ..ctx
            },
            WrapContext { layer: 1, ..ctx },
            WrapContext {
                kek_version: 2,
                ..ctx
            },
        ] {
            assert_ne!(n, p.wrap_nonce(&other, &[1; 32]), "{other:?}");
        }
    }
}
