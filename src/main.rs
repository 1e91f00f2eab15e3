//! The `keyhier` command line: parses the arguments and hands each subcommand
//! to its file in `src/cli/` (raw args -> validated spec -> library call ->
//! report). Nothing here computes anything.

mod cli;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    Gen(cli::generate::GenArgs),
    /// Exposure and availability: what a leaked or lost root (or pair of roots) reaches.
    ///
    /// For each root role and each pair, at extent one (the key above the most
    /// leaves), tenant (every key of the role in the largest tenant) and all (the
    /// role everywhere), the leaves an attacker holding those keys and every stored
    /// wrap recovers, and the leaves the owner still recovers after losing them. Then, for the
    /// largest tenant, who still decrypts (the customer's users, the provider's services, the
    /// provider on request, an attacker) when the roots are lost, revoked by the customer, or
    /// leaked: after the customer revokes ck1 and ck2 of m365, users are refused but the
    /// provider's services go on through ak until the provider deletes it.
    Blast(cli::blast::BlastArgs),
    /// Run one workload on one design, verify it, and report measured beside analytic counts.
    ///
    /// Workloads: provision (wrap every key), unwrap-all (recover every leaf; --cold opens the
    /// whole path per leaf), rotate-root (routine: rewrap every slot under --role; --lazy defers
    /// the rewraps to first access), revoke (compromise of --role: re-key everything it reaches,
    /// re-share leaked shares, replace the root), shred (destroy --tenant's roots and prove what is
    /// left cannot recover its keys), purge (the customer's documented data purge path for
    /// --tenant: revoke the customer keys, request the purge, the provider decrypts for
    /// --purge-window-hours, then deletes the DEP and availability keys; the residue is listed).
    ///
    /// Every row names its controller (customer, provider, joint, customer-request), read from
    /// the owners of the keys it acts on; --as customer refuses what the customer cannot do.
    ///
    /// Example: keyhier run --design m365 --workload revoke --role ak --scope all --preset small
    Run(cli::run::RunArgs),
    /// Risk in numbers: P(a leaf exposed / lost within a year) per design, beside provider-managed keys.
    ///
    /// Compromise and loss events, each with an annual probability, take root roles at an extent
    /// (--event / --loss NAME=PROBABILITY:ROLE[,ROLE...][:EXTENT]); the probability that a leaf is
    /// exposed or irrecoverably lost is computed exactly from the graph (the formula is in
    /// src/analysis/risk.rs), mean over leaves and for the largest tenant, with the probability that
    /// any leaf is, and a sensitivity table (each probability ÷10 and ×10). Every design is set
    /// against the `provider` baseline: what the customer's keys bought.
    ///
    /// Without --event or --loss, keyhier's default events are used: ASSUMPTIONS, not facts
    /// (customer-admins 0.01/yr per tenant taking every customer root; customer-key-leak 0.002/yr
    /// per customer key; provider-key-infra 0.0001/yr taking every provider root everywhere;
    /// losses customer-key-deleted 0.01/yr per key, customer-vaults-lost 0.001/yr per tenant,
    /// provider-key-lost 0.00001/yr everywhere). The output marks them.
    ///
    /// Example: keyhier risk --design m365 --preset tiny --event admins=0.1:ck1 --event infra=0.01:ak
    Risk(cli::risk::RiskArgs),
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
    /// of each design's first customer root and first provider root (ck1 and ak in the built-in
    /// designs) at extents one, tenant and all, lazy rotation of the customer root, shred of the
    /// largest tenant; preset small. A few minutes on 2 cores.
    Compare(cli::compare::CompareArgs),
    /// An incident history: events in order (leaks, copies, revocations, rotations, retained
    /// versions destroyed or leaked); after each, what an attacker who keeps every key and every
    /// copy it ever took exposes, and what the step cost.
    ///
    /// Example: keyhier history --design threshold --preset small "leak ck1" "revoke ck1" "leak ck2"
    History(cli::history::HistoryArgs),
    /// Audit a stored hierarchy: open every stored wrap of every slot with its keyring.
    ///
    /// A workload opens each key through its first slots only, so a corrupt backup slot (an
    /// availability-key wrap, a third share) would go unnoticed; this opens all of them, checks
    /// that the slots of a key agree, and names every failure by tenant, key, role and slot.
    /// Exit status 0 only when everything verified.
    ///
    /// Example: keyhier verify --from h.khh --keyring h.ring
    Verify(cli::verify::VerifyArgs),
    /// Key-wrap speed side by side: aes-kw loop, every batched backend by batch size, the AES
    /// ceiling, the peers (built with --features peers), and bulk workloads at 1 and 2 threads.
    ///
    /// Writes DIR (default results/<date>-<host>-perf/): summary.md, raw.csv, env.json and
    /// batch-size.svg. Implementations are timed in rounds, each once per round, medians kept.
    Perf(cli::perf::PerfArgs),
    /// One workload's root operations at a key service as it enforces its limits, in simulated time.
    ///
    /// Quotas per vault (account, project) and window, 429s and retries with backoff and jitter,
    /// client workers per vault, latency, and vaults working in parallel (the time is the slowest
    /// vault's). No key is made: the root operations per root come from the workload's plan on
    /// the hierarchy's structure; each tenant's customer roots go to its own vaults, the
    /// provider's are counted apart. Prints the time, the rate achieved, throttling and retries;
    /// --out DIR adds the timeline (CSV and SVG).
    Simulate(cli::simulate::SimulateArgs),
    /// Roots in a PKCS#11 token: `token init --dir DIR --label LABEL` makes a SoftHSM2 token in
    /// DIR (PIN from KEYHIER_PKCS11_PIN); `token bench --pkcs11-token LABEL` measures root wraps
    /// and unwraps through it beside the in-process ones. Then `--roots pkcs11 --pkcs11-token
    /// LABEL` on run and compare puts every root in the token.
    Token(cli::token::TokenArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn dispatch(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Vectors { paths } => cli::vectors::run(&paths),
        Command::Gen(a) => cli::generate::run(a),
        Command::Blast(a) => cli::blast::run(a),
        Command::Risk(a) => cli::risk::run(a),
        Command::Run(a) => cli::run::run(a),
        Command::Corpus { out } => cli::corpus::run(&out),
        Command::Compare(a) => cli::compare::run(a),
        Command::Perf(a) => cli::perf::run(a),
        Command::Verify(a) => cli::verify::run(a),
        Command::History(a) => cli::history::run(a),
        Command::Simulate(a) => cli::simulate::run(a),
        Command::Token(a) => cli::token::run(a),
    }
}
