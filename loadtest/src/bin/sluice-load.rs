//! `sluice-load`: command-line entry of the HTTP/1.1 load generator.
//! Everything but argument handoff, the printed report and exit codes lives in `sluice_loadtest::load`.

use std::process::ExitCode;

use sluice_loadtest::load::{self, config::Command, config::LoadConfig};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit status of a run whose requests failed beyond `--max-error-rate`, or got no answer.
const RUN_FAILED: u8 = 1;
/// Exit status of a bad command line or setup.
const USAGE: u8 = 2;

fn main() -> ExitCode {
    let result = LoadConfig::from_args(std::env::args_os().skip(1)).and_then(|command| {
        Ok(match command {
            Command::Run(config) => Some(load::run(*config)?),
            Command::Help => {
                println!("{}", load::config::USAGE);
                None
            }
            Command::Version => {
                println!("sluice-load {}", env!("CARGO_PKG_VERSION"));
                None
            }
        })
    });
    match result {
        Ok(None) => ExitCode::SUCCESS,
        Ok(Some(outcome)) => {
            print!("{}", outcome.text);
            match outcome.verdict {
                Ok(()) => ExitCode::SUCCESS,
                Err(why) => {
                    eprintln!("sluice-load: {why}");
                    ExitCode::from(RUN_FAILED)
                }
            }
        }
        Err(error) => {
            eprintln!("sluice-load: {error}");
            ExitCode::from(USAGE)
        }
    }
}
