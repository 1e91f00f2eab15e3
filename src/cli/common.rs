//! What several subcommands share: the shape flags, the design list, the
//! thread pool, progress bars, the command line and today's date for the
//! results folders.

use std::path::PathBuf;

use clap::Args;
use keyhier::{DESIGN_NAMES, Design, Dist, GenSpec, Preset, SchemeId, Shape};

/// Shape of the hierarchy: a preset, optionally overridden flag by flag.
#[derive(Args, Debug, Clone)]
pub struct ShapeArgs {
    /// Preset of the shape, by size.
    #[arg(long, default_value = "small")]
    pub preset: Preset,
    /// Number of tenants (overrides the preset).
    #[arg(long)]
    pub tenants: Option<u32>,
    /// Groups (DEPs, sites) per tenant: N, uniform:MIN-MAX or zipf:S:MAX (by tenant rank).
    #[arg(long, value_name = "DIST")]
    pub groups_per_tenant: Option<String>,
    /// Leaves (mailboxes, blobs) per group: N, uniform:MIN-MAX or zipf:S:MAX.
    #[arg(long, value_name = "DIST")]
    pub leaves_per_group: Option<String>,
    /// Seed of every key, nonce and uniform draw.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Wrap scheme: kw (RFC 3394), kwp (RFC 5649), gcm, gcm-siv.
    #[arg(long, default_value = "kw")]
    pub scheme: SchemeId,
}

impl ShapeArgs {
    /// The preset's shape with the overrides applied, validated.
    pub fn shape(&self) -> anyhow::Result<Shape> {
        let mut shape = self.preset.shape;
        if let Some(t) = self.tenants {
            shape.tenants = t;
        }
        if let Some(g) = &self.groups_per_tenant {
            shape.groups = Dist::parse(g)?;
        }
        if let Some(l) = &self.leaves_per_group {
            shape.leaves = Dist::parse(l)?;
        }
        shape.validate()?;
        Ok(shape)
    }
}

/// The designs named (`all`: every built-in design).
pub fn designs_arg(names: &[String]) -> anyhow::Result<Vec<Design>> {
    let names: Vec<&str> = if names.iter().any(|n| n == "all") {
        DESIGN_NAMES.to_vec()
    } else {
        names.iter().map(String::as_str).collect()
    };
    names
        .into_iter()
        .map(|n| Design::by_name(n).map_err(Into::into))
        .collect()
}

/// A rayon pool of `threads` workers (default: all cores).
pub fn pool(threads: Option<usize>) -> anyhow::Result<rayon::ThreadPool> {
    let mut b = rayon::ThreadPoolBuilder::new();
    if let Some(t) = threads {
        anyhow::ensure!((1..=1024).contains(&t), "--threads must be 1 to 1024");
        b = b.num_threads(t);
    }
    Ok(b.build()?)
}

/// A progress bar of `len` steps, labelled `what`.
pub fn progress_bar(len: u64, what: &str) -> indicatif::ProgressBar {
    let pb = indicatif::ProgressBar::new(len);
    pb.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg:>12} [{bar:40}] {pos}/{len} ({percent}%) eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    pb.set_message(what.to_owned());
    pb
}

/// Keys `spec` generates, counted from its shape (the generation progress bar's length).
pub fn estimate_nodes(spec: &GenSpec) -> u64 {
    // From the distributions, without visiting every tenant and group (an
    // absurd shape must fail at once in the generator's own check).
    keyhier::internal::engine::budget::estimate(&spec.design, &spec.shape, spec.scheme).keys as u64
}

/// This invocation as `keyhier ARGS...`, for the results it writes.
pub fn command_line() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    format!("keyhier {}", args.join(" "))
}

/// The default results folder: `results/<date>-<host>-<label>`.
pub fn results_dir(label: &str) -> PathBuf {
    PathBuf::from("results").join(format!(
        "{}-{}-{label}",
        keyhier::internal::report::today_utc(),
        keyhier::internal::sysinfo::host_name()
    ))
}

/// Parses a rate: a finite number of operations per second above 0.
pub fn positive_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if r.is_finite() && r > 0.0 => Ok(r),
        Ok(r) => Err(format!("{r} is not a rate: give a finite number above 0")),
        Err(e) => Err(format!("{s:?}: {e}")),
    }
}
