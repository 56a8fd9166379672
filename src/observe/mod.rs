//! The [observe] stage's parts: token usage, prices and cost, `cf-aig-metadata`,
//! and the SQLite request log. Self-contained; the proxy wires them in.

pub mod access_log;
pub mod custom_cost;
pub mod include_usage;
pub mod logdb;
pub mod metadata;
pub mod metrics;
pub mod price;
pub mod usage;

pub use access_log::{AccessLine, AccessLog};
pub use custom_cost::{parse_custom_cost, CustomCost, CustomCostError};
pub use include_usage::{inject_include_usage, is_usage_only_chunk, UsageChunkStrip};
pub use logdb::{LogDb, LogDbError, LogEntry, LogId, LogSender, LogStore, LogWriter};
pub use metadata::{parse_metadata, Metadata, MetadataError, MetadataValue};
pub use price::{ModelPrice, PriceError, PriceTable};
pub use usage::{from_json_body, StreamUsage, Usage};
