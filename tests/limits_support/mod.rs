//! Helpers of the timeout and body-budget tests: an observed gateway (admin plane on for
//! `/metrics`) on loopback with a temp data_dir, and reads of its counters.
#![allow(dead_code)]

use super::admin_support::get;
use super::common::{Client, WAIT};
use sluice::config::Settings;
use sluice::server::Server;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A gateway with its admin plane; shut down and joined on drop.
pub struct Observed {
    server: Option<Server>,
    pub addr: SocketAddr,
    admin: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Observed {
    /// Two workers, listen and admin on port 0, the log in a temp dir.
    pub fn start(toml: &str) -> Observed {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = Settings::from_toml_str(toml, "limits test").unwrap();
        settings.listen = vec!["127.0.0.1:0".parse().unwrap()];
        settings.admin_listen = Some("127.0.0.1:0".parse().unwrap());
        settings.server.workers = 2;
        settings.server.data_dir = dir.path().to_string_lossy().into_owned();
        let server = Server::start_observed(Arc::new(settings)).unwrap();
        Observed {
            addr: server.local_addrs()[0],
            admin: server.admin_addr().unwrap(),
            server: Some(server),
            _dir: dir,
        }
    }

    pub fn connect(&self) -> Client {
        Client::connect(self.addr)
    }

    /// The value of the sample `series` (`name` or `name{labels}`) in `/metrics`.
    pub fn metric(&self, series: &str) -> f64 {
        let text = get(self.admin, "/metrics").text();
        let prefix = format!("{series} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no {series} in\n{text}"))
            .parse()
            .unwrap()
    }

    /// Waits until `series` satisfies `check` (the gateway counts before or as it
    /// answers, and a scrape asks each worker for fresh numbers); returns the value.
    pub fn wait_metric(&self, series: &str, check: impl Fn(f64) -> bool) -> f64 {
        let deadline = Instant::now() + WAIT;
        loop {
            let value = self.metric(series);
            if check(value) {
                return value;
            }
            assert!(Instant::now() < deadline, "{series} stayed at {value}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// `sluice_timeouts_total{kind="KIND"}`.
    pub fn timeouts(&self, kind: &str) -> f64 {
        self.metric(&format!("sluice_timeouts_total{{kind=\"{kind}\"}}"))
    }
}

impl Drop for Observed {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown();
            server.join();
        }
    }
}

impl Observed {
    /// One request on a fresh connection.
    pub fn connect_and_send(&self, raw: &[u8]) -> super::common::Response {
        let mut c = self.connect();
        c.write(raw);
        c.response()
    }
}
