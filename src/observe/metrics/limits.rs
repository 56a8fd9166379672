//! Counters of the limits the gateway enforces: timeouts by kind, requests refused by
//! the body budget, failed accepts; and the gauge of request-body bytes held.

/// Which deadline expired (`sluice_timeouts_total{kind}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutKind {
    /// The request head was not complete within `client_header_timeout_s` (408).
    ClientHeader,
    /// The request body stalled past `client_body_timeout_s` (408).
    ClientBody,
    /// A write to the client made no progress within `client_send_timeout_s` (closed).
    ClientSend,
    /// No upstream response head within `upstream.first_byte_timeout_s` (504).
    UpstreamFirstByte,
    /// An upstream body stalled past `upstream.stream_idle_timeout_s` (cut).
    UpstreamIdle,
}

impl TimeoutKind {
    /// Every kind, in label order.
    pub const ALL: [TimeoutKind; 5] = [
        TimeoutKind::ClientHeader,
        TimeoutKind::ClientBody,
        TimeoutKind::ClientSend,
        TimeoutKind::UpstreamFirstByte,
        TimeoutKind::UpstreamIdle,
    ];

    /// The `kind` label value.
    pub fn label(self) -> &'static str {
        match self {
            TimeoutKind::ClientHeader => "client_header",
            TimeoutKind::ClientBody => "client_body",
            TimeoutKind::ClientSend => "client_send",
            TimeoutKind::UpstreamFirstByte => "upstream_first_byte",
            TimeoutKind::UpstreamIdle => "upstream_idle",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// One worker's (or, merged, the process's) limit counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LimitCounters {
    timeouts: [u64; TimeoutKind::ALL.len()],
    /// Requests answered 503 because the body budget was spent.
    pub body_budget_refusals: u64,
    /// `accept` calls that failed (out of descriptors and the like).
    pub accept_errors: u64,
    /// Access-log lines dropped because the access-log thread fell behind.
    pub access_lines_dropped: u64,
    /// Request-body bytes held by this worker's requests when it last published.
    pub buffered_body_bytes: u64,
}

impl LimitCounters {
    /// Counts one timeout of this kind.
    pub fn count_timeout(&mut self, kind: TimeoutKind) {
        self.timeouts[kind.index()] += 1;
    }

    /// Timeouts of this kind counted.
    pub fn timeouts(&self, kind: TimeoutKind) -> u64 {
        self.timeouts[kind.index()]
    }

    /// Adds `other`'s counts (merging workers).
    pub fn merge(&mut self, other: &LimitCounters) {
        for (mine, theirs) in self.timeouts.iter_mut().zip(other.timeouts) {
            *mine += theirs;
        }
        self.body_budget_refusals += other.body_budget_refusals;
        self.accept_errors += other.accept_errors;
        self.access_lines_dropped += other.access_lines_dropped;
        self.buffered_body_bytes += other.buffered_body_bytes;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_kind_and_merges() {
        let mut a = LimitCounters::default();
        a.count_timeout(TimeoutKind::ClientSend);
        a.count_timeout(TimeoutKind::ClientSend);
        a.body_budget_refusals = 1;
        let mut b = LimitCounters::default();
        b.count_timeout(TimeoutKind::UpstreamIdle);
        b.accept_errors = 3;
        b.buffered_body_bytes = 10;
        a.merge(&b);
        assert_eq!(a.timeouts(TimeoutKind::ClientSend), 2);
        assert_eq!(a.timeouts(TimeoutKind::UpstreamIdle), 1);
        assert_eq!(a.timeouts(TimeoutKind::ClientHeader), 0);
        assert_eq!((a.body_budget_refusals, a.accept_errors), (1, 3));
        assert_eq!(a.buffered_body_bytes, 10);
        let labels: Vec<_> = TimeoutKind::ALL.iter().map(|k| k.label()).collect();
        assert_eq!(labels.len(), 5);
    }
}
