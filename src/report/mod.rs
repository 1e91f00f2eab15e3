//! Rows to files a person reads: Markdown summaries, CSV, JSON and SVG plots.
//! The reporter never measures anything.
//!
//! - [`markdown`]: the tables and text of single results (`blast`, `run`)
//!   and the figure formats the summaries share;
//! - [`csv`]: every CSV file, through the `csv` crate;
//! - [`env`]: `env.json` and the date of a results folder's name;
//! - [`compare`] and [`perf`]: the two results folders;
//! - [`plot`]: the SVG plots;
//! - [`service`]: a simulated key-service run (summary, timeline CSV and plot);
//! - [`control`]: who controls a run, and a purge's steps and residue;
//! - [`risk`]: `keyhier risk` as Markdown, and its sensitivity plot;
//! - [`states`]: the lost / revoked / leaked table of `keyhier blast`;
//! - [`lazy`]: a lazy key roll over time (`run --lazy`), as text and SVG;
//! - `folder`: writing a results folder's files atomically.

pub mod bought;
pub mod compare;
pub mod control;
pub mod csv;
pub mod env;
mod folder;
pub mod lazy;
pub mod markdown;
pub mod perf;
pub mod plot;
pub mod risk;
pub mod service;
pub mod states;

pub use compare::{summary_markdown, write_compare};
pub use csv::{blast_csv, perf_csv, runs_csv};
pub use env::{crate_versions, env_json, today_utc};
pub use markdown::{blast_markdown, human_secs, run_text};
pub use perf::write_perf;

/// A workload label of the report's tables and plots, with `{customer}` and
/// `{provider}` standing for the design's first root of that owner (`ck1` and
/// `ak` in every built-in design): the reporter picks rows by owner, never by
/// the names of one design's roles.
pub(crate) fn label_for(design: &str, template: &str) -> String {
    use crate::graph::design::{Design, Owner};
    let d = Design::by_name(design).ok();
    let first = |o: Owner| {
        d.as_ref()
            .and_then(|d| {
                d.roots_of(o)
                    .first()
                    .map(|&r| d.roles[usize::from(r)].name.clone())
            })
            .unwrap_or_else(|| format!("({} root)", o.name()))
    };
    template
        .replace("{customer}", &first(Owner::Customer))
        .replace("{provider}", &first(Owner::Provider))
}

/// The template as a legend names it: `rotate-root customer root all`.
pub(crate) fn legend_of(template: &str) -> String {
    template
        .replace("{customer}", "customer root")
        .replace("{provider}", "provider root")
}
