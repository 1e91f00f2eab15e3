//! `keyhier gen`: generate a hierarchy, report its counts, bytes per leaf and
//! time, and optionally write it (and its keyring) to files.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use keyhier::internal::store::hfile;
use keyhier::internal::sysinfo;
use keyhier::{GenSpec, SchemeId, generate_in};

use keyhier::internal::engine::progress::Progress;

use super::common::{Phases, ShapeArgs, estimate_nodes, pool};

/// Arguments of `keyhier gen`.
#[derive(Args, Debug)]
pub struct GenArgs {
    /// Design: m365, flat, dke, threshold, sharepoint, tree:F1,F2,...
    #[arg(long, default_value = "m365")]
    design: String,
    #[command(flatten)]
    shape: ShapeArgs,
    #[command(flatten)]
    roots: super::common::RootArgs,
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

/// Generates, writes what was asked, and prints the counts.
pub fn run(a: GenArgs) -> anyhow::Result<ExitCode> {
    let design = super::common::design_arg(&a.design, a.shape.forests)?;
    let shape = a.shape.shape()?;
    let spec = GenSpec {
        design,
        shape,
        scheme: a.roots.scheme(a.shape.scheme),
        seed: a.shape.seed,
    };
    // Every output is checked before any work: a bad path fails now, not
    // after the hierarchy is built.
    let outputs: Vec<&std::path::Path> = [a.out.as_deref(), a.keyring.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    if a.roots.roots == keyhier::RootKind::Pkcs11 && !outputs.is_empty() {
        anyhow::bail!(
            "--out and --keyring are for software roots: roots in the token live as long as the run (they are destroyed when it ends)"
        );
    }
    keyhier::internal::store::atomic::check_outputs(&outputs)?;
    let pool = pool(a.threads)?;
    let threads = pool.current_num_threads();
    let start = std::time::Instant::now();
    let phases = Phases::new();
    phases.phase("generate (keys)", Some(estimate_nodes(&spec)));
    let (h, ring) = {
        let backend = a.roots.backend()?;
        pool.install(|| generate_in(&spec, backend, &|n| phases.inc(n)))?
    };
    if !outputs.is_empty() {
        phases.phase("write the outputs", None);
    }
    let file_bytes = hfile::write_with_keyring(&h, a.out.as_deref(), &ring, a.keyring.as_deref())
        .context("writing the outputs (none was changed)")?;
    phases.finish();
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
        if let Some(k) = &a.keyring {
            println!(
                "wrote keyring {} (mode 0600: it holds every root key; keep it secret)",
                k.display()
            );
        }
        println!("time {:.3} s", r.seconds);
    }
    Ok(ExitCode::SUCCESS)
}
