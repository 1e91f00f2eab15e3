//! keyhier: a benchmark and fuzzing harness for envelope-encryption key hierarchies.
//!
//! # Architecture
//!
//! Data flows one way, and the modules say so:
//!
//! ```text
//! scheme, wire        how one key is wrapped under another; how one wrap is stored
//!   -> model          the key graph: keys, slots, thresholds, arenas of stored wraps
//!   -> design         designs as data (m365, flat, dke, threshold, sharepoint, tree:...)
//!   -> generate       a design + a shape + a seed -> a hierarchy (parallel, deterministic)
//!   -> recover        open keys from available roots; analysis of exposure and availability
//!   -> workload       provision, unwrap-all, rotate-root, revoke, shred (typed rows)
//!   -> report         rows to csv / json / markdown / svg
//!   -> cli            the `keyhier` binary
//! ```
//!
//! - [`scheme`] knows nothing of tenants or designs; [`wire`] only encodes and
//!   decodes one stored wrap.
//! - Key material lives in [`secret`] newtypes that zeroize on drop and never
//!   print their bytes.
//! - Every decoder of untrusted bytes returns [`Error`]; none panics.
//! - [`fuzzing`] holds the body of every fuzz target, so `cargo fuzz` and the
//!   stable `cargo test` corpus replay run the same code.
// The SIMD kernels and their intrinsics live in the kernel crate
// (`crates/batchwrap`, adapted by `fastkw`); nothing here may opt out.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod analysis;
pub mod batch;
pub mod compare;
pub mod cost;
pub mod design;
pub mod error;
pub mod fastkw;
#[doc(hidden)]
pub mod fuzzing;
pub mod generate;
pub mod hfile;
pub mod keyring;
pub mod model;
pub mod par;
pub mod perf;
pub mod plan;
pub mod plot;
pub mod prf;
pub mod recover;
pub mod report;
pub mod scheme;
pub mod secret;
pub mod shamir;
pub mod shape;
pub mod sysinfo;
pub mod vectors;
pub mod wire;
pub mod workload;

pub use error::{Error, Result};
pub use scheme::{Kek, SchemeId, WrapContext};
pub use secret::{Key256, SecretBytes};
