//! The running configuration: one immutable snapshot (settings, the controls built for them,
//! prices) at a time, replaced whole by a reload, picked up by each worker between requests.

mod reload;

pub use reload::{reload_file, ReloadOutcome};

use crate::config::{ApiGatewayConfig, ConfigError, Settings};
use crate::controls::SpendGauges;
use crate::observe::PriceTable;
use crate::proxy::{spend_window, ControlState, SnapshotSource};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// What one request runs with from start to end, even when a newer one is published meanwhile.
#[derive(Clone)]
pub struct Snapshot {
    /// The validated config.
    pub settings: Arc<Settings>,
    /// Cache, rate limiters and counters for these settings (state carried over from the
    /// snapshot before: see `ControlState::successor`).
    pub controls: Arc<ControlState>,
    /// Bundled prices under the config's `[price]` tables.
    pub prices: Arc<PriceTable>,
}

impl Snapshot {
    /// `sluice_spend_usd` of every enforced spend rule, by gateway and rule id.
    pub fn spend_gauges(&self) -> SpendGauges {
        let mut rules = Vec::new();
        for gateway in self.settings.gateways.values() {
            let Some(limits) = &gateway.config.spend_limits else {
                continue;
            };
            for rule in limits.enforced() {
                rules.push((gateway.id.clone(), rule.id.clone(), spend_window(rule)));
            }
        }
        rules.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        SpendGauges::new(rules, self.controls.local_counters().clone())
    }

    /// The first snapshot of a process.
    pub fn first(settings: Arc<Settings>, controls: Arc<ControlState>) -> Snapshot {
        let prices = Arc::new(price_table(&settings));
        Snapshot {
            settings,
            controls,
            prices,
        }
    }
}

/// Where the current snapshot lives. Each worker's slot looks at `generation` (one atomic
/// load) as a request starts and takes the lock only when it moved, once per change: the
/// request path otherwise reads the worker's own copy.
pub struct LiveConfig {
    generation: AtomicU64,
    current: Mutex<Arc<Snapshot>>,
    /// What the snapshot is made of: the config file's settings and the API's gateways.
    sources: Mutex<Sources>,
}

struct Sources {
    file: Arc<Settings>,
    api: Vec<ApiGatewayConfig>,
}

impl LiveConfig {
    /// Holds `first` (the config file's settings, no API gateways yet) as generation 0.
    pub fn new(first: Snapshot) -> LiveConfig {
        LiveConfig {
            generation: AtomicU64::new(0),
            sources: Mutex::new(Sources {
                file: first.settings.clone(),
                api: Vec::new(),
            }),
            current: Mutex::new(Arc::new(first)),
        }
    }

    /// The config file's settings now in force (without the API's gateways).
    pub fn file_settings(&self) -> Arc<Settings> {
        self.sources
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .file
            .clone()
    }

    /// Puts a new reading of the config file in force, with the API's gateways over it.
    /// Returns the API gateways the file now shadows (the file's win).
    pub fn set_file(&self, file: Settings) -> Result<Vec<String>, ConfigError> {
        let mut sources = self.sources.lock().unwrap_or_else(PoisonError::into_inner);
        let (settings, shadowed) = file.with_api_gateways(&sources.api)?;
        sources.file = Arc::new(file);
        self.publish(settings);
        Ok(shadowed)
    }

    /// Puts the API's gateways in force over the config file's settings; nothing changes
    /// when they do not validate. Returns the ids the file shadows.
    pub fn set_api_gateways(&self, api: Vec<ApiGatewayConfig>) -> Result<Vec<String>, ConfigError> {
        let mut sources = self.sources.lock().unwrap_or_else(PoisonError::into_inner);
        let (settings, shadowed) = sources.file.with_api_gateways(&api)?;
        sources.api = api;
        self.publish(settings);
        Ok(shadowed)
    }

    /// Whether these API gateways would validate over the config file, without applying them.
    pub fn check_api_gateways(&self, api: &[ApiGatewayConfig]) -> Result<(), ConfigError> {
        let sources = self.sources.lock().unwrap_or_else(PoisonError::into_inner);
        sources.file.with_api_gateways(api).map(|_| ())
    }

    /// Bumped by every publish.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The snapshot now in force.
    pub fn current(&self) -> Arc<Snapshot> {
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Puts `settings` in force for new requests: controls carry their state over (limiter
    /// windows of unchanged limits, the cache, spend counters), prices are rebuilt.
    fn publish(&self, settings: Settings) {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        let controls = Arc::new(current.controls.successor(&settings));
        let settings = Arc::new(settings);
        let prices = Arc::new(price_table(&settings));
        *current = Arc::new(Snapshot {
            settings,
            controls,
            prices,
        });
        self.generation.fetch_add(1, Ordering::AcqRel);
    }
}

impl SnapshotSource for LiveConfig {
    fn generation(&self) -> u64 {
        LiveConfig::generation(self)
    }

    fn snapshot(
        &self,
    ) -> (
        Arc<Settings>,
        Arc<ControlState>,
        Arc<crate::observe::PriceTable>,
    ) {
        let now = self.current();
        (
            now.settings.clone(),
            now.controls.clone(),
            now.prices.clone(),
        )
    }
}

impl std::fmt::Debug for LiveConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveConfig")
            .field("generation", &self.generation())
            .finish()
    }
}

/// The bundled prices with the config's `[price]` tables over them. A bad `[price]` table is
/// logged and the bundled table used alone: a wrong price should not stop the gateway (costs
/// then come from the bundle, or stay unknown).
fn price_table(settings: &Settings) -> PriceTable {
    PriceTable::with_overrides(&settings.prices).unwrap_or_else(|e| {
        log::error!("price table: {e}; using the bundled prices");
        PriceTable::bundled().unwrap_or_default()
    })
}
