//! The subcommands, one file each: each turns its raw arguments into a
//! validated spec, calls the library and reports. [`common`] holds what
//! several share (the shape flags, the thread pool, progress bars, dates).

pub mod blast;
pub mod common;
pub mod compare;
pub mod corpus;
pub mod generate;
pub mod history;
pub mod perf;
pub mod risk;
pub mod run;
pub mod simulate;
pub mod token;
pub mod vectors;
pub mod verify;
