//! Unit tests of route parsing and checking: a hosted export, both spellings, and each
//! refusal's message naming the element and field.

use super::*;
use serde_json::{json, Value};

fn parse(value: Value) -> Result<Route, RouteError> {
    route_from_json(&value, None)
}

fn err(value: Value) -> String {
    match parse(value.clone()) {
        Ok(_) => panic!("route parsed but should not: {value}"),
        Err(e) => e.to_string(),
    }
}

fn to(id: &str) -> Value {
    json!({ "elementId": id })
}

/// start -> model -> end, with `extra` elements spliced in and `next` as start's target.
fn simple(next: &str, extra: Vec<Value>) -> Value {
    let mut elements = vec![
        json!({ "id": "start", "type": "start", "outputs": { "next": to(next) } }),
        json!({ "id": "m", "type": "model",
                "properties": { "provider": "openai", "model": "gpt-4o-mini" },
                "outputs": { "success": to("end"), "fallback": to("end") } }),
        json!({ "id": "end", "type": "end", "outputs": {} }),
    ];
    elements.extend(extra);
    json!({ "name": "r", "elements": elements })
}

#[test]
fn a_hosted_export_with_its_read_only_fields_parses() {
    let export = json!({
        "id": "54442216",
        "account_tag": "0d37909e38d3e99c29fa2cd343ac421a",
        "gateway_id": "my-gateway",
        "name": "support",
        "created_at": "2025-08-01T10:00:00Z",
        "modified_at": "2025-08-02T10:00:00Z",
        "deployment": { "created_at": "x", "deployment_id": "d1", "version_id": "v1" },
        "version": { "active": "true", "created_at": "x", "data": "{}", "version_id": "v1" },
        "elements": [
            { "id": "start", "type": "start", "outputs": { "next": to("plan") } },
            { "id": "plan", "type": "conditional",
              "properties": { "conditions": { "metadata.plan": { "$eq": "free" } } },
              "outputs": { "true": to("budget"), "false": to("split") } },
            { "id": "budget", "type": "rate",
              "properties": { "key": "metadata.user_id", "limit": 5, "limitType": "cost", "window": 86400 },
              "outputs": { "success": to("small"), "fallback": to("end") } },
            { "id": "split", "type": "percentage",
              "outputs": { "90%": to("big"), "else": to("small") } },
            { "id": "small", "type": "model",
              "properties": { "provider": "workers-ai", "model": "@cf/meta/llama-3.1-8b-instruct",
                              "retries": 1, "timeout": 30000 },
              "outputs": { "success": to("end"), "fallback": to("end") } },
            { "id": "big", "type": "model",
              "properties": { "provider": "openai", "model": "gpt-4o", "retries": 0.0, "timeout": 60000.0 },
              "outputs": { "success": to("end"), "fallback": to("small") } },
            { "id": "end", "type": "end", "outputs": {} }
        ]
    });
    let route = parse(export).unwrap();
    assert_eq!(route.name, "support");
    assert_eq!(route.elements.len(), 7);
    assert_eq!(route.start().unwrap().output("next"), Some("plan"));
    let ElementKind::Rate(rate) = &route.element("budget").unwrap().kind else {
        panic!()
    };
    assert_eq!(rate.limit_type, LimitType::Cost);
    assert_eq!(rate.window_s, 86400);
    assert_eq!(rate.technique, Technique::Sliding);
    assert_eq!(rate.key.as_ref().unwrap().dotted(), "metadata.user_id");
    let ElementKind::Model(big) = &route.element("big").unwrap().kind else {
        panic!()
    };
    assert_eq!((big.timeout_ms, big.retries), (60000, 0));
    let ElementKind::Percentage(split) = &route.element("split").unwrap().kind else {
        panic!()
    };
    assert_eq!(split.shares, [("90%".to_string(), 90.0)]);
    let ElementKind::Conditional(c) = &route.element("plan").unwrap().kind else {
        panic!()
    };
    let plan = Field::parse("metadata.plan").unwrap();
    assert_eq!(*c, Condition::Field(plan, Test::Eq(json!("free"))));
}

#[test]
fn both_spellings_are_accepted() {
    let cond = |key: &str| {
        simple(
            "c",
            vec![json!({ "id": "c", "type": "conditional",
            "properties": { key: { "headers.X-Tier": "paid" } },
            "outputs": { "true": to("m"), "false": to("end") } })],
        )
    };
    for key in ["condition", "conditions"] {
        let route = parse(cond(key)).unwrap();
        let ElementKind::Conditional(c) = &route.element("c").unwrap().kind else {
            panic!()
        };
        let Condition::Field(field, _) = c else {
            panic!()
        };
        assert_eq!(field.path, ["x-tier"], "header names are lowercased");
    }
    let rate = |kind: &str, window: &str| {
        simple(
            "r",
            vec![json!({ "id": "r", "type": kind,
            "properties": { "limit": 10, window: 60, "technique": "fixed" },
            "outputs": { "success": to("m") } })],
        )
    };
    for (kind, window) in [
        ("rate", "window"),
        ("rate_limit", "interval"),
        ("rate", "interval"),
    ] {
        let route = parse(rate(kind, window)).unwrap();
        let ElementKind::Rate(r) = &route.element("r").unwrap().kind else {
            panic!()
        };
        assert_eq!(
            (r.window_s, r.limit_type, r.technique),
            (60, LimitType::Count, Technique::Fixed)
        );
        assert_eq!(r.key, None);
    }
    let both = err(simple(
        "c",
        vec![json!({ "id": "c", "type": "conditional",
        "properties": { "condition": {}, "conditions": {} },
        "outputs": { "true": to("m"), "false": to("end") } })],
    ));
    assert!(both.contains("not both"), "{both}");
    let bare = route_from_json(&simple("m", vec![])["elements"], Some("named")).unwrap();
    assert_eq!(
        bare.name, "named",
        "a bare elements list takes the given name"
    );
}

#[test]
fn each_refusal_names_the_element_and_field() {
    let cases: Vec<(Value, &str)> = vec![
        (json!({ "name": "r", "elements": [], "owner": "x" }), "field `owner`: unknown field `owner`"),
        (json!({ "name": "r", "elements": [] }), "exactly one `start` element, found 0"),
        (simple("m", vec![json!({ "id": "s2", "type": "start", "outputs": { "next": to("m") } })]),
            "exactly one `start` element, found 2"),
        (simple("nowhere", vec![]), "element `start`, field `outputs.next.elementId`: leads to `nowhere`"),
        (simple("m", vec![json!({ "id": "m", "type": "end" })]), "element id `m` is used twice"),
        (simple("x", vec![json!({ "id": "x", "type": "router", "outputs": {} })]),
            "element `x`, field `type`: unknown element type `router`"),
        (simple("x", vec![json!({ "id": "x", "type": "end", "position": { "x": 1 } })]),
            "element `x`, field `position`: unknown field"),
        (simple("x", vec![json!({ "id": "x", "type": "end", "outputs": { "next": to("m") } })]),
            "element `x`, field `outputs.next`: unknown output `next` (an `end` element has no outputs)"),
        (simple("x", vec![json!({ "id": "x", "type": "conditional",
            "properties": { "conditions": { "body.user": "u" } }, "outputs": { "true": to("m") } })]),
            "element `x`, field `outputs.false`: is missing"),
        (simple("x", vec![json!({ "id": "x", "type": "conditional",
            "properties": { "conditions": { "body.user": { "$regex": "u" } } },
            "outputs": { "true": to("m"), "false": to("end") } })]),
            "element `x`, field `properties.conditions.body.user`: unknown operator `$regex`"),
        (simple("x", vec![json!({ "id": "x", "type": "conditional",
            "properties": { "conditions": { "query.user": "u" } },
            "outputs": { "true": to("m"), "false": to("end") } })]),
            "field `properties.conditions.query.user`: unknown field root `query`"),
        (simple("x", vec![json!({ "id": "x", "type": "conditional",
            "properties": { "conditions": { "$nor": [] } },
            "outputs": { "true": to("m"), "false": to("end") } })]),
            "unknown operator `$nor`"),
        (simple("x", vec![json!({ "id": "x", "type": "conditional",
            "properties": { "conditions": { "body.n": { "$in": 3 } } },
            "outputs": { "true": to("m"), "false": to("end") } })]),
            "field `properties.conditions.body.n.$in`: expected a list of values"),
        (simple("x", vec![json!({ "id": "x", "type": "percentage",
            "outputs": { "60%": to("m"), "50%": to("end") } })]),
            "element `x`, field `outputs`: the percentages add up to 110"),
        (simple("x", vec![json!({ "id": "x", "type": "percentage",
            "outputs": { "60%": to("m"), "30%": to("end") } })]),
            "add up to 90; without an `else` output they must add up to 100"),
        (simple("x", vec![json!({ "id": "x", "type": "percentage",
            "outputs": { "120%": to("m"), "else": to("end") } })]),
            "field `outputs.120%`: a percentage must be from 0 to 100"),
        (simple("x", vec![json!({ "id": "x", "type": "percentage",
            "outputs": { "a": to("m"), "else": to("end") } })]),
            "field `outputs.a`: a percentage output is named like `10%`"),
        (simple("x", vec![json!({ "id": "x", "type": "percentage", "outputs": {
            "10%": to("m"), "11%": to("m"), "12%": to("m"), "13%": to("m"), "14%": to("m"),
            "15%": to("m"), "else": to("end") } })]),
            "at most 5 percentage outputs (plus `else`), found 6"),
        (simple("x", vec![json!({ "id": "x", "type": "rate",
            "properties": { "limit": 0, "window": 60 }, "outputs": { "success": to("m") } })]),
            "element `x`, field `properties.limit`: expected a number greater than 0"),
        (simple("x", vec![json!({ "id": "x", "type": "rate",
            "properties": { "limit": 1, "window": 60, "interval": 60 }, "outputs": { "success": to("m") } })]),
            "give `window` or `interval`, not both"),
        (simple("x", vec![json!({ "id": "x", "type": "rate",
            "properties": { "limit": 1, "window": 60, "limitType": "tokens" }, "outputs": { "success": to("m") } })]),
            "field `properties.limitType`: unknown limit type `tokens`"),
        (simple("x", vec![json!({ "id": "x", "type": "rate",
            "properties": { "limit": 1, "window": 60, "burst": 2 }, "outputs": { "success": to("m") } })]),
            "field `properties.burst`: unknown property `burst`"),
        (simple("x", vec![json!({ "id": "x", "type": "model",
            "properties": { "provider": "openai", "model": "m", "retries": 9 }, "outputs": { "success": to("end") } })]),
            "field `properties.retries`: expected a whole number from 0 to 5"),
        (simple("x", vec![json!({ "id": "x", "type": "model",
            "properties": { "provider": "openai" }, "outputs": { "success": to("end") } })]),
            "field `properties.model`: expected a non-empty string"),
    ];
    for (route, expected) in cases {
        let message = err(route.clone());
        assert!(
            message.contains(expected),
            "expected {expected:?} in {message:?} for {route}"
        );
    }
}

#[test]
fn cycles_are_refused_with_their_path() {
    let looped = simple(
        "a",
        vec![
            json!({ "id": "a", "type": "model", "properties": { "provider": "openai", "model": "x" },
                "outputs": { "success": to("end"), "fallback": to("b") } }),
            json!({ "id": "b", "type": "model", "properties": { "provider": "openai", "model": "y" },
                "outputs": { "success": to("end"), "fallback": to("a") } }),
        ],
    );
    let message = err(looped);
    assert!(message.contains("cycle: a -> b -> a"), "{message}");
    // Two paths into one element is no cycle.
    let diamond = simple(
        "c",
        vec![json!({ "id": "c", "type": "conditional",
        "properties": { "conditions": { "metadata.plan": "free" } },
        "outputs": { "true": to("m"), "false": to("m") } })],
    );
    assert!(parse(diamond).is_ok());
}

#[test]
fn unknown_names_carry_the_valid_ones_for_a_hint() {
    let e = parse(simple(
        "x",
        vec![json!({ "id": "x", "type": "conditional",
        "properties": { "conditions": { "body.n": { "$gtt": 1 } } },
        "outputs": { "true": to("m"), "false": to("end") } })],
    ))
    .unwrap_err();
    let (name, valid) = e.unknown.unwrap();
    assert_eq!(name, "$gtt");
    assert!(valid.contains(&"$gt"));
    assert_eq!(e.element.as_deref(), Some("x"));
}

#[test]
fn a_spend_rule_filters_and_partitions_by_model_provider_and_metadata() {
    let rule: SpendRule = serde_json::from_value(serde_json::json!({
        "id": "r", "limit": 1.0, "limitType": "cost", "window": 60,
        "model": {"mode": "filter", "values": ["gpt-4o-mini", "groq/llama"]},
        "metadata": {"user": {"mode": "partition"}}
    }))
    .unwrap();
    let user = |v: Option<&str>| {
        let v = v.map(str::to_string);
        move |key: &str| (key == "user").then(|| v.clone()).flatten()
    };
    let some = user(Some("u1"));
    assert_eq!(
        rule.partition("openai", "gpt-4o-mini", &some).as_deref(),
        Some(r#"["metadata.user","u1"]"#)
    );
    // A filter value may name the provider too; other models are not counted.
    assert!(rule.partition("groq", "llama", &some).is_some());
    assert_eq!(rule.partition("openai", "llama", &some), None);
    assert_eq!(rule.partition("openai", "gpt-4o", &some), None);
    // Without the partitioned key: one shared budget of its own.
    assert_eq!(
        rule.partition("openai", "gpt-4o-mini", &user(None))
            .as_deref(),
        Some(r#"["metadata.user",""]"#)
    );
    let everything: SpendRule = serde_json::from_value(serde_json::json!({
        "limit": 1.0, "limitType": "cost", "window": 60,
        "metadata": {"team": {"mode": "filter", "values": ["eng"]}}
    }))
    .unwrap();
    assert_eq!(everything.partition("openai", "m", &user(Some("u1"))), None);
    let team = |key: &str| (key == "team").then(|| "eng".to_string());
    assert_eq!(
        everything.partition("openai", "m", &team).as_deref(),
        Some("")
    );
}
