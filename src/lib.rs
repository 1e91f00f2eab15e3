//! keyhier: a benchmark and fuzzing harness for envelope-encryption key hierarchies.
//!
//! # The map
//!
//! Data flows one way; each folder is a layer and imports only from the layers
//! above it in this list (`ARCHITECTURE.md` says where a new design, workload,
//! scheme, store or report goes):
//!
//! ```text
//! error, stats, sysinfo  foundation: the one Error, medians and quantiles, this machine
//! crypto/    secrets, wrap schemes, wire format of one wrap, Shamir, PRF,
//!            batching by KEK (over the `batchwrap` kernel crate), known answers
//!                                              (knows no tenants or designs)
//! graph/     designs as data, shapes, the struct-of-arrays hierarchy, skeletons,
//!            crypto-free reach, operation counts      (no cryptography)
//! store/     hierarchy files, keyrings, atomic writes (what is kept on disk)
//! engine/    generate, recover, plan (the analytic model), workloads, key-service costs
//! analysis/  exposure, availability, states, risk, lazy roll (graph reasoning over designs)
//! suite/     compare (every design × workload), perf (timed rounds)
//! report/    rows to CSV / JSON / markdown / SVG      (never measures anything)
//! fuzzing/   the body of every fuzz target (through [`internal`])
//! main.rs    the `keyhier` CLI (src/cli/: one file per subcommand)
//! ```
//!
//! The public interface is the re-exports below; [`internal`] is for the fuzz
//! targets, tests and benchmarks, and is not a stable API.
//!
//! - Key material lives in newtypes that zeroize on drop and never print
//!   their bytes.
//! - Every decoder of untrusted bytes returns [`Error`]; none panics.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod analysis;
mod crypto;
mod engine;
mod error;
mod fuzzing;
mod graph;
mod report;
mod stats;
mod store;
mod suite;
mod sysinfo;

pub use crypto::root::{RootBackend, RootKind, RootRates, SoftRoots, measure_rates};
pub use crypto::scheme::{Kek, SchemeId, WrapContext};
pub use crypto::secret::{Key256, SecretBytes};
pub use engine::adversary::{Adversary, Exposure, OneMore};
pub use engine::generate::{GenSpec, generate, generate_in};
pub use engine::plan::{REMEDIES, Remedy, RemedyInfo};
pub use engine::workload::{
    DataMode, DataReencryption, Primitive, Reference, RemedyCost, RolePick, RootBackendRow,
    RunOptions, RunRow, State, Verification, Workload, WorkloadKind, WorkloadSpec, run,
    run_against,
};
pub use error::{Error, Result};
pub use graph::counts::Counts;
pub use graph::design::{DESIGN_NAMES, Design, Owner, Role, RoleId, Scope};
pub use graph::hierarchy::Hierarchy;
pub use graph::reach::Extent;
pub use graph::shape::{Dist, PRESETS, Preset, Shape};
pub use store::keyring::Keyring;
pub use store::pkcs11::Pkcs11Roots;

/// What the fuzz targets, the tests and the benchmarks reach. Not a stable API.
#[doc(hidden)]
pub mod internal {
    /// Cryptography: schemes, secrets, wire format, batching.
    pub mod crypto {
        pub use crate::crypto::*;
    }
    /// The key graph.
    pub mod graph {
        pub use crate::graph::*;
    }
    /// Files on disk.
    pub mod store {
        pub use crate::store::*;
    }
    /// Generation, recovery, plans, workloads.
    pub mod engine {
        pub use crate::engine::*;
    }
    /// Exposure and availability.
    pub mod analysis {
        pub use crate::analysis::*;
    }
    /// Suites of runs.
    pub mod suite {
        pub use crate::suite::*;
    }
    /// Output.
    pub mod report {
        pub use crate::report::*;
    }
    /// Fuzz target bodies.
    pub mod fuzzing {
        pub use crate::fuzzing::*;
    }
    /// Medians and quantiles.
    pub mod stats {
        pub use crate::stats::*;
    }
    /// This machine.
    pub mod sysinfo {
        pub use crate::sysinfo::*;
    }
}
