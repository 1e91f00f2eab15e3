//! Rows to files a person reads: markdown summaries, CSV, JSON and SVG plots
//! ([`summary`], [`plot`]). The reporter never measures anything.

pub mod plot;
pub mod summary;
