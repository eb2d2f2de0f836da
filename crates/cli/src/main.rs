//! `symbolon`: split secrets into signed, sealed, expiring shards and combine
//! them back; later, every role's daemon and admin commands.
#![forbid(unsafe_code)]

mod args;
mod combine;
mod error;
mod expiry;
mod file;
mod inspect;
mod keygen;
mod progress;
mod split;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Keygen(a) => keygen::run(&a),
        Command::Split(a) => split::run(&a),
        Command::Combine(a) => combine::run(&a),
        Command::Inspect(a) => inspect::run(&a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
