//! What is kept on disk: hierarchy files ([`hfile`]: stored wraps only),
//! keyrings ([`keyring`]: the root keys, secret) and atomic writes
//! ([`atomic`]). Decoders are strict: untrusted bytes become a typed value or
//! a typed error.

pub mod atomic;
pub mod hfile;
pub mod keyring;
pub mod pkcs11;
