//! The `keyhier` command line.

use clap::{Parser, Subcommand};

/// keyhier: measure, compare and fuzz envelope-encryption key hierarchies.
#[derive(Parser, Debug)]
#[command(name = "keyhier", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {}
}
