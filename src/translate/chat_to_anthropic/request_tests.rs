//! Request translation edge cases the golden fixtures do not cover: every refusal
//! with its typed error, and the smaller parameter mappings.

use serde_json::{json, Value};

use super::{translate_request, RequestError, TranslatedRequest};

fn translate(request: Value) -> Result<TranslatedRequest, RequestError> {
    translate_request(request.to_string().as_bytes(), "claude-x")
}

fn body(request: Value) -> Value {
    serde_json::from_slice(&translate(request).unwrap().body).unwrap()
}

fn user(content: Value) -> Value {
    json!({ "messages": [{ "role": "user", "content": content }] })
}

fn error_path(err: RequestError) -> String {
    match err {
        RequestError::InvalidField { path, .. }
        | RequestError::UnsupportedRole { path, .. }
        | RequestError::UnsupportedContentPart { path, .. }
        | RequestError::UnsupportedImageUrl { path }
        | RequestError::UnsupportedToolType { path, .. }
        | RequestError::InvalidToolArguments { path } => path,
        other => panic!("unexpected error {other:?}"),
    }
}

#[test]
fn more_than_one_choice_is_refused_and_one_is_fine() {
    let mut req = user(json!("hi"));
    req["n"] = json!(3);
    assert!(matches!(
        translate(req.clone()),
        Err(RequestError::MultipleChoices(3))
    ));
    req["n"] = json!(0);
    assert_eq!(error_path(translate(req.clone()).unwrap_err()), "n");
    req["n"] = json!(1);
    assert_eq!(body(req)["messages"][0]["content"], "hi");
}

#[test]
fn malformed_bodies_get_typed_errors() {
    assert!(matches!(
        translate_request(b"{", "m"),
        Err(RequestError::InvalidJson(_))
    ));
    assert_eq!(
        error_path(translate(json!([1])).unwrap_err()),
        "(request body)"
    );
    assert_eq!(error_path(translate(json!({})).unwrap_err()), "messages");
    let no_role = json!({ "messages": [{ "content": "x" }] });
    assert_eq!(
        error_path(translate(no_role).unwrap_err()),
        "messages[0].role"
    );
    let legacy = json!({ "messages": [{ "role": "user", "content": "x" }, { "role": "function", "content": "y" }] });
    let err = translate(legacy).unwrap_err();
    assert_eq!(
        err.to_string(),
        "`messages[1].role` = \"function\" is not supported for this provider"
    );
}

#[test]
fn field_type_errors_name_the_field() {
    for (key, value) in [
        ("max_tokens", json!(0)),
        ("max_completion_tokens", json!("100")),
        ("temperature", json!("hot")),
        ("stop", json!([1])),
        ("stream", json!("yes")),
        ("stream_options", json!(true)),
        ("tools", json!({})),
    ] {
        let mut req = user(json!("hi"));
        req[key] = value;
        assert_eq!(error_path(translate(req).unwrap_err()), key);
    }
}

#[test]
fn an_empty_stop_list_means_no_stop_sequences() {
    let mut req = user(json!("hi"));
    req["stop"] = json!([]);
    assert!(body(req).get("stop_sequences").is_none());
}

#[test]
fn stream_and_include_usage_are_reported_to_the_caller() {
    let mut req = user(json!("hi"));
    let plain = translate(req.clone()).unwrap();
    assert!(!plain.stream && !plain.include_usage);
    req["stream"] = json!(true);
    let streamed = translate(req.clone()).unwrap();
    assert!(streamed.stream && !streamed.include_usage);
    req["stream_options"] = json!({ "include_usage": true });
    let with_usage = translate(req).unwrap();
    assert!(with_usage.stream && with_usage.include_usage);
    // Anthropic has no stream_options: it is never forwarded.
    assert!(serde_json::from_slice::<Value>(&with_usage.body)
        .unwrap()
        .get("stream_options")
        .is_none());
}

#[test]
fn unsupported_content_parts_are_refused_not_dropped() {
    let audio = user(
        json!([{ "type": "input_audio", "input_audio": { "data": "AA==", "format": "wav" } }]),
    );
    let err = translate(audio).unwrap_err();
    assert!(
        matches!(&err, RequestError::UnsupportedContentPart { kind, .. } if kind == "input_audio")
    );
    assert_eq!(error_path(err), "messages[0].content[0]");
}

#[test]
fn images_need_an_http_url_or_a_base64_data_url() {
    for url in [
        "ftp://example.com/a.png",
        "data:image/png,rawbytes",
        "data:;base64,AAAA",
        "data:image/png;base64,",
        "file:///etc/passwd",
    ] {
        let req = user(json!([{ "type": "image_url", "image_url": { "url": url } }]));
        let err = translate(req).unwrap_err();
        assert!(
            matches!(err, RequestError::UnsupportedImageUrl { .. }),
            "{url}"
        );
        assert_eq!(error_path(err), "messages[0].content[0].image_url.url");
    }
    // The older bare-string form of image_url is accepted too.
    let bare = user(json!([{ "type": "image_url", "image_url": "data:image/webp;base64,UklG" }]));
    assert_eq!(
        body(bare)["messages"][0]["content"][0]["source"],
        json!({ "type": "base64", "media_type": "image/webp", "data": "UklG" })
    );
}

#[test]
fn tool_arguments_must_be_a_json_object() {
    for args in ["[1, 2]", "{\"unterminated\": ", "42"] {
        let req = json!({ "messages": [{ "role": "assistant", "content": null, "tool_calls": [
            { "id": "c1", "type": "function", "function": { "name": "f", "arguments": args } }
        ]}]});
        let err = translate(req).unwrap_err();
        assert!(
            matches!(err, RequestError::InvalidToolArguments { .. }),
            "{args}"
        );
        assert_eq!(
            error_path(err),
            "messages[0].tool_calls[0].function.arguments"
        );
    }
}

#[test]
fn non_function_tools_are_refused() {
    let mut req = user(json!("hi"));
    req["tools"] = json!([{ "type": "custom", "custom": { "name": "grammar" } }]);
    let err = translate(req).unwrap_err();
    assert!(matches!(&err, RequestError::UnsupportedToolType { kind, .. } if kind == "custom"));
    assert_eq!(error_path(err), "tools[0]");
}

fn with_tools(tool_choice: Value, parallel: Option<bool>) -> Value {
    let mut req = user(json!("hi"));
    req["tools"] = json!([{ "type": "function", "function": { "name": "f" } }]);
    if !tool_choice.is_null() {
        req["tool_choice"] = tool_choice;
    }
    if let Some(parallel) = parallel {
        req["parallel_tool_calls"] = json!(parallel);
    }
    body(req).get("tool_choice").cloned().unwrap_or(Value::Null)
}

#[test]
fn tool_choice_modes_map_to_anthropic_types() {
    assert_eq!(with_tools(json!("auto"), None), json!({ "type": "auto" }));
    assert_eq!(with_tools(json!("none"), None), json!({ "type": "none" }));
    assert_eq!(
        with_tools(json!("required"), None),
        json!({ "type": "any" })
    );
    assert_eq!(with_tools(Value::Null, None), Value::Null);
    assert_eq!(
        with_tools(Value::Null, Some(false)),
        json!({ "type": "auto", "disable_parallel_tool_use": true })
    );
    assert_eq!(
        with_tools(json!("none"), Some(false)),
        json!({ "type": "none" })
    );
    assert_eq!(
        with_tools(json!("auto"), Some(true)),
        json!({ "type": "auto" })
    );
}

#[test]
fn tool_choice_without_tools_is_left_out() {
    let mut req = user(json!("hi"));
    req["tool_choice"] = json!("required");
    let out = body(req);
    assert!(out.get("tool_choice").is_none() && out.get("tools").is_none());
}

#[test]
fn refusals_stay_text_and_tool_results_after_a_user_turn_start_a_new_message() {
    let req = json!({ "messages": [
        { "role": "assistant", "content": [{ "type": "refusal", "refusal": "I can't." }] },
        { "role": "user", "content": "ok" },
        { "role": "tool", "tool_call_id": "c9", "content": "late" }
    ]});
    let out = body(req);
    assert_eq!(
        out["messages"][0]["content"],
        json!([{ "type": "text", "text": "I can't." }])
    );
    assert_eq!(
        out["messages"][1],
        json!({ "role": "user", "content": "ok" })
    );
    assert_eq!(
        out["messages"][2],
        json!({ "role": "user", "content": [{ "type": "tool_result", "tool_use_id": "c9", "content": "late" }] })
    );
}
