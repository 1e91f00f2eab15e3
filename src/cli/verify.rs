//! `keyhier verify`: audit a stored hierarchy against its keyring. Every
//! stored wrap of every slot is opened; the slots of one key must agree.
//! Exit status 0 only when everything verified.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use keyhier::Keyring;
use keyhier::internal::engine::audit::audit_where_with;
use keyhier::internal::engine::progress::Progress;
use keyhier::internal::store::hfile;

use super::common::{Phases, pool};

/// Arguments of `keyhier verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The hierarchy file (written by `keyhier gen --out`).
    #[arg(long)]
    from: PathBuf,
    /// Its keyring (written by `keyhier gen --keyring`; must not be readable by others).
    #[arg(long)]
    keyring: PathBuf,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Print the audit as JSON.
    #[arg(long)]
    json: bool,
}

/// Reads both files, audits, prints, and fails when anything did not verify.
pub fn run(a: VerifyArgs) -> anyhow::Result<ExitCode> {
    let phases = Phases::new();
    phases.phase(&format!("read {} and its keyring", a.from.display()), None);
    let h = hfile::read_file(&a.from)?;
    let ring = Keyring::read_file(&a.keyring)?;
    ring.check_against(&h).with_context(|| {
        format!(
            "keyring {} does not fit {}",
            a.keyring.display(),
            a.from.display()
        )
    })?;
    let pool = pool(a.threads)?;
    phases.phase(
        "verify: audit every slot (keys)",
        Some(u64::from(h.nodes())),
    );
    let report = pool.install(|| audit_where_with(&h, &ring, &|_| true, &|n| phases.inc(n)));
    phases.finish();
    let verified = report.ok();
    if a.json {
        let v = serde_json::json!({
            "file": a.from.display().to_string(),
            "keyring": a.keyring.display().to_string(),
            "design": h.design.name,
            "verified": verified,
            "audit": report,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "{} ({}, {} tenants): verified: {verified} ({})",
            a.from.display(),
            h.design.name,
            h.tenants(),
            report.summary()
        );
        if !verified {
            let by_role: Vec<String> = report
                .failed_by_role
                .iter()
                .map(|(r, n)| format!("{r} {n}"))
                .collect();
            println!("failed, by role of the key: {}", by_role.join(", "));
            for f in &report.failures {
                println!("  {f}");
            }
            if report.failed > report.failures.len() as u64 {
                println!(
                    "  ... and {} more",
                    report.failed - report.failures.len() as u64
                );
            }
        }
    }
    Ok(if verified {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
