//! `sluice-load`: command-line entry of the HTTP/1.1 load generator.
//! Everything but argument handoff, the printed report and exit codes lives in `sluice_loadtest::load`.

use std::process::ExitCode;

use sluice_loadtest::load::{self, config::LoadConfig};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let result =
        LoadConfig::from_args(std::env::args_os().skip(1)).and_then(|config| match config {
            Some(config) => load::run(config).map(|report| print!("{report}")),
            None => {
                println!("{}", load::config::USAGE);
                Ok(())
            }
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("sluice-load: {error}");
            ExitCode::FAILURE
        }
    }
}
