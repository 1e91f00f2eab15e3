//! Suites of runs over the engine: [`compare`] (every design × workload, the
//! exposure tables, a sweep over sizes) and [`perf`] (primitives, peers and
//! bulk workloads timed side by side in rounds). They return rows; the
//! reporter writes them.

pub mod compare;
pub mod perf;
