//! `keyhier simulate`: one workload's root operations sent to a key service
//! as it enforces its limits (quotas per vault, account or project and
//! window, throttling, retries with backoff, client workers, scopes in
//! parallel), in simulated time, on the structure of a generated hierarchy
//! (no key is made). Prints the summary, or JSON; `--out` writes the folder
//! with the timeline plot.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use keyhier::internal::engine::plan::Remedy;
use keyhier::internal::engine::service::profile::{profile_by_name, user_profile};
use keyhier::internal::engine::service::{
    Latency, Placement, SimOptions, builtin_profiles, simulate_workload,
};
use keyhier::internal::graph::skeleton::skeleton;
use keyhier::internal::report::env_json;
use keyhier::internal::report::service::{simulation_text, write_simulation};
use keyhier::internal::store::atomic::StagedDir;
use keyhier::{Extent, RolePick, WorkloadKind, WorkloadSpec};

use super::common::{ShapeArgs, command_line, pool, positive_rate};

/// The built-in profiles and their quotas, for `--help`.
fn profiles_help() -> String {
    let mut s = String::from(
        "Profiles (--profile NAME). A profile is a key service as it enforces its limits: the \
         quotas of one scope (an Azure key vault, an AWS account, a Google Cloud project; each \
         per region), what each kind of request costs against them, and how a throttled client \
         retries. A quota of N per window lets at most N units through in each window (a token \
         bucket refilled at the start of the window); a refused request gets a 429 and is sent \
         again after the backoff. The figures are the vendors' published defaults, cited with \
         where and when they were read in the source (src/engine/service/profile.rs); yours may \
         have been raised.\n\n",
    );
    for p in builtin_profiles() {
        s.push_str(&format!("  {:<16} {}\n", p.name, p.about));
    }
    s.push_str(
        "  user             --root-ops-per-s R: R requests of any kind per second per vault\n\n\
         The provider's own root operations (the availability key's) are served by the \
         provider's service, whose limits are not published: they are counted apart, never \
         charged to the customer's vaults.\n\n\
         Example: keyhier simulate --design flat --workload revoke --role ck1 --scope all \
         --preset small --profile akv-rsa2048 --out results/sim",
    );
    s
}

/// Arguments of `keyhier simulate`.
#[derive(Args, Debug)]
#[command(after_long_help = profiles_help())]
pub struct SimulateArgs {
    /// Design: m365, flat, dke, threshold, sharepoint, tree:F1,F2,...
    #[arg(long, default_value = "m365")]
    design: String,
    /// The workload whose root operations go to the key service.
    #[arg(long)]
    workload: WorkloadKind,
    /// rotate-root, revoke: the root role, by name (ck1, ck2, ak) or `customer` / `provider`.
    #[arg(long)]
    role: Option<String>,
    /// rotate-root, revoke: one, tenant or all [default: all].
    #[arg(long)]
    scope: Option<Extent>,
    /// unwrap-all: open the whole path for every leaf.
    #[arg(long)]
    cold: bool,
    /// shred: the tenant (0 is the largest) [default: 0].
    #[arg(long)]
    tenant: Option<u32>,
    /// revoke: the remedy, as `run --remedy` (its root operations differ) [default: rotate].
    #[arg(long, value_parser = super::run::parse_remedy)]
    remedy: Option<Remedy>,
    #[command(flatten)]
    shape: ShapeArgs,
    /// Key-service profile (listed below), or `user` with --root-ops-per-s.
    #[arg(long, default_value = "akv-rsa2048")]
    profile: String,
    /// With --profile user: requests per second per vault (finite, above 0).
    #[arg(long, value_parser = positive_rate)]
    root_ops_per_s: Option<f64>,
    /// Vaults (accounts, projects) per tenant, 1 to 1024; a tenant's customer roots are spread
    /// over them in role order (with 2: ck1 and ck2 apart).
    #[arg(long, default_value_t = 1)]
    vaults_per_tenant: u32,
    /// Instead: every tenant's roots in N vaults shared by all (one subscription).
    #[arg(long, value_name = "N")]
    shared_vaults: Option<u32>,
    /// Client workers per vault, each with one request in flight (1 to 4096).
    #[arg(long, default_value_t = 8)]
    workers: u32,
    /// Latency of each request: MS (constant) or P50,P99 (log-normal), milliseconds; e.g. a
    /// measured backend's p50 and p99 [default: none].
    #[arg(long, value_name = "MS|P50,P99", conflicts_with = "latency_from")]
    latency_ms: Option<String>,
    /// Latency taken from a measured backend: a `keyhier token bench --out` file, with the
    /// operation whose p50 and p99 to use after a colon: wrap, unwrap (AES key wrap in the
    /// token; default unwrap), rsa-wrap, rsa-unwrap (RSA-OAEP in the token). E.g.
    /// results/2026-12-02-vm-token/token-bench.json:rsa-unwrap
    #[arg(long, value_name = "FILE[:OP]")]
    latency_from: Option<String>,
    /// Wrap under RSA public keys in the client, without the service (Azure's throttling
    /// guidance; RSA profiles only): only unwraps and new versions are sent.
    #[arg(long)]
    local_wraps: bool,
    /// Worker threads for building the structure (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Print the simulation as JSON (with the whole timeline).
    #[arg(long)]
    json: bool,
    /// Also write DIR: summary.md, simulation.json, timeline.csv, timeline.svg, env.json.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Replace DIR if it exists.
    #[arg(long, requires = "out")]
    force: bool,
}

impl SimulateArgs {
    fn spec(&self) -> anyhow::Result<WorkloadSpec> {
        use WorkloadKind::*;
        let w = self.workload;
        let given: [(&str, bool, &[WorkloadKind]); 5] = [
            ("--role", self.role.is_some(), &[RotateRoot, Revoke]),
            ("--remedy", self.remedy.is_some(), &[Revoke]),
            ("--scope", self.scope.is_some(), &[RotateRoot, Revoke]),
            ("--cold", self.cold, &[UnwrapAll]),
            ("--tenant", self.tenant.is_some(), &[Shred, Purge, NewDep]),
        ];
        for (flag, set, takes) in given {
            if set && !takes.contains(&w) {
                let names: Vec<String> = takes.iter().map(|k| k.to_string()).collect();
                anyhow::bail!(
                    "{flag} does not apply to --workload {w} (only to {}); leave it out",
                    names.join(", ")
                );
            }
        }
        let role = self.role.as_deref().map(RolePick::from);
        let extent = Some(self.scope.unwrap_or(Extent::All));
        Ok(match w {
            Provision => WorkloadSpec::Provision,
            UnwrapAll => WorkloadSpec::UnwrapAll { cold: self.cold },
            RotateRoot => WorkloadSpec::RotateRoot {
                role,
                extent,
                lazy: false,
            },
            Revoke => WorkloadSpec::Revoke { role, extent },
            Shred => WorkloadSpec::Shred {
                tenant: self.tenant.unwrap_or(0),
            },
            Purge => WorkloadSpec::Purge {
                tenant: self.tenant.unwrap_or(0),
            },
            NewDep => WorkloadSpec::NewDep {
                tenant: self.tenant.unwrap_or(0),
            },
        })
    }

    fn options(&self) -> anyhow::Result<SimOptions> {
        let latency = match (&self.latency_ms, &self.latency_from) {
            (Some(l), _) => Latency::parse(l)?,
            (None, Some(f)) => latency_from_bench(f)?,
            (None, None) => Latency::default(),
        };
        let o = SimOptions {
            workers_per_vault: self.workers,
            latency,
            seed: self.shape.seed,
            local_public_wraps: self.local_wraps,
        };
        o.validate()?;
        Ok(o)
    }

    fn placement(&self) -> Placement {
        match self.shared_vaults {
            Some(vaults) => Placement::Shared { vaults },
            None => Placement::PerTenant {
                vaults: self.vaults_per_tenant,
            },
        }
    }
}

/// Builds the structure, simulates, prints (and writes the folder).
pub fn run(a: SimulateArgs) -> anyhow::Result<ExitCode> {
    if a.shared_vaults.is_some() && a.vaults_per_tenant != 1 {
        anyhow::bail!("--shared-vaults and --vaults-per-tenant are two placements: give one");
    }
    let profile = match (a.profile.as_str(), a.root_ops_per_s) {
        ("user", Some(r)) => user_profile(r)?,
        ("user", None) => anyhow::bail!("--profile user needs --root-ops-per-s R"),
        (name, None) => profile_by_name(name)?,
        (_, Some(_)) => anyhow::bail!("--root-ops-per-s applies only with --profile user"),
    };
    if a.local_wraps && !profile.public_key_wraps {
        anyhow::bail!(
            "--local-wraps: {} wraps under symmetric keys, which only the service holds",
            profile.name
        );
    }
    let opts = a.options()?;
    let placement = a.placement();
    let spec = a.spec()?;
    let design = super::common::design_arg(&a.design, a.shape.forests)?;
    if matches!(a.workload, WorkloadKind::RotateRoot | WorkloadKind::Revoke) && a.role.is_none() {
        let roots: Vec<&str> = design
            .root_roles()
            .iter()
            .map(|&r| design.roles[usize::from(r)].name.as_str())
            .collect();
        anyhow::bail!(
            "--workload {} needs --role (a root of {}: {})",
            a.workload,
            design.name,
            roots.join(", ")
        );
    }
    let w = spec.resolve(&design)?;
    let shape = a.shape.shape()?;
    // checked before the work: an existing folder (without --force) fails now
    let staged = a
        .out
        .as_ref()
        .map(|dir| StagedDir::create(dir, a.force))
        .transpose()?;
    let pool = pool(a.threads)?;
    let sim = pool.install(|| -> anyhow::Result<_> {
        let h = skeleton(&design, &shape, a.shape.scheme, a.shape.seed)?;
        Ok(simulate_workload(
            &h,
            &w,
            a.remedy.unwrap_or_default(),
            &profile,
            placement,
            &opts,
        )?)
    })?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&sim)?);
    } else {
        print!("{}", simulation_text(&sim));
    }
    if let (Some(dir), Some(staged)) = (&a.out, staged) {
        let command = command_line();
        let env = env_json(
            a.shape.seed,
            pool.current_num_threads(),
            &command,
            serde_json::json!({ "preset": a.shape.preset.name, "shape": shape.to_string() }),
        );
        let files = write_simulation(staged.path(), &sim, &command, &env)
            .with_context(|| format!("writing {}", dir.display()))?;
        staged.commit()?;
        if !a.json {
            println!("wrote {}: {}", dir.display(), files.join(", "));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The log-normal latency of one operation of a `token bench --out` file
/// (`FILE[:OP]`, OP one of wrap, unwrap, rsa-wrap, rsa-unwrap; default unwrap).
fn latency_from_bench(spec: &str) -> anyhow::Result<Latency> {
    let (file, op) = match spec.rsplit_once(':') {
        Some((f, op)) if ["wrap", "unwrap", "rsa-wrap", "rsa-unwrap"].contains(&op) => (f, op),
        _ => (spec, "unwrap"),
    };
    let text = std::fs::read_to_string(file)
        .map_err(|e| {
            anyhow::anyhow!(
                "--latency-from {file}: cannot read it: {e} (the form is FILE[:OP], OP one of wrap, unwrap, rsa-wrap, rsa-unwrap)"
            )
        })?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!("--latency-from {file}: not a `keyhier token bench --out` file: {e}")
    })?;
    let (section, key) = match op {
        "wrap" => ("token", "wrap"),
        "unwrap" => ("token", "unwrap"),
        "rsa-wrap" => ("rsa_oaep", "wrap"),
        _ => ("rsa_oaep", "unwrap"),
    };
    let field = |q: &str| {
        v.get(section)
            .and_then(|s| s.get(format!("{key}_{q}_us")))
            .and_then(serde_json::Value::as_f64)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "--latency-from {file}: no {section}.{key}_{q}_us in it (a `keyhier token bench --out` file has them{})",
                    if section == "rsa_oaep" { ", when the token does RSA-OAEP" } else { "" }
                )
            })
    };
    let l = Latency::from_measured(field("p50")? / 1000.0, field("p99")? / 1000.0)?;
    l.validate()?;
    Ok(l)
}
