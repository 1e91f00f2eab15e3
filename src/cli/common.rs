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
    /// Spread the tenants over N forests, tenant t in forest t mod N, for designs with a key
    /// held per forest (sharepoint's availability key; the same as `sharepoint:forests=N`).
    /// Default: the run's tenants share one forest.
    #[arg(long, value_name = "N")]
    pub forests: Option<u32>,
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

/// `designs` with `--forests N` applied to those that hold a key per forest;
/// an error when none does (the flag would do nothing).
pub fn with_forests(designs: Vec<Design>, forests: Option<u32>) -> anyhow::Result<Vec<Design>> {
    let Some(n) = forests else {
        return Ok(designs);
    };
    anyhow::ensure!(
        designs.iter().any(Design::has_forest_roles),
        "--forests applies to designs with a key held per forest (sharepoint); none of {} has one",
        designs
            .iter()
            .map(|d| d.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    designs
        .into_iter()
        .map(|d| {
            if d.has_forest_roles() {
                d.with_forests(n).map_err(Into::into)
            } else {
                Ok(d)
            }
        })
        .collect()
}

/// The design named `name`, with `--forests` applied.
pub fn design_arg(name: &str, forests: Option<u32>) -> anyhow::Result<Design> {
    let d = Design::by_name(name)?;
    Ok(with_forests(vec![d], forests)?.remove(0))
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

/// Progress on stderr in named phases, whenever stderr is a terminal
/// (`--json` or not; nothing is drawn into a pipe or a file): a bar with
/// the work done and an estimate of the time left when the phase's amount of
/// work is known, a spinner with the time spent when not. The library
/// reports to it through [`keyhier::internal::engine::progress::Progress`].
#[derive(Clone)]
pub struct Phases {
    bar: indicatif::ProgressBar,
}

/// Shortest time, and share of a phase's work, before an estimate is shown:
/// the first moments of a phase (a thread pool waking, caches filling) say
/// little about its rate ("eta 6w" at the start of a run).
const ESTIMATE_AFTER_SECS: f64 = 1.0;
const ESTIMATE_AFTER_FRACTION: f64 = 0.03;

impl Phases {
    /// Progress drawn on stderr if it is a terminal.
    pub fn new() -> Phases {
        let bar =
            indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
        // nothing is drawn before the first phase names itself
        bar.set_style(blank());
        Phases { bar }
    }

    /// Removes the progress line (before the command prints its results).
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    /// An `advance` callback for library functions that take one (`generate`).
    pub fn inc(&self, n: u64) {
        self.bar.inc(n);
    }
}

impl Drop for Phases {
    fn drop(&mut self) {
        // an error path must not leave a spinner drawn over its message
        self.bar.finish_and_clear();
    }
}

impl keyhier::internal::engine::progress::Progress for Phases {
    fn phase(&self, name: &str, total: Option<u64>) {
        let style = match total {
            Some(_) => {
                "{prefix} [{bar:30}] {percent:>3}% {human_pos}/{human_len} {elapsed:>4} {estimate} {wide_msg}"
            }
            None => "{spinner} {prefix} {elapsed:>4} {wide_msg}",
        };
        // blank while the bar changes, so that no mix of two phases is drawn
        self.bar.set_style(blank());
        self.bar.reset();
        match total {
            Some(t) => self.bar.set_length(t),
            None => self.bar.unset_length(),
        }
        self.bar.set_prefix(name.to_owned());
        self.bar.set_message("");
        self.bar.set_style(
            indicatif::ProgressStyle::with_template(style)
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .with_key("estimate", estimate)
                .progress_chars("=> "),
        );
        self.bar
            .enable_steady_tick(std::time::Duration::from_millis(200));
    }

    fn advance(&self, n: u64) {
        self.bar.inc(n);
    }

    fn doing(&self, what: &str) {
        self.bar.set_message(what.to_owned());
    }
}

/// A style that draws nothing.
fn blank() -> indicatif::ProgressStyle {
    indicatif::ProgressStyle::with_template("")
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner())
}

/// The time left at the phase's mean rate so far, once
/// [`ESTIMATE_AFTER_SECS`] and [`ESTIMATE_AFTER_FRACTION`] of it are behind.
fn estimate(state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write) {
    let (Some(len), pos) = (state.len(), state.pos()) else {
        return;
    };
    let done = if len == 0 {
        0.0
    } else {
        pos as f64 / len as f64
    };
    let spent = state.elapsed().as_secs_f64();
    let _ = if spent < ESTIMATE_AFTER_SECS || done < ESTIMATE_AFTER_FRACTION {
        w.write_str("(estimating)")
    } else {
        let left = spent * (1.0 - done.min(1.0)) / done;
        write!(
            w,
            "about {} left",
            keyhier::internal::report::human_secs(left)
        )
    };
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

/// Where the roots live: `--roots soft` (in process, the default) or
/// `--roots pkcs11` (a PKCS#11 token; PIN from `KEYHIER_PKCS11_PIN`).
#[derive(Args, Debug, Clone)]
pub struct RootArgs {
    /// Where root keys live: soft (in process) or pkcs11 (a token; the scheme is then kwp).
    #[arg(long, default_value = "soft")]
    pub roots: keyhier::RootKind,
    /// The PKCS#11 module (with --roots pkcs11).
    #[arg(long, value_name = "PATH", default_value = keyhier::internal::store::pkcs11::SOFTHSM2_MODULE)]
    pub pkcs11_module: PathBuf,
    /// The token's label (with --roots pkcs11). The PIN comes from KEYHIER_PKCS11_PIN.
    #[arg(long, value_name = "LABEL")]
    pub pkcs11_token: Option<String>,
}

/// Operations per kind of the rate measured before a run with roots in a token.
pub const RATE_SAMPLE: u64 = 2000;

impl RootArgs {
    /// The token's backend (`None`: roots in process).
    pub fn backend(&self) -> anyhow::Result<Option<std::sync::Arc<dyn keyhier::RootBackend>>> {
        match self.roots {
            keyhier::RootKind::Soft => Ok(None),
            keyhier::RootKind::Pkcs11 => {
                let label = self
                    .pkcs11_token
                    .as_deref()
                    .ok_or_else(|| anyhow::anyhow!("--roots pkcs11 needs --pkcs11-token LABEL"))?;
                let pin = keyhier::internal::store::pkcs11::pin_from_env()?;
                let b = keyhier::Pkcs11Roots::open(&self.pkcs11_module, label, &pin)?;
                Ok(Some(std::sync::Arc::new(b)))
            }
        }
    }

    /// The scheme of a hierarchy whose roots live here: a token wraps with
    /// RFC 5649, so `kwp` (the default `kw` is taken to mean it).
    pub fn scheme(&self, asked: SchemeId) -> SchemeId {
        match (self.roots, asked) {
            (keyhier::RootKind::Pkcs11, SchemeId::Kw) => SchemeId::Kwp,
            (_, s) => s,
        }
    }
}

/// The backend's rates, measured now (none without a backend).
pub fn root_rates(
    b: Option<&std::sync::Arc<dyn keyhier::RootBackend>>,
) -> anyhow::Result<Option<keyhier::RootRates>> {
    b.map(|b| keyhier::measure_rates(b, RATE_SAMPLE))
        .transpose()
        .map_err(Into::into)
}
