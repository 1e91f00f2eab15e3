//! The engine: generation ([`generate`]), recovery ([`recover`]), the
//! analytic model of every change ([`plan`]), the workloads that execute and
//! meter it ([`workload`]), the parallel split of tenants ([`par`]) and the
//! key-service cost profiles ([`cost`]). It never branches on a design's name.

pub mod adversary;
pub mod audit;
pub mod budget;
pub mod cost;
pub mod generate;
pub mod history;
pub mod par;
pub mod plan;
pub mod recover;
pub mod workload;
