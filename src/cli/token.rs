//! `keyhier token`: make a SoftHSM2 token in a folder (`init`), and measure
//! root operations through a token beside the in-process ones (`bench`).
//! PINs come from `KEYHIER_PKCS11_PIN` / `KEYHIER_PKCS11_SO_PIN`, never from
//! a flag, and are never printed.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Subcommand};
use keyhier::internal::store::pkcs11::{
    RsaOaepRates, SOFTHSM2_MODULE, init_token_here, pin_from_env, write_softhsm_conf,
};
use keyhier::{Pkcs11Roots, RootBackend, RootRates, SoftRoots, measure_rates};

/// `keyhier token ...`
#[derive(Args, Debug)]
pub struct TokenArgs {
    #[command(subcommand)]
    command: TokenCommand,
}

#[derive(Subcommand, Debug)]
enum TokenCommand {
    /// Create a SoftHSM2 token in DIR: writes DIR/softhsm2.conf and DIR/tokens/, and
    /// initializes a token labelled LABEL (PIN from KEYHIER_PKCS11_PIN, SO PIN from
    /// KEYHIER_PKCS11_SO_PIN or the PIN). Then use it with SOFTHSM2_CONF=DIR/softhsm2.conf.
    Init {
        /// The folder of the token.
        #[arg(long)]
        dir: PathBuf,
        /// The token's label.
        #[arg(long)]
        label: String,
        /// The SoftHSM2 module.
        #[arg(long, default_value = SOFTHSM2_MODULE)]
        pkcs11_module: PathBuf,
    },
    /// Root wraps and unwraps per second, with p50/p99 latency, through the token
    /// (C_WrapKey / C_UnwrapKey, CKM_AES_KEY_WRAP_PAD) and in process, in one run.
    Bench {
        /// The PKCS#11 module.
        #[arg(long, default_value = SOFTHSM2_MODULE)]
        pkcs11_module: PathBuf,
        /// The token's label (PIN from KEYHIER_PKCS11_PIN).
        #[arg(long)]
        pkcs11_token: String,
        /// Operations of each kind per backend.
        #[arg(long, default_value_t = 5000)]
        n: u64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Also write the JSON to this file (the text still printed).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

/// The variable `token init` sets for the process that makes the token.
const CONF_VAR: &str = "SOFTHSM2_CONF";

/// Runs a `token` subcommand.
pub fn run(a: TokenArgs) -> anyhow::Result<ExitCode> {
    match a.command {
        TokenCommand::Init {
            dir,
            label,
            pkcs11_module,
        } => init(&dir, &label, &pkcs11_module),
        TokenCommand::Bench {
            pkcs11_module,
            pkcs11_token,
            n,
            json,
            out,
        } => bench(&pkcs11_module, &pkcs11_token, n, json, out.as_deref()),
    }
}

fn init(dir: &std::path::Path, label: &str, module: &std::path::Path) -> anyhow::Result<ExitCode> {
    // Refuse before writing anything when the PIN is unset.
    pin_from_env()?;
    let made = write_softhsm_conf(dir)?;
    // SoftHSM2 reads SOFTHSM2_CONF when its module is initialized, and this
    // crate sets no environment of its own process: the token is made by a
    // child process of keyhier started with it (the PINs pass through the
    // environment, never the command line).
    if std::env::var_os(CONF_VAR).as_deref() == Some(made.conf.as_os_str()) {
        init_token_here(module, label)?;
    } else {
        let status = std::process::Command::new(std::env::current_exe()?)
            .env(CONF_VAR, &made.conf)
            .args(["token", "init", "--label", label, "--dir"])
            .arg(dir)
            .arg("--pkcs11-module")
            .arg(module)
            .status()?;
        if !status.success() {
            return Ok(ExitCode::from(2));
        }
        println!(
            "token {label:?} initialized in {}\nuse it with: export {CONF_VAR}={}",
            made.tokens.display(),
            made.conf.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The rates of both backends, measured in this run.
#[derive(serde::Serialize)]
struct Bench {
    mechanism: &'static str,
    token: RootRates,
    soft: RootRates,
    /// Reading CKA_VALUE of a token root was refused.
    root_value_refused: bool,
    /// The same run's RSA-OAEP wraps and unwraps in the token (Azure Key
    /// Vault's customer keys are RSA): `None` when the token lacks it.
    rsa_oaep: Option<RsaOaepRates>,
    /// Why the RSA-OAEP figures are missing.
    rsa_oaep_error: Option<String>,
}

fn bench(
    module: &std::path::Path,
    label: &str,
    n: u64,
    json: bool,
    out: Option<&std::path::Path>,
) -> anyhow::Result<ExitCode> {
    if let Some(p) = out {
        keyhier::internal::store::atomic::check_output(p)?;
    }
    let pin = pin_from_env()?;
    let token = Arc::new(Pkcs11Roots::open(module, label, &pin)?);
    let h = token.create(u32::MAX, 1)?;
    let refused = token.try_read_root(h).is_err();
    token.destroy(h)?;
    // RSA-2048 private-key operations are slow: a tenth as many
    let (rsa_oaep, rsa_oaep_error) = match token.rsa_oaep_rates((n / 10).max(50)) {
        Ok(r) => (Some(r), None),
        Err(e) => (None, Some(e.to_string())),
    };
    let t: Arc<dyn RootBackend> = token;
    let s: Arc<dyn RootBackend> = Arc::new(SoftRoots::default());
    let b = Bench {
        mechanism: "CKM_AES_KEY_WRAP_PAD (RFC 5649)",
        token: measure_rates(&t, n)?,
        soft: measure_rates(&s, n)?,
        root_value_refused: refused,
        rsa_oaep,
        rsa_oaep_error,
    };
    let text = serde_json::to_string_pretty(&b)?;
    if let Some(p) = out {
        keyhier::internal::store::atomic::write_atomic(p, format!("{text}\n").as_bytes(), false)?;
    }
    if json {
        println!("{text}");
    } else {
        print!("{}", bench_text(&b));
    }
    Ok(ExitCode::SUCCESS)
}

fn bench_text(b: &Bench) -> String {
    let mut out = format!(
        "root operations, {} each, one thread: {}\n",
        b.token.n, b.mechanism
    );
    out.push_str("| backend | wrap/s | wrap p50 µs | wrap p99 µs | unwrap/s | unwrap p50 µs | unwrap p99 µs |\n|---|---:|---:|---:|---:|---:|---:|\n");
    for r in [&b.token, &b.soft] {
        out.push_str(&format!(
            "| {} | {:.0} | {:.1} | {:.1} | {:.0} | {:.1} | {:.1} |\n",
            r.kind,
            r.wrap_per_s,
            r.wrap_p50_us,
            r.wrap_p99_us,
            r.unwrap_per_s,
            r.unwrap_p50_us,
            r.unwrap_p99_us
        ));
    }
    out.push_str(&format!(
        "root versions created/s: token {:.0}, in process {:.0}; destroyed/s: token {:.0}, in process {:.0}\n",
        b.token.create_per_s, b.soft.create_per_s, b.token.destroy_per_s, b.soft.destroy_per_s
    ));
    match (&b.rsa_oaep, &b.rsa_oaep_error) {
        (Some(r), _) => out.push_str(&format!(
            "RSA keys in the token ({}, {} each): wrap {:.0}/s (p50 {:.1} µs, p99 {:.1} µs), unwrap {:.0}/s (p50 {:.1} µs, p99 {:.1} µs)\n",
            r.mechanism,
            r.n,
            r.wrap_per_s,
            r.wrap_p50_us,
            r.wrap_p99_us,
            r.unwrap_per_s,
            r.unwrap_p50_us,
            r.unwrap_p99_us
        )),
        (None, Some(e)) => out.push_str(&format!("RSA-OAEP in the token: not measured ({e})\n")),
        (None, None) => {}
    }
    out.push_str(&format!(
        "reading CKA_VALUE of a token root: {}\n",
        if b.root_value_refused {
            "refused (sensitive, not extractable)"
        } else {
            "ALLOWED"
        }
    ));
    out
}
