//! `keyhier run`: one workload on one design (generated, or read from files
//! written by `gen`), verified, its row printed as text or JSON.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use keyhier::internal::report::run_text;
use keyhier::internal::store::hfile;
use keyhier::{
    Design, Extent, GenSpec, Keyring, REMEDIES, Remedy, RolePick, RunOptions, State, Workload,
    WorkloadKind, WorkloadSpec, generate,
};

use keyhier::internal::engine::progress::{Progress, Reporter};

use super::common::{Phases, ShapeArgs, estimate_nodes, pool};

/// Arguments of `keyhier run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Design: m365, flat, dke, threshold, sharepoint, tree:F1,F2,... (ignored with --from)
    #[arg(long, default_value = "m365")]
    design: String,
    /// The workload.
    #[arg(long)]
    workload: WorkloadKind,
    /// Root role to rotate or revoke: its name in the design (ck1, ck2, ak), or
    /// `customer` / `provider` for the design's first root of that owner.
    #[arg(long)]
    role: Option<String>,
    /// rotate-root, revoke: how much of the role: one (the key above the most leaves), tenant
    /// (the largest tenant's), all [default: all].
    #[arg(long)]
    scope: Option<Extent>,
    /// rotate-root: rewrap on access (as Exchange does) and report what is deferred.
    #[arg(long)]
    lazy: bool,
    /// unwrap-all: open the whole path for every leaf (a service with no cache).
    #[arg(long)]
    cold: bool,
    /// shred: the tenant to shred (0 is the largest) [default: 0].
    #[arg(long)]
    tenant: Option<u32>,
    /// revoke: how to treat the keys the leak leaves partly exposed (a threshold share, a
    /// dke slot's other layer): rotate (re-share or rewrap, and rotate the other roots above
    /// them with their old versions destroyed), rekey (re-key them and every key below),
    /// partial (alias reshare-only, rewrap-only: re-share or rewrap only; does not hold
    /// against an attacker who kept a copy of the store), rekey-key (alias rekey-dep: re-key
    /// those keys alone; does not hold either). Every remedy is costed and checked beside
    /// the one run [default: rotate].
    #[arg(long, value_parser = parse_remedy)]
    remedy: Option<Remedy>,
    #[command(flatten)]
    shape: ShapeArgs,
    /// Run on a hierarchy written by `gen --out` (needs --keyring; its design, shape, scheme
    /// and seed come from the file, so those flags are refused beside it).
    #[arg(
        long,
        requires = "keyring",
        conflicts_with_all = ["design", "preset", "tenants", "groups_per_tenant", "leaves_per_group", "seed", "scheme"]
    )]
    from: Option<PathBuf>,
    /// The keyring written by `gen --keyring` (only with --from).
    #[arg(long, requires = "from")]
    keyring: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Bytes of data under each leaf to re-encrypt when the leaf is re-keyed.
    #[arg(long, default_value_t = 0)]
    data_bytes_per_leaf: u64,
    /// Your own root-operation rate (operations per second, finite and above 0), reported
    /// beside the built-in profiles.
    #[arg(long, value_parser = super::common::positive_rate)]
    root_ops_per_s: Option<f64>,
    /// Print the row as JSON.
    #[arg(long)]
    json: bool,
}

impl RunArgs {
    /// The workload the flags name, before it meets a design.
    fn spec(&self) -> WorkloadSpec {
        let role = self.role.as_deref().map(RolePick::from);
        let extent = Some(self.scope.unwrap_or(Extent::All));
        match self.workload {
            WorkloadKind::Provision => WorkloadSpec::Provision,
            WorkloadKind::UnwrapAll => WorkloadSpec::UnwrapAll { cold: self.cold },
            WorkloadKind::RotateRoot => WorkloadSpec::RotateRoot {
                role,
                extent,
                lazy: self.lazy,
            },
            WorkloadKind::Revoke => WorkloadSpec::Revoke { role, extent },
            WorkloadKind::Shred => WorkloadSpec::Shred {
                tenant: self.tenant.unwrap_or(0),
            },
        }
    }

    /// Refuses a flag the workload does not take: it would be silently ignored.
    fn check_flags(&self) -> anyhow::Result<()> {
        use WorkloadKind::*;
        if self.keyring.is_some() && self.from.is_none() {
            anyhow::bail!(
                "--keyring applies only with --from (the keyring of a stored hierarchy); a generated hierarchy brings its own"
            );
        }
        let w = self.workload;
        let given: [(&str, bool, &[WorkloadKind]); 7] = [
            ("--remedy", self.remedy.is_some(), &[Revoke]),
            ("--role", self.role.is_some(), &[RotateRoot, Revoke]),
            ("--scope", self.scope.is_some(), &[RotateRoot, Revoke]),
            ("--lazy", self.lazy, &[RotateRoot]),
            ("--cold", self.cold, &[UnwrapAll]),
            ("--tenant", self.tenant.is_some(), &[Shred]),
            (
                "--data-bytes-per-leaf",
                self.data_bytes_per_leaf > 0,
                &[RotateRoot, Revoke],
            ),
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
        Ok(())
    }
}

/// Parses `--remedy`: a remedy's name or alias.
pub fn parse_remedy(s: &str) -> Result<Remedy, String> {
    Remedy::from_name(s).ok_or_else(|| {
        let names: Vec<String> = REMEDIES
            .iter()
            .map(|r| {
                if r.aliases.is_empty() {
                    r.name.to_string()
                } else {
                    format!("{} (or {})", r.name, r.aliases.join(", "))
                }
            })
            .collect();
        format!(
            "unknown remedy {s:?}; expected one of: {}",
            names.join(", ")
        )
    })
}

/// The workload `spec` names on `design`; a rotation or revocation without
/// `--role` is refused with the design's roots to choose from.
fn workload(a: &RunArgs, spec: &WorkloadSpec, design: &Design) -> anyhow::Result<Workload> {
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
    Ok(spec.resolve(design)?)
}

/// Loads or generates the state, runs the workload and prints its row.
pub fn run(a: RunArgs) -> anyhow::Result<ExitCode> {
    a.check_flags()?;
    let spec = a.spec();
    let pool = pool(a.threads)?;
    let phases = Phases::new();
    let (mut st, w) = match (&a.from, &a.keyring) {
        (Some(f), Some(k)) => {
            phases.phase(&format!("read {} and its keyring", f.display()), None);
            let h = hfile::read_file(f)?;
            let ring = Keyring::read_file(k)?;
            ring.check_against(&h)
                .with_context(|| format!("keyring {} does not fit {}", k.display(), f.display()))?;
            let w = workload(&a, &spec, &h.design)?;
            let st = State {
                h,
                ring,
                gen_seed: None,
            };
            (st, w)
        }
        _ => {
            let design = Design::by_name(&a.design)?;
            let w = workload(&a, &spec, &design)?;
            let gen_spec = GenSpec {
                design,
                shape: a.shape.shape()?,
                scheme: a.shape.scheme,
                seed: a.shape.seed,
            };
            phases.phase("generate (keys)", Some(estimate_nodes(&gen_spec)));
            let (h, ring) = pool.install(|| generate(&gen_spec, &|n| phases.inc(n)))?;
            let st = State {
                h,
                ring,
                gen_seed: Some(gen_spec.seed),
            };
            (st, w)
        }
    };
    let opts = RunOptions {
        seed: a.shape.seed,
        data_bytes_per_leaf: a.data_bytes_per_leaf,
        root_ops_per_s: a.root_ops_per_s,
        progress: Reporter::new(std::sync::Arc::new(phases.clone())),
        remedy: a.remedy.unwrap_or_default(),
        ..Default::default()
    };
    let mut row = pool.install(|| keyhier::run(&mut st, &w, &opts))?;
    phases.finish();
    row.shape = match &a.from {
        Some(f) => format!("from {}", f.display()),
        None => format!("preset {} ({})", a.shape.preset.name, a.shape.shape()?),
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&row)?);
    } else {
        print!("{}", run_text(&row));
    }
    Ok(if row.verification.verified {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
