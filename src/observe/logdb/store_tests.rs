//! Tests of reading the log: filters, order, pages, totals, patch and delete,
//! over a small set of entries whose differences are chosen by hand.

use super::writer_tests::sample;
use super::*;
use crate::observe::parse_metadata;

/// provider, model, status, tokens_in, cost, duration_ms, metadata.
type Row = (
    &'static str,
    &'static str,
    u16,
    Option<u64>,
    Option<f64>,
    u64,
    &'static str,
);

/// Six entries (n = 0..6): providers, models, statuses, costs and metadata vary.
fn seeded() -> (tempfile::TempDir, LogDb, LogStore) {
    let dir = tempfile::tempdir().unwrap();
    let db = LogDb::open(dir.path()).unwrap();
    let (sender, pending) = db.writer(16);
    let rows: [Row; 6] = [
        (
            "openai",
            "gpt-4o-mini",
            200,
            Some(10),
            Some(0.5),
            300,
            r#"{"user":"alice","tier":1}"#,
        ),
        (
            "openai",
            "gpt-4o",
            200,
            Some(40),
            Some(2.0),
            100,
            r#"{"user":"bob","beta":true}"#,
        ),
        ("anthropic", "claude-haiku-4-5", 429, None, None, 50, "{}"),
        (
            "openai",
            "gpt-4o-mini",
            500,
            Some(5),
            Some(0.25),
            900,
            r#"{"user":"alice"}"#,
        ),
        (
            "anthropic",
            "claude-haiku-4-5",
            200,
            Some(30),
            Some(1.0),
            200,
            r#"{"tier":2}"#,
        ),
        (
            "groq",
            "llama-3.1-8b-instant",
            200,
            Some(20),
            None,
            10,
            r#"{"user":"carol"}"#,
        ),
    ];
    for (n, (provider, model, status, tokens_in, cost, duration_ms, metadata)) in
        rows.into_iter().enumerate()
    {
        let mut entry = sample(n as i64, "gw");
        entry.provider = provider.into();
        // Even entries were asked for by `provider/model` (`/compat`), odd ones by the
        // model alone (a native path).
        entry.model = if n % 2 == 0 {
            format!("{provider}/{model}")
        } else {
            model.into()
        };
        entry.upstream_model = model.into();
        entry.stream = n == 1;
        entry.status = status;
        entry.success = status == 200;
        entry.cached = n == 4;
        entry.tokens_in = tokens_in;
        entry.tokens_out = tokens_in.map(|t| t * 2);
        entry.cost = cost;
        entry.duration_ms = duration_ms;
        entry.metadata = metadata.into();
        assert!(sender.try_log(entry, 100));
    }
    // Metadata that is not JSON must not break metadata filters.
    let mut odd = sample(99, "other");
    odd.metadata = "not json".into();
    assert!(sender.try_log(odd, 100));
    pending.start().unwrap().shutdown().unwrap();
    let store = db.store().unwrap();
    (dir, db, store)
}

fn gw_filter() -> LogFilter {
    LogFilter {
        gateway: Some("gw".into()),
        ..LogFilter::default()
    }
}

/// The `n` of each listed entry, in order.
fn ns(store: &LogStore, query: &ListQuery) -> Vec<i64> {
    let list = store.list(query).unwrap();
    list.entries
        .iter()
        .map(|e| e.created_at - 1_700_000_000_000)
        .collect()
}

fn query(filter: LogFilter) -> ListQuery {
    ListQuery {
        filter,
        ..ListQuery::default()
    }
}

#[test]
fn filters_narrow_the_listing() {
    let (_dir, _db, store) = seeded();
    let with = |f: fn(&mut LogFilter)| {
        let mut filter = gw_filter();
        f(&mut filter);
        ns(&store, &query(filter))
    };
    assert_eq!(with(|_| {}), [5, 4, 3, 2, 1, 0], "newest first by default");
    assert_eq!(with(|f| f.provider = Some("anthropic".into())), [4, 2]);
    assert_eq!(with(|f| f.model = Some("gpt-4o-mini".into())), [3]);
    assert_eq!(with(|f| f.model = Some("openai/gpt-4o-mini".into())), [0]);
    assert_eq!(
        with(|f| f.upstream_model = Some("gpt-4o-mini".into())),
        [3, 0]
    );
    assert_eq!(
        with(|f| f.upstream_model = Some("openai/gpt-4o-mini".into())),
        [] as [i64; 0]
    );
    assert_eq!(with(|f| f.stream = Some(true)), [1]);
    assert_eq!(with(|f| f.stream = Some(false)), [5, 4, 3, 2, 0]);
    assert_eq!(with(|f| f.status = Some(429)), [2]);
    assert_eq!(with(|f| f.success = Some(false)), [3, 2]);
    assert_eq!(with(|f| f.cached = Some(true)), [4]);
    assert_eq!(
        with(|f| f.created_from = Some(1_700_000_000_002)),
        [5, 4, 3, 2]
    );
    assert_eq!(with(|f| f.created_to = Some(1_700_000_000_002)), [1, 0]);
    assert_eq!(
        with(|f| f.metadata = vec![("user".into(), "alice".into())]),
        [3, 0]
    );
    assert_eq!(
        with(|f| f.metadata = vec![("tier".into(), "2".into())]),
        [4]
    );
    assert_eq!(
        with(|f| f.metadata = vec![("beta".into(), "true".into())]),
        [1]
    );
    assert_eq!(
        with(|f| f.metadata = vec![("user".into(), "alice".into()), ("tier".into(), "1".into())]),
        [0]
    );
    assert_eq!(
        with(|f| f.metadata = vec![("user".into(), "nobody".into())]),
        Vec::<i64>::new()
    );
    assert_eq!(with(|f| f.gateway = None).len(), 7);
    let everywhere = LogFilter {
        metadata: vec![("user".into(), "carol".into())],
        ..LogFilter::default()
    };
    assert_eq!(ns(&store, &query(everywhere)), [5]);
}

#[test]
fn order_by_each_column_both_ways() {
    let (_dir, _db, store) = seeded();
    let ordered = |order_by, direction| {
        ns(
            &store,
            &ListQuery {
                filter: gw_filter(),
                order_by,
                direction,
                ..ListQuery::default()
            },
        )
    };
    assert_eq!(
        ordered(OrderBy::CreatedAt, Direction::Asc),
        [0, 1, 2, 3, 4, 5]
    );
    assert_eq!(
        ordered(OrderBy::DurationMs, Direction::Desc),
        [3, 0, 4, 1, 2, 5]
    );
    assert_eq!(
        ordered(OrderBy::DurationMs, Direction::Asc),
        [5, 2, 1, 4, 0, 3]
    );
    // Unknown costs and token counts (NULL) sort lowest.
    assert_eq!(ordered(OrderBy::Cost, Direction::Desc), [1, 4, 0, 3, 5, 2]);
    assert_eq!(
        ordered(OrderBy::TokensIn, Direction::Asc),
        [2, 3, 0, 5, 4, 1]
    );
    assert_eq!(
        ordered(OrderBy::TokensOut, Direction::Desc),
        [1, 4, 5, 0, 3, 2]
    );
}

#[test]
fn pages_split_the_order_and_totals_cover_the_whole_filter() {
    let (_dir, _db, store) = seeded();
    let page = |page, per_page| ListQuery {
        filter: gw_filter(),
        page,
        per_page,
        ..ListQuery::default()
    };
    assert_eq!(ns(&store, &page(1, 4)), [5, 4, 3, 2]);
    assert_eq!(ns(&store, &page(2, 4)), [1, 0]);
    assert_eq!(ns(&store, &page(3, 4)), Vec::<i64>::new());
    assert_eq!(ns(&store, &page(0, 2)), [5, 4], "page 0 reads as 1");

    let list = store.list(&page(2, 2)).unwrap();
    assert_eq!(list.entries.len(), 2);
    let totals = list.totals;
    assert_eq!(totals.requests, 6);
    assert_eq!(totals.tokens_in, 10 + 40 + 5 + 30 + 20);
    assert_eq!(totals.tokens_out, 2 * (10 + 40 + 5 + 30 + 20));
    assert!((totals.cost - 3.75).abs() < 1e-12, "{}", totals.cost);

    let none = LogFilter {
        provider: Some("nobody".into()),
        ..gw_filter()
    };
    assert_eq!(store.totals(&none).unwrap(), Totals::default());
}

#[test]
fn patch_sets_feedback_score_and_metadata() {
    let (_dir, _db, store) = seeded();
    let id = sample(2, "gw").id;
    let id = id.as_str();
    assert!(store.patch(id, Some(1), None, None).unwrap());
    let entry = store.get(id).unwrap().unwrap();
    assert_eq!((entry.feedback, entry.score), (Some(1), None));

    let metadata = parse_metadata(br#"{"reviewed":true}"#).unwrap();
    assert!(store.patch(id, None, Some(87.5), Some(&metadata)).unwrap());
    let entry = store.get(id).unwrap().unwrap();
    assert_eq!((entry.feedback, entry.score), (Some(1), Some(87.5)));
    assert_eq!(entry.metadata, r#"{"reviewed":true}"#);
    let reviewed = LogFilter {
        metadata: vec![("reviewed".into(), "true".into())],
        ..gw_filter()
    };
    assert_eq!(ns(&store, &query(reviewed)), [2]);

    assert!(store.patch(id, None, None, None).unwrap());
    assert!(!store.patch("missing", Some(1), None, None).unwrap());
    assert!(!store.patch("missing", None, None, None).unwrap());
    assert!(matches!(
        store.patch(id, Some(2), None, None),
        Err(LogDbError::BadPatch(_))
    ));
    assert!(matches!(
        store.patch(id, None, Some(100.5), None),
        Err(LogDbError::BadPatch(_))
    ));
    assert!(matches!(
        store.patch(id, None, Some(f64::NAN), None),
        Err(LogDbError::BadPatch(_))
    ));
    assert_eq!(
        store.get(id).unwrap().unwrap().feedback,
        Some(1),
        "a refused patch changes nothing"
    );
}

#[test]
fn a_gateway_has_entries_until_they_are_deleted() {
    let (_dir, _db, store) = seeded();
    assert!(store.has_entries("gw").unwrap());
    assert!(!store.has_entries("nope").unwrap());
    store.delete(&gw_filter()).unwrap();
    assert!(!store.has_entries("gw").unwrap());
    assert!(store.has_entries("other").unwrap());
}

#[test]
fn delete_by_filter_removes_only_what_matches() {
    let (_dir, _db, store) = seeded();
    let errors = LogFilter {
        success: Some(false),
        ..gw_filter()
    };
    assert_eq!(store.delete(&errors).unwrap(), 2);
    assert_eq!(ns(&store, &query(gw_filter())), [5, 4, 1, 0]);
    assert_eq!(store.delete(&errors).unwrap(), 0);
    assert_eq!(store.delete(&LogFilter::default()).unwrap(), 5);
    assert_eq!(store.totals(&LogFilter::default()).unwrap().requests, 0);
}
