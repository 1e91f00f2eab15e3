//! The engine: generation ([`generate`]), recovery ([`recover`]), the
//! analytic model of every change ([`plan`]), the workloads that execute and
//! meter it ([`workload`]), the parallel split of tenants ([`par`]) and the
//! key services that serve the root operations ([`service`]: profiles, the
//! simulator, the fallback order), and the [`progress`] callers pass in to
//! see long work advance. It never branches on a design's name, and never prints.

pub mod adversary;
pub mod audit;
pub mod budget;
pub mod generate;
pub mod history;
pub mod par;
pub mod plan;
pub mod progress;
pub mod recover;
pub mod service;
pub mod workload;
