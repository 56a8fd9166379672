//! Routes, aliases and spend limits in a config file: inline and file routes load, and
//! each refusal names gateway, route, element and field (with a hint where one is near).

use super::super::Settings;
use crate::routing::{AliasStrategy, DimensionMode, ElementKind, SpendTechnique};

fn load(text: &str) -> Result<Settings, super::ConfigError> {
    Settings::from_toml_str(text, "test")
}

fn err(text: &str) -> String {
    match load(text) {
        Ok(_) => panic!("config loaded but should not:\n{text}"),
        Err(e) => e.to_string(),
    }
}

const INLINE: &str = r#"
[[gateway]]
id = "team"

[[gateway.route]]
name = "support"

[[gateway.route.elements]]
id = "start"
type = "start"
outputs = { next = { elementId = "plan" } }

[[gateway.route.elements]]
id = "plan"
type = "conditional"
properties = { conditions = { "metadata.plan" = { "$eq" = "free" } } }
outputs = { true = { elementId = "small" }, false = { elementId = "split" } }

[[gateway.route.elements]]
id = "split"
type = "percentage"
outputs = { "90%" = { elementId = "big" }, else = { elementId = "small" } }

[[gateway.route.elements]]
id = "big"
type = "model"
properties = { provider = "openai", model = "gpt-4o", timeout = 30000, retries = 2 }
outputs = { success = { elementId = "end" }, fallback = { elementId = "small" } }

[[gateway.route.elements]]
id = "small"
type = "model"
properties = { provider = "perplexity", model = "sonar" }
outputs = { success = { elementId = "end" } }

[[gateway.route.elements]]
id = "end"
type = "end"
"#;

/// INLINE with `from` replaced by `to` (one occurrence).
fn inline_with(from: &str, to: &str) -> String {
    assert!(INLINE.contains(from), "{from}");
    INLINE.replacen(from, to, 1)
}

#[test]
fn an_inline_route_loads_with_providers_as_slugs() {
    let s = load(INLINE).unwrap();
    let g = s.gateway("team").unwrap();
    assert_eq!(g.routes.len(), 1);
    let route = &g.routes[0];
    assert_eq!(route.name, "support");
    let ElementKind::Model(small) = &route.element("small").unwrap().kind else {
        panic!()
    };
    assert_eq!(
        small.provider, "perplexity-ai",
        "a /compat prefix resolves to the slug"
    );
    let ElementKind::Model(big) = &route.element("big").unwrap().kind else {
        panic!()
    };
    assert_eq!((big.timeout_ms, big.retries), (30000, 2));
    assert!(s.gateway("default").unwrap().routes.is_empty());
}

#[test]
fn inline_route_errors_name_gateway_route_element_and_field() {
    let cases = [
        (inline_with("type = \"percentage\"", "type = \"percentag\""),
         "`gateway[0].route[0].elements`: gateway `team`, route `support`: element `split`, field `type`: unknown element type `percentag`; did you mean `percentage`?"),
        (inline_with("provider = \"openai\"", "provider = \"opnai\""),
         "element `big`, field `properties.provider`: `opnai` is not a known provider; did you mean `openai`?"),
        (inline_with("\"$eq\" = \"free\"", "\"$eqq\" = \"free\""),
         "element `plan`, field `properties.conditions.metadata.plan`: unknown operator `$eqq`; did you mean `$eq`?"),
        (inline_with("elementId = \"split\"", "elementId = \"splitt\""),
         "element `plan`, field `outputs.false.elementId`: leads to `splitt`, which is no element of this route"),
        (inline_with("\"90%\" = { elementId = \"big\" }, else", "\"80%\" = { elementId = \"big\" }, \"30%\""),
         "element `split`, field `outputs`: the percentages add up to 110"),
        (inline_with("fallback = { elementId = \"small\" }", "fallback = { elementId = \"plan\" }"),
         "cycle: plan -> split -> big -> plan"),
        (inline_with("retries = 2", "retries = 2, temperature = 1"),
         "field `properties.temperature`: unknown property `temperature`"),
    ];
    for (text, expected) in cases {
        let message = err(&text);
        assert!(
            message.contains(expected),
            "expected {expected:?} in {message}"
        );
    }
    let twice = format!("{INLINE}\n[[gateway.route]]\nname = \"support\"\nfile = \"x.json\"\n");
    assert!(err(&twice).contains(
        "`gateway[0].route[1].name`: route `support` is declared twice in gateway `team`"
    ));
    let both = "[[gateway]]\n[[gateway.route]]\nname = \"r\"\nfile = \"r.json\"\nelements = []\n";
    assert!(err(both).contains("has both `elements` and `file`"));
    let neither = "[[gateway]]\n[[gateway.route]]\nname = \"r\"\n";
    assert!(err(neither).contains("needs `elements` (inline) or `file`"));
    let bad_name = "[[gateway]]\n[[gateway.route]]\nname = \"a b\"\nelements = []\n";
    assert!(err(bad_name).contains("`gateway[0].route[0].name`: a route name"));
    let unknown = "[[gateway]]\n[[gateway.route]]\nname = \"r\"\nelemnts = []\n";
    assert!(
        err(unknown).contains("unknown key `elemnts`; did you mean `elements`?"),
        "{}",
        err(unknown)
    );
}

#[test]
fn a_route_file_is_read_relative_to_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("routes")).unwrap();
    let export = r#"{"id": "abc", "name": "hosted-name", "created_at": "2025-01-01T00:00:00Z",
        "elements": [
          {"id": "s", "type": "start", "outputs": {"next": {"elementId": "r"}}},
          {"id": "r", "type": "rate_limit", "properties": {"key": "headers.x-user", "limit": 3, "interval": 60},
           "outputs": {"success": {"elementId": "m"}, "fallback": {"elementId": "e"}}},
          {"id": "m", "type": "model", "properties": {"provider": "groq", "model": "llama"},
           "outputs": {"success": {"elementId": "e"}}},
          {"id": "e", "type": "end", "outputs": {}}]}"#;
    std::fs::write(dir.path().join("routes/support.json"), export).unwrap();
    let config = dir.path().join("sluice.toml");
    let text = "[[gateway]]\nid = \"g\"\n[[gateway.route]]\nname = \"support\"\nfile = \"routes/support.json\"\n";
    std::fs::write(&config, text).unwrap();
    let s = Settings::load(Some(&config)).unwrap();
    let g = s.gateway("g").unwrap();
    assert_eq!(g.routes[0].name, "support", "the config's name wins");
    let ElementKind::Rate(rate) = &g.routes[0].element("r").unwrap().kind else {
        panic!()
    };
    assert_eq!((rate.limit, rate.window_s), (3.0, 60));
    let file = g.config.route[0].file.as_ref().unwrap();
    assert!(
        file.is_absolute() || file.starts_with(dir.path()),
        "{}",
        file.display()
    );

    std::fs::write(
        dir.path().join("routes/support.json"),
        export.replace("groq", "grok-x"),
    )
    .unwrap();
    let message = Settings::load(Some(&config)).unwrap_err().to_string();
    assert!(
        message.contains("`gateway[0].route[0].file`: gateway `g`, route `support` ("),
        "{message}"
    );
    assert!(
        message.contains("support.json): element `m`, field `properties.provider`"),
        "{message}"
    );
    std::fs::write(dir.path().join("routes/support.json"), "{ nope").unwrap();
    let message = Settings::load(Some(&config)).unwrap_err().to_string();
    assert!(message.contains("is not valid JSON"), "{message}");
    std::fs::remove_file(dir.path().join("routes/support.json")).unwrap();
    let message = Settings::load(Some(&config)).unwrap_err().to_string();
    assert!(message.contains("cannot read"), "{message}");
}

#[test]
fn aliases_resolve_and_are_checked() {
    let s = load(
        "[[gateway]]\n[[gateway.alias]]\nname = \"support-fast\"\nmodels = [\"openai/gpt-4o-mini\", \"perplexity/sonar\"]\n\
         [[gateway.alias]]\nname = \"w\"\nmodels = [\"groq/a\", \"groq/b\"]\nstrategy = \"weighted\"\nweights = [3, 1]\n",
    )
    .unwrap();
    let aliases = &s.gateway("default").unwrap().aliases;
    assert_eq!(
        aliases[0].targets[1],
        ("perplexity-ai".to_string(), "sonar".to_string())
    );
    assert_eq!(aliases[0].strategy, AliasStrategy::Ordered);
    assert_eq!(aliases[1].weights, [3.0, 1.0]);
    let alias = |body: &str| format!("[[gateway]]\n[[gateway.alias]]\nname = \"a\"\n{body}\n");
    let cases = [
        (
            alias("models = [\"gpt-4o-mini\"]"),
            "`gateway[0].alias[0].models[0]`: `gpt-4o-mini` is not `provider/model`",
        ),
        (
            alias("models = [\"opnai/x\"]"),
            "`opnai` is not a known provider; did you mean `openai`?",
        ),
        (alias("models = []"), "an alias needs at least one model"),
        (
            alias("models = [\"groq/a\"]\nstrategy = \"weighted\"\nweights = [1, 2]"),
            "2 weights for 1 models",
        ),
        (
            alias("models = [\"groq/a\"]\nweights = [1]"),
            "weights are only used with strategy = \"weighted\"",
        ),
        (
            alias("models = [\"groq/a\"]\nstrategy = \"fastest\""),
            "`gateway[0].alias[0].strategy`: unknown value [redacted]; valid: ordered, weighted, latency",
        ),
        (
            alias("models = [\"groq/a\"]\nstrategy = \"latency\"\nweights = [1]"),
            "weights are only used with strategy = \"weighted\"",
        ),
        (
            alias("models = [\"groq/a\"]\n[[gateway.alias]]\nname = \"a\"\nmodels = [\"groq/b\"]"),
            "alias `a` is declared twice",
        ),
    ];
    for (text, expected) in cases {
        let message = err(&text);
        assert!(
            message.contains(expected),
            "expected {expected:?} in {message}"
        );
    }
}

#[test]
fn spend_limits_in_the_hosted_shape() {
    let s = load(
        r#"
        [[gateway]]
        spend_limits = { enabled = true, rules = [
            { id = "daily", limit = 25.0, limitType = "cost", window = 86400, technique = "sliding",
              model = { mode = "filter", values = ["gpt-4o-mini"] }, provider = { mode = "filter", values = ["openai"] },
              metadata = { user = { mode = "partition" } } },
            { limit = 100, limitType = "cost", window = 2592000 },
        ] }
        "#,
    )
    .unwrap();
    let limits = s
        .gateway("default")
        .unwrap()
        .config
        .spend_limits
        .clone()
        .unwrap();
    assert!(limits.enabled);
    assert_eq!(limits.rules[0].technique, SpendTechnique::Sliding);
    assert_eq!(
        limits.rules[0].metadata["user"].mode,
        DimensionMode::Partition
    );
    assert_eq!(limits.rules[1].id, "rule-2");
    assert_eq!(limits.rules[1].technique, SpendTechnique::Fixed);
    let rule = |body: &str| format!("[[gateway]]\nspend_limits = {{ rules = [{{ {body} }}] }}\n");
    let cases = [
        (rule("limit = 0, limitType = \"cost\", window = 60"), "`gateway[0].spend_limits.rules[0].limit`: must be a number of dollars above 0"),
        (rule("limit = 1, limitType = \"count\", window = 60"), "`gateway[0].spend_limits.rules[0].limitType`: unknown value [redacted]; valid: cost"),
        (rule("limit = 1, limitType = \"cost\", window = 0"), "`gateway[0].spend_limits.rules[0].window`: must be from 1"),
        (rule("limit = 1, limitType = \"cost\", window = 60, provider = { mode = \"filter\", values = [\"opnai\"] }"),
         "`gateway[0].spend_limits.rules[0].provider.values[0]`: `opnai` is not a known provider slug; did you mean `openai`?"),
        (rule("limit = 1, limitType = \"cost\", window = 60, model = { mode = \"filter\" }"), "a filter needs at least one value"),
        (rule("limit = 1, limitType = \"cost\", window = 60, metadata = { u = { mode = \"partition\", values = [\"x\"] } }"),
         "`gateway[0].spend_limits.rules[0].metadata.u.values`: a partition takes no values"),
        (rule("limit = 1, limitType = \"cost\", window = 60, scope = 1"), "unknown key `scope`"),
        (rule("limit = 1, window = 60"), "missing field `limitType`"),
    ];
    for (text, expected) in cases {
        let message = err(&text);
        assert!(
            message.contains(expected),
            "expected {expected:?} in {message}"
        );
    }
    let many: Vec<String> = (0..21)
        .map(|i| format!("{{ id = \"r{i}\", limit = 1, limitType = \"cost\", window = 60 }}"))
        .collect();
    let text = format!(
        "[[gateway]]\nspend_limits = {{ rules = [{}] }}\n",
        many.join(", ")
    );
    assert!(err(&text).contains("at most 20 rules, found 21"));
    let dup = "[[gateway]]\nspend_limits = { rules = [{ id = \"a\", limit = 1, limitType = \"cost\", window = 60 }, { id = \"a\", limit = 1, limitType = \"cost\", window = 60 }] }";
    assert!(err(dup).contains("rule id `a` is used twice"));
}
