//! `sluice-mock`: command-line entry of the mock OpenAI-compatible provider.
//! Everything but argument handoff and exit codes lives in `sluice_loadtest::mock`.

use std::process::ExitCode;

use sluice_loadtest::mock::{self, MockConfig};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let result =
        MockConfig::from_args(std::env::args_os().skip(1)).and_then(|config| match config {
            Some(config) => mock::run(config),
            None => {
                println!("{}", mock::USAGE);
                Ok(())
            }
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("sluice-mock: {error}");
            ExitCode::FAILURE
        }
    }
}
