//! The `keyhier` command line. Each subcommand parses its arguments here and
//! calls the library; nothing below `main` computes anything itself.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// keyhier: measure, compare and fuzz envelope-encryption key hierarchies.
#[derive(Parser, Debug)]
#[command(name = "keyhier", version, about, long_about = None)]
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
    /// line `N passed, N failed`. Exit status 0 only when nothing failed.
    Vectors {
        /// Vector files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
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
            let report = keyhier::vectors::run_paths(&paths)?;
            print!("{report}");
            Ok(if report.failed() == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
    }
}
