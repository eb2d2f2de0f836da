//! `symbolon`: split secrets into signed, sealed, expiring shards and combine
//! them back; run the cluster's daemons and talk to its coordinator.
#![forbid(unsafe_code)]

mod args;
mod cluster;
mod combine;
mod error;
mod expiry;
mod file;
mod inspect;
mod keygen;
mod progress;
mod split;
mod terminal;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result: Result<(), Box<dyn std::error::Error>> = match cli.command {
        Command::Keygen(a) => keygen::run(&a).map_err(Into::into),
        Command::Split(a) => split::run(&a).map_err(Into::into),
        Command::Combine(a) => combine::run(&a).map_err(Into::into),
        Command::Inspect(a) => inspect::run(&a).map_err(Into::into),
        Command::Dev(a) => cluster::dev(&a).map_err(Into::into),
        Command::Status(a) => cluster::status(&a).map_err(Into::into),
        Command::Key(a) => cluster::key(&a).map_err(Into::into),
        Command::Encrypt(a) => cluster::encrypt(&a).map_err(Into::into),
        Command::Decrypt(a) => cluster::decrypt(&a).map_err(Into::into),
        Command::Sign(a) => cluster::sign(&a).map_err(Into::into),
        // Its own exit statuses: 0 valid, 1 invalid, 2 error.
        Command::Verify(a) => return cluster::verify(&a),
        Command::Release(a) => cluster::release(&a).map_err(Into::into),
        Command::Bench(a) => cluster::bench(&a).map_err(Into::into),
        Command::Ca(a) => cluster::ca(&a).map_err(Into::into),
        Command::Coordinator(a) => cluster::coordinator(&a).map_err(Into::into),
        Command::Custodian(a) => cluster::custodian(&a).map_err(Into::into),
        Command::Audit(a) => cluster::audit::run(&a).map_err(Into::into),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
