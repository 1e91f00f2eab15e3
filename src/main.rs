//! The `keyhier` command line. Each subcommand parses its arguments here and
//! calls the library; nothing below `main` computes anything itself.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use keyhier::SchemeId;
use keyhier::internal::analysis::exposure as analysis;
use keyhier::internal::engine::generate::{GenSpec, generate};
use keyhier::internal::graph::design::{DESIGN_NAMES, Design};
use keyhier::internal::graph::shape::{Dist, Shape};
use keyhier::internal::store::hfile;
use keyhier::internal::sysinfo;

/// keyhier: measure, compare and fuzz envelope-encryption key hierarchies.
///
/// A hierarchy is a graph of keys: roots held in a keyring (customer keys
/// ck1/ck2, provider availability keys ak), intermediate keys (DEP, TIK, site)
/// and leaves (mailbox, blob keys), each non-root key stored wrapped in one or
/// more slots. keyhier generates large multi-tenant hierarchies for several
/// designs and measures what each costs to operate and what a leaked or lost
/// key exposes.
///
/// Designs: m365 (Exchange Online Customer Key), flat (multi-keyring), dke
/// (double key), threshold (2-of-3 shares), sharepoint (SharePoint Online
/// Customer Key with a global availability key), tree:F1,F2,... (deeper trees).
///
/// Start with `keyhier blast --preset tiny` to see exposure and availability
/// across designs, then `keyhier gen --design m365 --preset small`.
#[derive(Parser, Debug)]
#[command(name = "keyhier", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run known-answer vector files (NIST CAVP KW/KWP .txt, Wycheproof JSON) against the schemes.
    ///
    /// A directory means every vector file in it (recursively). Prints per file how
    /// many cases passed, failed and were skipped (with the reason), then a closing
    /// line `N passed, N failed`. Exit status 0 only when a case ran and none failed.
    Vectors {
        /// Vector files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Generate a hierarchy: counts, bytes per leaf, time; optionally write it to a file.
    ///
    /// The same seed gives a byte-identical file whatever --threads is. The file
    /// holds stored wraps only; root keys go to --keyring FILE (mode 0600) when asked.
    Gen(GenArgs),
    /// Exposure and availability: what a leaked or lost root (or pair of roots) reaches.
    ///
    /// For each root role and each pair, at extent one (the key above the most
    /// leaves), tenant (every key of the role in the largest tenant) and all (the
    /// role everywhere), the leaves an attacker holding those keys and every stored
    /// wrap recovers, and the leaves the owner still recovers after losing them.
    Blast(BlastArgs),
    /// Run one workload on one design, verify it, and report measured beside analytic counts.
    ///
    /// Workloads: provision (wrap every key), unwrap-all (recover every leaf; --cold opens the
    /// whole path per leaf), rotate-root (routine: rewrap every slot under --role; --lazy defers
    /// the rewraps to first access), revoke (compromise of --role: re-key everything it reaches,
    /// re-share leaked shares, replace the root), shred (destroy --tenant's roots and prove what is
    /// left cannot recover its keys).
    ///
    /// Example: keyhier run --design m365 --workload revoke --role ak --scope all --preset small
    Run(RunArgs),
    /// Write the seed corpus of every fuzz target to OUT/<target>/ (see fuzz/README.md).
    Corpus {
        /// Output directory (the repository's is `corpus`).
        #[arg(long)]
        out: PathBuf,
    },
    /// The main job: every design × every workload, exposure and availability, into a results folder.
    ///
    /// Writes DIR (default results/<date>-<host>-<label>/): summary.md (the tables to read first),
    /// raw.csv (one row per run), blast.csv, env.json (machine, seed, git revision, crate versions,
    /// command line) and SVG plots; with --sweep also the cost as the hierarchy grows (tiny, small,
    /// medium). Default: all designs; provision, unwrap-all (cached and cold), rotate-root and revoke
    /// of ck1 and ak at extents one, tenant and all, lazy rotation of ck1, shred of the largest
    /// tenant; preset small. A few minutes on 2 cores.
    Compare(CompareArgs),
    /// Key-wrap speed side by side: aes-kw loop, every batched backend by batch size, the AES
    /// ceiling, the peers (built with --features peers), and bulk workloads at 1 and 2 threads.
    ///
    /// Writes DIR (default results/<date>-<host>-perf/): summary.md, raw.csv, env.json and
    /// batch-size.svg. Implementations are timed in rounds, each once per round, medians kept.
    Perf(PerfArgs),
}

#[derive(Args, Debug)]
struct PerfArgs {
    /// Rounds (each implementation timed once per round).
    #[arg(long, default_value_t = 31)]
    rounds: usize,
    /// Preset of the workload part (flat design), or `none` to skip it.
    #[arg(long, default_value = "medium")]
    preset: String,
    /// Runs of each workload at each thread count, 1 and 2 threads alternating (median kept).
    #[arg(long, default_value_t = 9)]
    runs: usize,
    /// Output folder (default results/<date>-<host>-perf/).
    #[arg(long)]
    out: Option<PathBuf>,
}

fn cmd_perf(a: PerfArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        a.rounds >= 1 && a.runs >= 1,
        "--rounds and --runs must be at least 1"
    );
    let dir = a.out.clone().unwrap_or_else(|| {
        PathBuf::from("results").join(format!("{}-{}-perf", today(), sysinfo::host_name()))
    });
    let spinner = indicatif::ProgressBar::new_spinner();
    spinner.enable_steady_tick(std::time::Duration::from_millis(200));
    spinner.set_message("primitives, side by side");
    let prims = keyhier::internal::suite::perf::primitives(a.rounds)?;
    let works = if a.preset == "none" {
        Vec::new()
    } else {
        spinner.set_message(format!(
            "workloads on flat {} beside the primitive, {} rounds",
            a.preset, a.runs
        ));
        keyhier::internal::suite::perf::workloads(&a.preset, a.runs)?
    };
    spinner.finish_and_clear();
    let command = command_line();
    let env = keyhier::internal::report::summary::env_json(
        1,
        1,
        &command,
        serde_json::json!({ "rounds": a.rounds, "preset": a.preset, "runs": a.runs, "peers": cfg!(feature = "peers"), "fastkw_selected": keyhier::internal::crypto::fastkw::backend_name() }),
    );
    let files =
        keyhier::internal::report::summary::write_perf(&dir, &prims, &works, &command, &env)?;
    println!("wrote {}: {}", dir.display(), files.join(", "));
    Ok(ExitCode::SUCCESS)
}

#[derive(Args, Debug)]
struct CompareArgs {
    /// Preset of the matrix: tiny, small, medium, large, huge.
    #[arg(long, default_value = "small")]
    preset: String,
    /// Designs (space-separated), or `all`.
    #[arg(long, num_args = 1.., default_value = "all")]
    designs: Vec<String>,
    /// Workloads: NAME, NAME:ROLE or NAME:ROLE:EXTENT with NAME one of provision, unwrap-all,
    /// unwrap-all-cold, rotate-root, rotate-root-lazy, revoke, shred (e.g. `revoke:ak:all`);
    /// a bare rotate-root or revoke means ck1 and ak at every extent. Default: the full matrix.
    #[arg(long, num_args = 1..)]
    workloads: Vec<String>,
    /// Output folder (default results/<date>-<host>-<label>/).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Label of the default output folder.
    #[arg(long, default_value = "compare")]
    label: String,
    /// Also sweep rotate-root ck1 and revoke ak over presets tiny, small and medium (log-scale plot).
    #[arg(long)]
    sweep: bool,
    /// Seed of the hierarchies and of new key material.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Wrap scheme: kw, kwp, gcm, gcm-siv.
    #[arg(long, default_value = "kw")]
    scheme: String,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Bytes of data under each re-keyed leaf to re-encrypt.
    #[arg(long, default_value_t = 0)]
    data_bytes_per_leaf: u64,
    /// Your own root-operation rate, beside the built-in profiles.
    #[arg(long)]
    root_ops_per_s: Option<f64>,
}

fn compare_workloads(
    specs: &[String],
) -> anyhow::Result<Vec<keyhier::internal::engine::workload::Workload>> {
    use keyhier::internal::engine::workload::Workload;
    use keyhier::internal::graph::reach::Extent;
    if specs.is_empty() {
        return Ok(keyhier::internal::suite::compare::default_workloads());
    }
    let mut out = Vec::new();
    for spec in specs {
        let parts: Vec<&str> = spec.split(':').collect();
        let roles: Vec<String> = match parts.get(1) {
            Some(r) => vec![r.to_string()],
            None => vec!["ck1".into(), "ak".into()],
        };
        let extents: Vec<Extent> = match parts.get(2) {
            Some(e) => vec![
                Extent::from_name(e)
                    .ok_or_else(|| anyhow::anyhow!("{spec}: extent must be one, tenant or all"))?,
            ],
            None => Extent::ALL.to_vec(),
        };
        match parts[0] {
            "provision" => out.push(Workload::Provision),
            "unwrap-all" => out.push(Workload::UnwrapAll { cold: false }),
            "unwrap-all-cold" => out.push(Workload::UnwrapAll { cold: true }),
            "shred" => out.push(Workload::Shred { tenant: 0 }),
            "rotate-root" | "rotate-root-lazy" | "revoke" => {
                for role in &roles {
                    for &extent in &extents {
                        out.push(match parts[0] {
                            "revoke" => Workload::Revoke {
                                role: role.clone(),
                                extent,
                            },
                            lazy => Workload::RotateRoot {
                                role: role.clone(),
                                extent,
                                lazy: lazy.ends_with("lazy"),
                            },
                        });
                    }
                }
            }
            other => anyhow::bail!("unknown workload {other:?} in {spec:?}"),
        }
    }
    Ok(out)
}

fn cmd_compare(a: CompareArgs) -> anyhow::Result<ExitCode> {
    let plan = keyhier::internal::suite::compare::ComparePlan {
        designs: designs_arg(&a.designs)?,
        workloads: compare_workloads(&a.workloads)?,
        preset: a.preset.clone(),
        shape: Shape::preset(&a.preset)?,
        scheme: SchemeId::from_name(&a.scheme)?,
        opts: keyhier::internal::engine::workload::RunOptions {
            seed: a.seed,
            data_bytes_per_leaf: a.data_bytes_per_leaf,
            root_ops_per_s: a.root_ops_per_s,
            ..Default::default()
        },
        sweep: if a.sweep {
            vec!["tiny".into(), "small".into(), "medium".into()]
        } else {
            vec![]
        },
    };
    let dir = match &a.out {
        Some(d) => d.clone(),
        None => PathBuf::from("results").join(format!(
            "{}-{}-{}",
            today(),
            sysinfo::host_name(),
            a.label
        )),
    };
    let pool = pool(a.threads)?;
    let threads = pool.current_num_threads();
    let pb = progress_bar(
        keyhier::internal::suite::compare::run_count(&plan),
        "comparing",
    );
    let start = std::time::Instant::now();
    let res = pool.install(|| {
        keyhier::internal::suite::compare::compare(&plan, &|label| {
            pb.set_message(label.to_owned());
            pb.inc(1);
        })
    })?;
    pb.finish_and_clear();
    let command = command_line();
    let env = keyhier::internal::report::summary::env_json(
        a.seed,
        threads,
        &command,
        serde_json::json!({ "preset": a.preset, "scheme": a.scheme, "runs": res.rows.len(), "sweep_runs": res.sweep.len(), "seconds": start.elapsed().as_secs_f64() }),
    );
    let title = format!(
        "keyhier compare: {} designs × {} workloads, preset {}",
        plan.designs.len(),
        plan.workloads.len(),
        a.preset
    );
    let files =
        keyhier::internal::report::summary::write_compare(&dir, &res, &title, &command, &env)?;
    let verified = res
        .rows
        .iter()
        .chain(res.sweep.iter().map(|(_, r)| r))
        .filter(|r| r.verification.verified)
        .count();
    let matched = res
        .rows
        .iter()
        .chain(res.sweep.iter().map(|(_, r)| r))
        .filter(|r| r.counts_match)
        .count();
    let total = res.rows.len() + res.sweep.len();
    println!(
        "{total} runs in {:.1} s: {verified} verified, {matched} with counts equal to the model",
        start.elapsed().as_secs_f64()
    );
    println!("wrote {}: {}", dir.display(), files.join(", "));
    Ok(if verified == total && matched == total {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Today's date (UTC) as YYYY-MM-DD, from the system clock.
fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86_400) as i64;
    // civil-from-days (Howard Hinnant's algorithm)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    format!("{:04}-{:02}-{:02}", if m <= 2 { y + 1 } else { y }, m, d)
}

/// Shape of the hierarchy: a preset, optionally overridden flag by flag.
#[derive(Args, Debug, Clone)]
struct ShapeArgs {
    /// Preset: tiny (~100 leaves), small (~100k), medium (~1M), large (~10M), huge (~100M).
    #[arg(long, default_value = "small")]
    preset: String,
    /// Number of tenants (overrides the preset).
    #[arg(long)]
    tenants: Option<u32>,
    /// Groups (DEPs, sites) per tenant: N, uniform:MIN-MAX or zipf:S:MAX (by tenant rank).
    #[arg(long, value_name = "DIST")]
    groups_per_tenant: Option<String>,
    /// Leaves (mailboxes, blobs) per group: N, uniform:MIN-MAX or zipf:S:MAX.
    #[arg(long, value_name = "DIST")]
    leaves_per_group: Option<String>,
    /// Seed of every key, nonce and uniform draw.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Wrap scheme: kw (RFC 3394), kwp (RFC 5649), gcm, gcm-siv.
    #[arg(long, default_value = "kw")]
    scheme: String,
}

impl ShapeArgs {
    fn shape(&self) -> anyhow::Result<Shape> {
        let mut shape = Shape::preset(&self.preset)?;
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

    fn scheme(&self) -> anyhow::Result<SchemeId> {
        Ok(SchemeId::from_name(&self.scheme)?)
    }
}

#[derive(Args, Debug)]
struct GenArgs {
    /// Design: m365, flat, dke, threshold, sharepoint, tree:F1,F2,...
    #[arg(long, default_value = "m365")]
    design: String,
    #[command(flatten)]
    shape: ShapeArgs,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Write the hierarchy (stored wraps, no plaintext keys) to FILE.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Write the root keys (secret) to FILE, mode 0600.
    #[arg(long)]
    keyring: Option<PathBuf>,
    /// Print the counts as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
struct BlastArgs {
    /// Designs (space-separated, e.g. `--design m365 threshold tree:4,4`), or `all`.
    #[arg(long, num_args = 1.., default_value = "all")]
    design: Vec<String>,
    #[command(flatten)]
    shape: ShapeArgs,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Print the rows as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
struct RunArgs {
    /// Design: m365, flat, dke, threshold, sharepoint, tree:F1,F2,... (ignored with --from)
    #[arg(long, default_value = "m365")]
    design: String,
    /// provision, unwrap-all, rotate-root, revoke, shred.
    #[arg(long)]
    workload: String,
    /// Root role to rotate or revoke (ck1, ck2, ak).
    #[arg(long)]
    role: Option<String>,
    /// How much of the role: one (the key above the most leaves), tenant (the largest tenant's), all.
    #[arg(long, default_value = "all")]
    scope: String,
    /// rotate-root: rewrap on access (as Exchange does) and report what is deferred.
    #[arg(long)]
    lazy: bool,
    /// unwrap-all: open the whole path for every leaf (a service with no cache).
    #[arg(long)]
    cold: bool,
    /// shred: the tenant to shred (0 is the largest).
    #[arg(long, default_value_t = 0)]
    tenant: u32,
    #[command(flatten)]
    shape: ShapeArgs,
    /// Run on a hierarchy written by `gen --out` (needs --keyring).
    #[arg(long, requires = "keyring")]
    from: Option<PathBuf>,
    /// The keyring written by `gen --keyring`.
    #[arg(long)]
    keyring: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Bytes of data under each leaf to re-encrypt when the leaf is re-keyed.
    #[arg(long, default_value_t = 0)]
    data_bytes_per_leaf: u64,
    /// Your own root-operation rate (operations per second), reported beside the built-in profiles.
    #[arg(long)]
    root_ops_per_s: Option<f64>,
    /// Print the row as JSON.
    #[arg(long)]
    json: bool,
}

fn workload_arg(a: &RunArgs) -> anyhow::Result<keyhier::internal::engine::workload::Workload> {
    use keyhier::internal::engine::workload::Workload;
    let extent = || {
        keyhier::internal::graph::reach::Extent::from_name(&a.scope).ok_or_else(|| {
            anyhow::anyhow!("--scope must be one, tenant or all (got {:?})", a.scope)
        })
    };
    let role = || {
        a.role.clone().ok_or_else(|| {
            anyhow::anyhow!("--workload {} needs --role (ck1, ck2 or ak)", a.workload)
        })
    };
    Ok(match a.workload.as_str() {
        "provision" => Workload::Provision,
        "unwrap-all" => Workload::UnwrapAll { cold: a.cold },
        "rotate-root" => Workload::RotateRoot {
            role: role()?,
            extent: extent()?,
            lazy: a.lazy,
        },
        "revoke" => Workload::Revoke {
            role: role()?,
            extent: extent()?,
        },
        "shred" => Workload::Shred { tenant: a.tenant },
        other => anyhow::bail!(
            "unknown workload {other:?}; expected provision, unwrap-all, rotate-root, revoke or shred"
        ),
    })
}

fn cmd_run(a: RunArgs) -> anyhow::Result<ExitCode> {
    let w = workload_arg(&a)?;
    let pool = pool(a.threads)?;
    let mut st = match (&a.from, &a.keyring) {
        (Some(f), Some(k)) => {
            let h = hfile::read_file(f)?;
            let ring = keyhier::internal::store::keyring::Keyring::read_file(k)?;
            ring.check_against(&h)
                .with_context(|| format!("keyring {} does not fit {}", k.display(), f.display()))?;
            keyhier::internal::engine::workload::State {
                h,
                ring,
                gen_seed: None,
            }
        }
        _ => {
            let spec = GenSpec {
                design: Design::by_name(&a.design)?,
                shape: a.shape.shape()?,
                scheme: a.shape.scheme()?,
                seed: a.shape.seed,
            };
            let pb = progress_bar(estimate_nodes(&spec)?, "generating");
            let (h, ring) = pool.install(|| generate(&spec, &|n| pb.inc(n)))?;
            pb.finish_and_clear();
            keyhier::internal::engine::workload::State {
                h,
                ring,
                gen_seed: Some(spec.seed),
            }
        }
    };
    let opts = keyhier::internal::engine::workload::RunOptions {
        seed: a.shape.seed,
        data_bytes_per_leaf: a.data_bytes_per_leaf,
        root_ops_per_s: a.root_ops_per_s,
        ..Default::default()
    };
    let spinner = indicatif::ProgressBar::new_spinner();
    spinner.set_message(format!("{} on {}", w.label(), st.h.design.name));
    spinner.enable_steady_tick(std::time::Duration::from_millis(200));
    let mut row = pool.install(|| keyhier::internal::engine::workload::run(&mut st, &w, &opts))?;
    spinner.finish_and_clear();
    row.shape = match &a.from {
        Some(f) => format!("from {}", f.display()),
        None => format!("preset {} ({})", a.shape.preset, a.shape.shape()?),
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&row)?);
    } else {
        print!("{}", keyhier::internal::report::summary::run_text(&row));
    }
    Ok(if row.verification.verified {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn designs_arg(names: &[String]) -> anyhow::Result<Vec<Design>> {
    if names.iter().any(|n| n == "all") {
        return DESIGN_NAMES
            .iter()
            .map(|n| Design::by_name(n).map_err(Into::into))
            .collect();
    }
    names
        .iter()
        .map(|n| Design::by_name(n).map_err(Into::into))
        .collect()
}

fn pool(threads: Option<usize>) -> anyhow::Result<rayon::ThreadPool> {
    let mut b = rayon::ThreadPoolBuilder::new();
    if let Some(t) = threads {
        anyhow::ensure!((1..=1024).contains(&t), "--threads must be 1 to 1024");
        b = b.num_threads(t);
    }
    Ok(b.build()?)
}

fn progress_bar(len: u64, what: &str) -> indicatif::ProgressBar {
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

#[derive(serde::Serialize)]
struct GenReport {
    design: String,
    scheme: SchemeId,
    seed: u64,
    shape: String,
    threads: usize,
    tenants: u32,
    groups: u32,
    leaves: u64,
    keys: u64,
    keys_per_role: std::collections::BTreeMap<String, u64>,
    wraps: u64,
    structure_bytes: u64,
    bytes_per_leaf: f64,
    peak_rss_bytes: Option<u64>,
    peak_rss_per_leaf: Option<f64>,
    seconds: f64,
    file: Option<String>,
    file_bytes: Option<u64>,
}

fn cmd_gen(a: GenArgs) -> anyhow::Result<ExitCode> {
    let design = Design::by_name(&a.design)?;
    let shape = a.shape.shape()?;
    let spec = GenSpec {
        design,
        shape,
        scheme: a.shape.scheme()?,
        seed: a.shape.seed,
    };
    let pool = pool(a.threads)?;
    let threads = pool.current_num_threads();
    let start = std::time::Instant::now();
    let skeleton_nodes = estimate_nodes(&spec)?;
    let pb = progress_bar(skeleton_nodes, "generating");
    let (h, ring) = pool.install(|| generate(&spec, &|n| pb.inc(n)))?;
    pb.finish_and_clear();
    let mut file_bytes = None;
    if let Some(out) = &a.out {
        let written =
            hfile::write_file(&h, out).with_context(|| format!("writing {}", out.display()))?;
        file_bytes = Some(written);
    }
    if let Some(k) = &a.keyring {
        ring.write_file(k)
            .with_context(|| format!("writing keyring {}", k.display()))?;
    }
    let seconds = start.elapsed().as_secs_f64();
    let counts = h.count_by_role();
    let peak = sysinfo::peak_rss_bytes();
    let r = GenReport {
        design: h.design.name.clone(),
        scheme: h.scheme,
        seed: spec.seed,
        shape: spec.shape.to_string(),
        threads,
        tenants: h.tenants(),
        groups: h.groups(),
        leaves: h.leaves(),
        keys: u64::from(h.nodes()),
        keys_per_role: h
            .design
            .roles
            .iter()
            .zip(&counts)
            .map(|(r, c)| (r.name.clone(), *c))
            .collect(),
        wraps: u64::from(h.slots()),
        structure_bytes: h.heap_bytes(),
        bytes_per_leaf: h.bytes_per_leaf(),
        peak_rss_bytes: peak,
        peak_rss_per_leaf: peak.map(|p| p as f64 / h.leaves().max(1) as f64),
        seconds,
        file: a.out.as_ref().map(|p| p.display().to_string()),
        file_bytes,
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        println!(
            "design {}  scheme {}  seed {}  threads {}",
            r.design, r.scheme, r.seed, r.threads
        );
        println!("shape  {}", r.shape);
        println!(
            "tenants {}  groups {}  leaves {}  keys {}  stored wraps {}",
            r.tenants, r.groups, r.leaves, r.keys, r.wraps
        );
        let roles: Vec<String> = r
            .keys_per_role
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        println!("keys per role: {}", roles.join(", "));
        println!(
            "structure {} bytes = {:.1} bytes per leaf",
            r.structure_bytes, r.bytes_per_leaf
        );
        if let (Some(p), Some(pl)) = (r.peak_rss_bytes, r.peak_rss_per_leaf) {
            println!(
                "peak memory {} bytes = {:.1} bytes per leaf (whole process)",
                p, pl
            );
        }
        if let (Some(f), Some(b)) = (&r.file, r.file_bytes) {
            println!("wrote {f} ({b} bytes)");
        }
        println!("time {:.3} s", r.seconds);
    }
    Ok(ExitCode::SUCCESS)
}

fn estimate_nodes(spec: &GenSpec) -> anyhow::Result<u64> {
    let layout = keyhier::internal::graph::hierarchy::Layout::of(&spec.design);
    let mut n = 0u64;
    for t in 0..spec.shape.tenants {
        for j in 0..spec.shape.groups_of(t, spec.seed) {
            n += layout.group_head() + u64::from(spec.shape.leaves_of(t, j, spec.seed));
        }
    }
    Ok(n)
}

fn cmd_blast(a: BlastArgs) -> anyhow::Result<ExitCode> {
    let designs = designs_arg(&a.design)?;
    let shape = a.shape.shape()?;
    let scheme = a.shape.scheme()?;
    let pool = pool(a.threads)?;
    let mut all = analysis::Blast::default();
    for design in designs {
        let h = pool.install(|| {
            keyhier::internal::graph::skeleton::skeleton(&design, &shape, scheme, a.shape.seed)
        })?;
        let b = pool.install(|| analysis::blast(&h));
        all.exposure.extend(b.exposure);
        all.availability.extend(b.availability);
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&all)?);
    } else {
        print!(
            "{}",
            keyhier::internal::report::summary::blast_markdown(&all)
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Vectors { paths } => {
            let report = keyhier::internal::crypto::vectors::run_paths(&paths)?;
            print!("{report}");
            Ok(if report.ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Gen(a) => cmd_gen(a),
        Command::Blast(a) => cmd_blast(a),
        Command::Run(a) => cmd_run(a),
        Command::Corpus { out } => {
            keyhier::internal::fuzzing::write_seed_corpus(&out)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Compare(a) => cmd_compare(a),
        Command::Perf(a) => cmd_perf(a),
    }
}

/// This invocation as `keyhier ARGS...`, for the results it writes.
fn command_line() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    format!("keyhier {}", args.join(" "))
}
