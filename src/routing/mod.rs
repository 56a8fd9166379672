//! Dynamic routes, model aliases and spend limits as plain data (issue 14): the hosted
//! service's JSON route format parsed and checked, one type for the config file and an API.

mod alias;
mod condition;
mod evaluate;
mod graph;
pub mod latency;
mod parse;
mod properties;
mod spend;

pub use alias::{Alias, AliasConfig, AliasStrategy};
pub use condition::{Condition, Field, FieldRoot, Test};
pub use evaluate::{evaluate, FieldValues};
pub use parse::{elements_from_json, route_from_json};
pub use spend::{
    Dimension, DimensionMode, SpendLimitType, SpendLimits, SpendRule, SpendTechnique,
    MAX_SPEND_RULES,
};

use std::fmt;

/// The longest window or interval a route or spend rule may name: a year, in seconds.
pub const MAX_WINDOW_S: u64 = 365 * 24 * 3600;

/// The longest `timeout` a `model` element may set: a day, in milliseconds.
pub const MAX_MODEL_TIMEOUT_MS: u64 = 86_400_000;

/// Extra attempts a `model` element may ask for.
pub const MAX_MODEL_RETRIES: u32 = 5;

/// Named outputs a `percentage` element may have, besides `else`.
pub const MAX_PERCENTAGE_OUTPUTS: usize = 5;

/// A named flow of elements, used as `"model": "dynamic/NAME"`.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// The route's name (the part after `dynamic/`).
    pub name: String,
    /// Which version of it runs, as the log records it: for a route from the config
    /// file, a hash of its elements (it changes when they do).
    pub version: String,
    /// The elements in the order written; exactly one is a `start`.
    pub elements: Vec<Element>,
}

impl Route {
    /// The element with this id.
    pub fn element(&self, id: &str) -> Option<&Element> {
        self.elements.iter().find(|e| e.id == id)
    }

    /// The top-level keys of the request body that its conditions and keys read
    /// (`body.metadata.tier` reads `metadata`), each once: the scan finds their values.
    pub fn body_keys(&self) -> Vec<String> {
        fn walk<'c>(condition: &'c Condition, out: &mut Vec<&'c Field>) {
            match condition {
                Condition::All(list) | Condition::Any(list) => {
                    list.iter().for_each(|c| walk(c, out))
                }
                Condition::Not(inner) => walk(inner, out),
                Condition::Field(field, _) => out.push(field),
            }
        }
        let mut fields = Vec::new();
        for element in &self.elements {
            match &element.kind {
                ElementKind::Conditional(condition) => walk(condition, &mut fields),
                ElementKind::Percentage(split) => fields.extend(split.key.as_ref()),
                ElementKind::Rate(rate) => fields.extend(rate.key.as_ref()),
                _ => {}
            }
        }
        let mut keys: Vec<String> = fields
            .into_iter()
            .filter(|f| f.root == FieldRoot::Body)
            .filter_map(|f| f.path.first().cloned())
            .collect();
        keys.sort();
        keys.dedup();
        keys
    }

    /// The `start` element (validation guarantees there is exactly one).
    pub fn start(&self) -> Option<&Element> {
        self.elements
            .iter()
            .find(|e| matches!(e.kind, ElementKind::Start))
    }
}

/// One node of a route: its id, what it does and where each of its outputs leads.
#[derive(Debug, Clone, PartialEq)]
pub struct Element {
    /// Unique within the route.
    pub id: String,
    /// The id as a JSON string, made once: request log paths are written from it.
    pub quoted_id: String,
    /// The element's type with its typed `properties`.
    pub kind: ElementKind,
    /// `outputs`: output name -> the id of the element it leads to, sorted by name.
    pub outputs: Vec<(String, String)>,
}

impl Element {
    /// The element the output `name` leads to.
    pub fn output(&self, name: &str) -> Option<&str> {
        self.outputs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, id)| id.as_str())
    }
}

/// An element's type and properties.
#[derive(Debug, Clone, PartialEq)]
pub enum ElementKind {
    /// Where the flow begins; output `next`.
    Start,
    /// If/else on the request; outputs `true` and `false`.
    Conditional(Condition),
    /// A split by weight; outputs `N%` (at most five) and an optional `else`.
    Percentage(Percentage),
    /// A request-count or cost budget per key; outputs `success` and `fallback`.
    Rate(RateLimit),
    /// A call to one provider's model; outputs `success` and `fallback`.
    Model(ModelCall),
    /// Where the flow ends and the last response goes back; no outputs.
    End,
}

impl ElementKind {
    /// The element type as the hosted service names it.
    pub fn type_name(&self) -> &'static str {
        match self {
            ElementKind::Start => "start",
            ElementKind::Conditional(_) => "conditional",
            ElementKind::Percentage(_) => "percentage",
            ElementKind::Rate(_) => "rate",
            ElementKind::Model(_) => "model",
            ElementKind::End => "end",
        }
    }
}

/// A `percentage` element's properties and its shares.
#[derive(Debug, Clone, PartialEq)]
pub struct Percentage {
    /// `properties.key`: a field whose value makes the choice sticky; `None`: random.
    pub key: Option<Field>,
    /// Each named output with its share in percent (0-100), sorted by output name.
    pub shares: Vec<(String, f64)>,
}

/// What a `rate` element counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitType {
    /// Requests admitted.
    Count,
    /// US dollars spent.
    Cost,
}

/// How a window moves (the gateway rate limit's two techniques).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Technique {
    /// Windows aligned to Unix time, counted afresh in each.
    Fixed,
    /// A window ending now.
    Sliding,
}

/// A `rate` element's properties.
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimit {
    /// One bucket per value of this field; `None`: one bucket for every request.
    pub key: Option<Field>,
    /// Requests (count) or dollars (cost) per window; greater than 0.
    pub limit: f64,
    /// What is counted.
    pub limit_type: LimitType,
    /// The window in seconds (`window`, also spelt `interval`).
    pub window_s: u64,
    /// How the window moves; sliding unless written.
    pub technique: Technique,
}

/// A `model` element's properties.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelCall {
    /// The provider as written (a slug or `/compat` prefix; the config resolves it).
    pub provider: String,
    /// The provider's own model name.
    pub model: String,
    /// Milliseconds to wait for the response head (and a stream's first byte); 0: none.
    pub timeout_ms: u64,
    /// Extra attempts after the first.
    pub retries: u32,
}

/// Why a route was refused: the element (when one is at fault), the field, in plain words.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteError {
    /// The element's id, when the error is inside one.
    pub element: Option<String>,
    /// The field within the element (or route): `properties.limit`, `outputs.next`, ...
    pub field: String,
    /// What is wrong.
    pub message: String,
    /// A misspelt name and the names valid there, for a did-you-mean hint.
    pub unknown: Option<(String, &'static [&'static str])>,
}

impl RouteError {
    pub(crate) fn new(
        element: Option<&str>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        RouteError {
            element: element.map(str::to_string),
            field: field.into(),
            message: message.into(),
            unknown: None,
        }
    }

    pub(crate) fn unknown(
        element: Option<&str>,
        field: impl Into<String>,
        what: &str,
        name: &str,
        valid: &'static [&'static str],
    ) -> Self {
        let mut e = RouteError::new(element, field, format!("unknown {what} `{name}`"));
        e.unknown = Some((name.to_string(), valid));
        e
    }
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(id) = &self.element {
            write!(f, "element `{id}`, ")?;
        }
        write!(f, "field `{}`: {}", self.field, self.message)
    }
}

/// A hash that is the same on every machine, process and version of sluice (FNV-1a,
/// then murmur3's finaliser, since FNV's high bits barely move with the last bytes).
pub fn stable_hash(bytes: &[u8]) -> u64 {
    let mut hasher = StableHasher::default();
    hasher.write(bytes);
    hasher.finish()
}

/// [`stable_hash`] fed piece by piece (and as an `io::Write`, so a value can be hashed as
/// it is serialised, with no buffer).
#[derive(Debug, Clone, Copy)]
pub struct StableHasher(u64);

impl Default for StableHasher {
    fn default() -> Self {
        StableHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl StableHasher {
    /// Adds `bytes`.
    pub fn write(&mut self, bytes: &[u8]) {
        self.0 = bytes.iter().fold(self.0, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
        });
    }

    /// The hash of everything written.
    pub fn finish(self) -> u64 {
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

impl std::io::Write for StableHasher {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        StableHasher::write(self, bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests;
