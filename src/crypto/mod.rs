//! Cryptography, and nothing else: key newtypes that zeroize ([`secret`]), the
//! wrap schemes behind one trait ([`scheme`]), the wire format of one stored
//! wrap ([`wire`]), Shamir sharing over GF(2^8) ([`shamir`]), the seeded PRF of
//! reproducible runs ([`prf`]), where root keys live ([`root`]: in process or in a backend), batching of many wraps by KEK ([`batch`]) over
//! the batched kernels ([`fastkw`], the `batchwrap` crate), and known-answer
//! files ([`vectors`]). It knows no tenants, designs or hierarchies.

pub mod batch;
pub mod fastkw;
pub mod prf;
pub mod root;
pub mod scheme;
pub mod secret;
pub mod shamir;
pub mod vectors;
pub mod wire;
