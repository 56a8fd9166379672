//! The `sluice` command line: `serve`, `check`, `help` (and `--help` at every level),
//! `--version`. Everything else lives in the library.

use sluice::config::Settings;
use sluice::live::{reload_file, ReloadOutcome};
use sluice::server::Server;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "usage:
  sluice serve [--config PATH] [--listen ADDR]... [--workers N]
  sluice check [--config PATH]
  sluice help [COMMAND]
  sluice --version";

const HELP: &str = "sluice: a self-hosted AI gateway with one OpenAI-compatible endpoint.

usage:
  sluice serve [--config PATH] [--listen ADDR]... [--workers N]   run the gateway
  sluice check [--config PATH]    validate a config, print it resolved (secrets redacted)
  sluice help [COMMAND]           this help, or a command's (also --help, -h)
  sluice --version                print the version (also -V)

Without --config, SLUICE_CONFIG names the config file; without either, the embedded
default runs. SLUICE_LOG sets the log level (error, warn, info, debug).";

const SERVE_HELP: &str = "usage: sluice serve [--config PATH] [--listen ADDR]... [--workers N]

Runs the gateway until SIGINT or SIGTERM, which drain it (in-flight requests finish).

options:
  -c, --config PATH   the TOML config (default: $SLUICE_CONFIG, else the embedded default)
  --listen ADDR       listen here instead of server.listen (repeatable), e.g. 127.0.0.1:8787
  --workers N         worker threads; 0 = one per CPU the process may use
  -h, --help          this help";

const CHECK_HELP: &str = "usage: sluice check [--config PATH]

Validates the config as serve would, then prints it resolved, secrets redacted. Exits 1
with the reason on any error.

options:
  -c, --config PATH   the TOML config (default: $SLUICE_CONFIG, else the embedded default)
  -h, --help          this help";

enum Command {
    Serve {
        config: Option<PathBuf>,
        listen: Vec<String>,
        workers: Option<usize>,
    },
    Check {
        config: Option<PathBuf>,
    },
    Version,
    /// This text on stdout, exit 0: the whole help or one command's.
    Help(&'static str),
}

fn main() -> ExitCode {
    sluice::logging::init();
    let command = match parse_args() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("sluice: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match command {
        Command::Help(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Command::Version => {
            println!("sluice {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Command::Check { config } => {
            match Settings::load_reporting_all(config_path(config).as_deref()) {
                Ok(settings) => {
                    print!("{}", settings.render_redacted());
                    ExitCode::SUCCESS
                }
                Err(errors) => {
                    for e in errors {
                        eprintln!("sluice: {e}");
                    }
                    ExitCode::FAILURE
                }
            }
        }
        Command::Serve {
            config,
            listen,
            workers,
        } => serve(config, listen, workers),
    }
}

fn parse_args() -> Result<Command, lexopt::Error> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_env();
    let sub = match parser.next()? {
        Some(Long("version")) | Some(Short('V')) => return Ok(Command::Version),
        Some(Long("help")) | Some(Short('h')) => return Ok(Command::Help(HELP)),
        Some(Value(v)) => v.string()?,
        Some(other) => return Err(other.unexpected()),
        None => return Err("missing command".into()),
    };
    let topic = |name: &str| -> Result<Command, lexopt::Error> {
        match name {
            "serve" => Ok(Command::Help(SERVE_HELP)),
            "check" => Ok(Command::Help(CHECK_HELP)),
            "help" => Ok(Command::Help(HELP)),
            other => Err(format!("unknown command {other:?}").into()),
        }
    };
    if sub == "help" {
        return match parser.next()? {
            None => Ok(Command::Help(HELP)),
            Some(Value(v)) => topic(&v.string()?),
            Some(other) => Err(other.unexpected()),
        };
    }
    let (mut config, mut listen, mut workers) = (None, Vec::new(), None);
    while let Some(arg) = parser.next()? {
        match arg {
            Long("config") | Short('c') => config = Some(PathBuf::from(parser.value()?)),
            Long("listen") if sub == "serve" => listen.push(parser.value()?.string()?),
            Long("workers") if sub == "serve" => workers = Some(parser.value()?.parse()?),
            Long("help") | Short('h') => return topic(&sub),
            other => return Err(other.unexpected()),
        }
    }
    match sub.as_str() {
        "serve" => Ok(Command::Serve {
            config,
            listen,
            workers,
        }),
        "check" => Ok(Command::Check { config }),
        other => Err(format!("unknown command {other:?}").into()),
    }
}

/// `--config`, else `SLUICE_CONFIG`; `None`: the embedded default.
fn config_path(config: Option<PathBuf>) -> Option<PathBuf> {
    config.or_else(|| std::env::var_os("SLUICE_CONFIG").map(PathBuf::from))
}

fn serve(config: Option<PathBuf>, listen: Vec<String>, workers: Option<usize>) -> ExitCode {
    let path = config_path(config);
    let mut settings = match Settings::load_reporting_all(path.as_deref()) {
        Ok(s) => s,
        Err(errors) => {
            for e in errors {
                log::error!("{e}");
            }
            return ExitCode::FAILURE;
        }
    };
    if !listen.is_empty() {
        match listen
            .iter()
            .map(|a| a.parse())
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(addrs) => {
                settings.listen = addrs;
                settings.server.listen = listen;
            }
            Err(_) => {
                log::error!("invalid --listen address in {listen:?}");
                return ExitCode::FAILURE;
            }
        }
    }
    if let Some(n) = workers {
        settings.server.workers = n;
    }
    raise_fd_limit();
    // Names only: which providers can answer without a client's key.
    let keyed: Vec<&str> = settings
        .providers
        .values()
        .filter(|p| !p.keys.is_empty())
        .map(|p| p.slug.as_str())
        .collect();
    let keyed = if keyed.is_empty() {
        "none".to_string()
    } else {
        keyed.join(", ")
    };
    let signals =
        match signal_hook::iterator::Signals::new([libc::SIGINT, libc::SIGTERM, libc::SIGHUP]) {
            Ok(s) => s,
            Err(e) => {
                log::error!("cannot install signal handlers: {e}");
                return ExitCode::FAILURE;
            }
        };
    let admin_tokens = !settings.server.admin_tokens().is_empty();
    let server = match Server::start_observed(Arc::new(settings)) {
        Ok(s) => s,
        Err(e) => {
            log::error!("{e}");
            return ExitCode::FAILURE;
        }
    };
    if server.driver() == "epoll" {
        log::warn!("io_uring is unavailable here; workers run on epoll");
    }
    let addrs: Vec<String> = server.local_addrs().iter().map(|a| a.to_string()).collect();
    let admin = match server.admin_addr() {
        None => "off".to_string(),
        Some(addr) if !admin_tokens => {
            if !addr.ip().is_loopback() {
                log::warn!("no admin token is configured and admin_listen {addr} is not a loopback address: the admin API answers 403 until [[server.admin_tokens]] is set");
            }
            format!("{addr} (no admin token: API on loopback only)")
        }
        Some(addr) => addr.to_string(),
    };
    log::info!(
        "sluice {} listening on {} with {} workers ({}); admin {admin}; stored keys: {keyed}",
        env!("CARGO_PKG_VERSION"),
        addrs.join(", "),
        server.worker_count(),
        server.driver()
    );
    let mut signals = signals;
    for sig in signals.forever() {
        if sig == libc::SIGHUP {
            reload(&server, path.as_deref());
            continue;
        }
        log::info!("signal {sig}: draining");
        break;
    }
    server.shutdown();
    let readiness = server.readiness().clone();
    server.join();
    if readiness.failed() {
        log::error!("stopped after a worker failure");
        return ExitCode::from(70);
    }
    log::info!("stopped");
    ExitCode::SUCCESS
}

/// SIGHUP: the config file read again and, when valid, in force for new requests.
fn reload(server: &Server, path: Option<&Path>) {
    let shown = path.map_or_else(
        || "the embedded default".into(),
        |p| p.display().to_string(),
    );
    match reload_file(server.live(), path) {
        ReloadOutcome::Applied {
            needs_restart,
            shadowed,
        } => {
            log::info!("config reloaded from {shown}");
            for id in shadowed {
                log::warn!("gateway {id:?} is declared in the config file and by the management API: the file's is in force");
            }
            if !needs_restart.is_empty() {
                log::warn!(
                    "config reload: {} changed but apply only at restart; running with the old values",
                    needs_restart.join(", ")
                );
            }
        }
        ReloadOutcome::Refused(errors) => {
            log::error!(
                "config reload refused: {} error(s) in {shown}; the running config stays",
                errors.len()
            );
            for error in errors {
                log::error!("  {error}");
            }
        }
    }
}

/// Many keep-alive clients and upstream connections need more than the default 1024 fds.
fn raise_fd_limit() {
    // SAFETY: getrlimit/setrlimit only read and write the struct passed.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}
