//! `keyhier run`: one workload on one design (generated, or read from files
//! written by `gen`), verified, its row printed as text or JSON.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use keyhier::internal::analysis::lazy::{AccessModel, lazy_curve};
use keyhier::internal::graph::design::Controller;
use keyhier::internal::report::lazy::{lazy_svg, lazy_text};
use keyhier::internal::report::run_text;
use keyhier::internal::store::atomic::{check_output, write_atomic};
use keyhier::internal::store::hfile;
use keyhier::{
    Design, Extent, GenSpec, Keyring, Owner, REMEDIES, Remedy, RolePick, RunOptions, State,
    Workload, WorkloadKind, WorkloadSpec, generate_in,
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
    /// rotate-root: rewrap on access (as Exchange does) and report what is deferred, with the
    /// roll over time under an access model (--touched-per-day, --never-touched, --days): the
    /// wraps still under the old version each day, when it can be destroyed, what its leak exposes.
    #[arg(long)]
    lazy: bool,
    /// --lazy: share of active leaves a user or system operation touches a day, 0 to 1
    /// [default: 0.3, an ASSUMPTION].
    #[arg(long, value_parser = share)]
    touched_per_day: Option<f64>,
    /// --lazy: share of leaves never touched (inactive, disconnected, disabled mailboxes), 0 to 1
    /// [default: 0.05, an ASSUMPTION].
    #[arg(long, value_parser = share)]
    never_touched: Option<f64>,
    /// --lazy: days to follow, 1 to 3650 [default: 90].
    #[arg(long)]
    days: Option<u32>,
    /// --lazy: the day a sweep rewraps every wrap left under the old version [default: none].
    #[arg(long)]
    sweep_day: Option<u32>,
    /// --lazy: also write the roll over time as an SVG plot to this file.
    #[arg(long)]
    lazy_plot: Option<PathBuf>,
    /// unwrap-all: open the whole path for every leaf (a service with no cache).
    #[arg(long)]
    cold: bool,
    /// shred, purge: the tenant (0 is the largest) [default: 0].
    #[arg(long)]
    tenant: Option<u32>,
    /// purge: hours the provider's services still decrypt after the customer revokes its keys,
    /// until the provider deletes the DEP and availability keys [default: 72, "about 72 hours"
    /// in an older version of Microsoft's Customer Key data purge documentation].
    #[arg(long, value_parser = hours)]
    purge_window_hours: Option<f64>,
    /// Run the workload as this party, and refuse it if that party cannot perform it: as the
    /// customer, a rotation or revocation of a provider root (the availability key is rolled
    /// only by the provider) or a shred that destroys provider keys is refused; the customer's
    /// path to destroy its data is --workload purge. Without it, the row says who controls it.
    #[arg(long = "as", value_name = "PARTY")]
    as_party: Option<Party>,
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
    #[command(flatten)]
    roots: super::common::RootArgs,
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
            WorkloadKind::Purge => WorkloadSpec::Purge {
                tenant: self.tenant.unwrap_or(0),
            },
            WorkloadKind::NewDep => WorkloadSpec::NewDep {
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
        if !self.lazy {
            for (flag, set) in [
                ("--touched-per-day", self.touched_per_day.is_some()),
                ("--never-touched", self.never_touched.is_some()),
                ("--days", self.days.is_some()),
                ("--sweep-day", self.sweep_day.is_some()),
                ("--lazy-plot", self.lazy_plot.is_some()),
            ] {
                if set {
                    anyhow::bail!(
                        "{flag} applies only with --lazy (the roll over time); leave it out"
                    );
                }
            }
        }
        let given: [(&str, bool, &[WorkloadKind]); 8] = [
            ("--remedy", self.remedy.is_some(), &[Revoke]),
            ("--role", self.role.is_some(), &[RotateRoot, Revoke]),
            ("--scope", self.scope.is_some(), &[RotateRoot, Revoke]),
            ("--lazy", self.lazy, &[RotateRoot]),
            ("--cold", self.cold, &[UnwrapAll]),
            ("--tenant", self.tenant.is_some(), &[Shred, Purge, NewDep]),
            (
                "--purge-window-hours",
                self.purge_window_hours.is_some(),
                &[Purge],
            ),
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
    let w = spec.resolve(design)?;
    if let Some(party) = a.as_party {
        refuse_if_not_theirs(party, &w, design)?;
    }
    Ok(w)
}

/// Who a run is performed as (`--as`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Party {
    /// The customer: its own roots, and the requests it can make of the provider.
    Customer,
    /// The provider.
    Provider,
}

/// Refuses `w` when `party` cannot perform it, saying who can and why.
fn refuse_if_not_theirs(party: Party, w: &Workload, design: &Design) -> anyhow::Result<()> {
    let controller = w.controller(design);
    let allowed = match party {
        Party::Customer => controller.open_to_customer(),
        Party::Provider => controller == Controller::Provider,
    };
    if allowed {
        return Ok(());
    }
    let label = w.label(design);
    let holder = |owner: Owner| {
        let names: Vec<&str> = design
            .roots_of(owner)
            .iter()
            .map(|&r| design.roles[usize::from(r)].name.as_str())
            .collect();
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        }
    };
    let why = match (party, controller) {
        (Party::Customer, Controller::Provider) => format!(
            "it acts only on keys the provider holds ({}); the provider alone performs it (it rolls the availability key on its own schedule)",
            holder(Owner::Provider)
        ),
        (Party::Customer, _) => format!(
            "it destroys keys the provider holds ({}) as well as the customer's; the customer's documented path is --workload purge",
            holder(Owner::Provider)
        ),
        (Party::Provider, Controller::Customer) => format!(
            "it acts on keys the customer holds ({}); only the customer performs it",
            holder(Owner::Customer)
        ),
        (Party::Provider, Controller::CustomerRequest) => {
            "the customer starts it (revocation and a request with a legal attestation); the provider only completes it".to_owned()
        }
        (Party::Provider, _) => "it needs keys of both the customer and the provider".to_owned(),
    };
    anyhow::bail!(
        "{label} on {} cannot be run --as {}: {why} (controller: {}; leave out --as to model it anyway)",
        design.name,
        match party {
            Party::Customer => "customer",
            Party::Provider => "provider",
        },
        controller.name()
    )
}

/// Parses a share: a number from 0 to 1.
fn share(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if (0.0..=1.0).contains(&x) => Ok(x),
        Ok(x) => Err(format!("{x} is not a share: give a number from 0 to 1")),
        Err(e) => Err(format!("{s:?}: {e}")),
    }
}

impl RunArgs {
    /// The access model of `--lazy`, and whether it is the assumed default.
    fn access_model(&self) -> (AccessModel, bool) {
        let d = AccessModel::default();
        let m = AccessModel {
            touched_per_day: self.touched_per_day.unwrap_or(d.touched_per_day),
            never_touched: self.never_touched.unwrap_or(d.never_touched),
            days: self.days.unwrap_or(d.days),
            sweep_day: self.sweep_day,
        };
        let assumed = self.touched_per_day.is_none() || self.never_touched.is_none();
        (m, assumed)
    }
}

/// Parses hours: a finite number, 0 or more.
fn hours(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(h) if h.is_finite() && h >= 0.0 => Ok(h),
        Ok(h) => Err(format!(
            "{h} is not a number of hours: give a finite number, 0 or more"
        )),
        Err(e) => Err(format!("{s:?}: {e}")),
    }
}

/// Loads or generates the state, runs the workload and prints its row.
pub fn run(a: RunArgs) -> anyhow::Result<ExitCode> {
    a.check_flags()?;
    let spec = a.spec();
    let pool = pool(a.threads)?;
    let phases = Phases::new();
    let backend = a.roots.backend()?;
    if backend.is_some() && a.from.is_some() {
        anyhow::bail!(
            "--from reads a keyring file of software roots; with --roots pkcs11 the hierarchy is generated with its roots in the token"
        );
    }
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
            let design = super::common::design_arg(&a.design, a.shape.forests)?;
            let w = workload(&a, &spec, &design)?;
            let gen_spec = GenSpec {
                design,
                shape: a.shape.shape()?,
                scheme: a.roots.scheme(a.shape.scheme),
                seed: a.shape.seed,
            };
            phases.phase("generate (keys)", Some(estimate_nodes(&gen_spec)));
            let (h, ring) =
                pool.install(|| generate_in(&gen_spec, backend.clone(), &|n| phases.inc(n)))?;
            let st = State {
                h,
                ring,
                gen_seed: Some(gen_spec.seed),
            };
            (st, w)
        }
    };
    // The token's rates, measured now: in the state the workload finds it.
    let root_rates = super::common::root_rates(backend.as_ref())?;
    let opts = RunOptions {
        seed: a.shape.seed,
        data_bytes_per_leaf: a.data_bytes_per_leaf,
        root_ops_per_s: a.root_ops_per_s,
        progress: Reporter::new(std::sync::Arc::new(phases.clone())),
        remedy: a.remedy.unwrap_or_default(),
        root_rates,
        ..Default::default()
    };
    let opts = RunOptions {
        purge_window_hours: a.purge_window_hours.unwrap_or(opts.purge_window_hours),
        ..opts
    };
    // The lazy roll over time, from the graph before the rotation.
    let curve = match &w {
        Workload::RotateRoot {
            role,
            extent,
            lazy: true,
        } => {
            if let Some(p) = &a.lazy_plot {
                check_output(p)?;
            }
            let (model, assumed) = a.access_model();
            Some(lazy_curve(&st.h, *role, *extent, &model, assumed)?)
        }
        _ => None,
    };
    let mut row = pool.install(|| keyhier::run(&mut st, &w, &opts))?;
    phases.finish();
    row.shape = match &a.from {
        Some(f) => format!("from {}", f.display()),
        None => format!("preset {} ({})", a.shape.preset.name, a.shape.shape()?),
    };
    if let (Some(c), Some(p)) = (&curve, &a.lazy_plot) {
        write_atomic(p, lazy_svg(c)?.as_bytes(), false)?;
    }
    if a.json {
        let mut v = serde_json::to_value(&row)?;
        if let (Some(c), Some(obj)) = (&curve, v.as_object_mut()) {
            obj.insert("lazy_curve".into(), serde_json::to_value(c)?);
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print!("{}", run_text(&row));
        if let Some(c) = &curve {
            print!("{}", lazy_text(c));
        }
    }
    Ok(if row.verification.verified {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
