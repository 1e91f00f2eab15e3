//! `keyhier history`: one design, one shape, a sequence of incident events;
//! after each, what the attacker who keeps everything exposes and what the
//! step cost.

use std::fmt::Write as _;
use std::process::ExitCode;

use clap::Args;
use keyhier::internal::engine::history::{EventSpec, History, run_history};
use keyhier::{GenSpec, Remedy, RunOptions, State, generate_in};

use keyhier::internal::engine::progress::Progress;

use super::common::{Phases, ShapeArgs, estimate_nodes, pool};

/// Arguments of `keyhier history`.
#[derive(Args, Debug)]
pub struct HistoryArgs {
    /// Design: m365, flat, dke, threshold, sharepoint, tree:F1,F2,...
    #[arg(long, default_value = "m365")]
    design: String,
    #[command(flatten)]
    shape: ShapeArgs,
    #[command(flatten)]
    roots: super::common::RootArgs,
    /// How revocations treat keys a leak leaves partly exposed (see `keyhier run --help`)
    /// [default: rotate].
    #[arg(long, value_parser = super::run::parse_remedy)]
    remedy: Option<Remedy>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Print the history as JSON.
    #[arg(long)]
    json: bool,
    /// The events, in order, each one argument: `leak ROLE[:EXTENT]` (the role's current keys
    /// and a copy of the store), `copy` (a stolen backup), `revoke ROLE[:EXTENT]` (the owner's
    /// remedy), `rotate ROLE[:EXTENT]` (routine; old versions retained), `destroy-retired
    /// [ROLE]`, `leak-retired ROLE[:EXTENT]`. EXTENT: one, tenant, all [default: all].
    #[arg(required = true, value_parser = parse_event)]
    events: Vec<EventSpec>,
}

fn parse_event(s: &str) -> Result<EventSpec, String> {
    s.parse().map_err(|e: keyhier::Error| e.to_string())
}

/// Runs the history and prints it.
pub fn run(a: HistoryArgs) -> anyhow::Result<ExitCode> {
    let design = super::common::design_arg(&a.design, a.shape.forests)?;
    for e in &a.events {
        e.check(&design)?;
    }
    let pool = pool(a.threads)?;
    let gen_spec = GenSpec {
        design,
        shape: a.shape.shape()?,
        scheme: a.roots.scheme(a.shape.scheme),
        seed: a.shape.seed,
    };
    let phases = Phases::new();
    phases.phase("generate (keys)", Some(estimate_nodes(&gen_spec)));
    let (h, ring) = {
        let backend = a.roots.backend()?;
        pool.install(|| generate_in(&gen_spec, backend, &|n| phases.inc(n)))?
    };
    let mut st = State {
        h,
        ring,
        gen_seed: Some(gen_spec.seed),
    };
    let opts = RunOptions {
        seed: a.shape.seed,
        remedy: a.remedy.unwrap_or_default(),
        reference: false,
        ..Default::default()
    };
    let total = a.events.len();
    let hist = pool.install(|| {
        run_history(&mut st, &a.events, &opts, &|i, e| {
            phases.phase(&format!("event {}/{total}: {e}", i + 1), None);
        })
    })?;
    phases.finish();
    if a.json {
        println!("{}", serde_json::to_string_pretty(&hist)?);
    } else {
        print!("{}", text(&hist, &a));
    }
    let ok = hist
        .steps
        .iter()
        .all(|s| s.cost.as_ref().is_none_or(|c| c.verified && c.counts_match));
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn text(h: &History, a: &HistoryArgs) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} history, preset {} ({} leaves), remedy {}; the attacker keeps every key and copy it ever took\n",
        h.design, a.shape.preset.name, h.leaves, h.remedy
    );
    let _ = writeln!(
        s,
        "{:>2}  {:<22} {:>13} {:>11} {:>7} {:>9} {:>10} {:>9} {:>8}  note",
        "#",
        "event",
        "exposed now",
        "ever",
        "copies",
        "retained",
        "root ops",
        "re-keyed",
        "verified"
    );
    for (i, st) in h.steps.iter().enumerate() {
        let (ops, rekeyed, verified) = match &st.cost {
            Some(c) => (
                c.measured.root_ops.to_string(),
                c.measured.leaves_rekeyed.to_string(),
                (c.verified && c.counts_match).to_string(),
            ),
            None => ("-".into(), "-".into(), "-".into()),
        };
        let _ = writeln!(
            s,
            "{:>2}  {:<22} {:>13} {:>11} {:>7} {:>9} {:>10} {:>9} {:>8}  {}",
            i + 1,
            st.event,
            st.exposed_current_leaves,
            st.exposed_ever_leaves,
            st.copies_held,
            st.retained_versions,
            ops,
            rekeyed,
            verified,
            st.note
        );
        if let Some(om) = &st.one_more {
            let _ = writeln!(s, "    {}", om.summary());
        }
    }
    let _ = writeln!(
        s,
        "\nexposed now: leaves whose current key the attacker knows (data still under it); ever: leaves of which it knew some key at some time."
    );
    s
}
