//! Rows to files a person reads: Markdown summaries, CSV, JSON and SVG plots.
//! The reporter never measures anything.
//!
//! - [`markdown`]: the tables and text of single results (`blast`, `run`)
//!   and the figure formats the summaries share;
//! - [`csv`]: every CSV file, through the `csv` crate;
//! - [`env`]: `env.json` and the date of a results folder's name;
//! - [`compare`] and [`perf`]: the two results folders;
//! - [`plot`]: the SVG plots;
//! - `folder`: writing a results folder's files atomically.

pub mod compare;
pub mod csv;
pub mod env;
mod folder;
pub mod markdown;
pub mod perf;
pub mod plot;

pub use compare::{summary_markdown, write_compare};
pub use csv::{blast_csv, perf_csv, runs_csv};
pub use env::{crate_versions, env_json, today_utc};
pub use markdown::{blast_markdown, human_secs, run_text};
pub use perf::write_perf;
