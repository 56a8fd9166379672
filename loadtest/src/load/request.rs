//! The bytes `sluice-load` sends: the default chat body (with `--model` and `--stream`), a
//! custom body's model swapped in, header checks, and the rendered request head.

use super::target::Target;
use crate::error::ToolError;

/// The model of the default body: a `provider/model` name, as sluice's unified endpoints want
/// it; sluice-mock answers any model.
pub const DEFAULT_MODEL: &str = "openai/mock-gpt";

/// Headers the tool writes itself from the body and the URL.
const OWN_HEADERS: [&str; 2] = ["content-length", "transfer-encoding"];

/// A small realistic chat request for `model`.
pub fn default_body(model: &str, stream: bool) -> Vec<u8> {
    let stream = if stream { r#","stream":true"# } else { "" };
    let model = serde_json::Value::from(model);
    format!(
        r#"{{"model":{model},"messages":[{{"role":"system","content":"You are a helpful assistant."}},{{"role":"user","content":"Write a haiku about load testing."}}],"max_tokens":64{stream}}}"#
    )
    .into_bytes()
}

/// `body` (a JSON object) with its `model` set to `model`.
pub fn with_model(body: &[u8], model: &str) -> Result<Vec<u8>, ToolError> {
    let mut json: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ToolError::Usage(format!("--model needs a JSON body: {e}")))?;
    let object = json
        .as_object_mut()
        .ok_or_else(|| ToolError::Usage("--model needs a JSON object as the body".to_owned()))?;
    object.insert("model".to_owned(), model.into());
    serde_json::to_vec(&json).map_err(|e| ToolError::Usage(format!("--model: {e}")))
}

/// Parses `Name: value`; refuses malformed names, line breaks and the headers the tool sets.
pub fn parse_header(line: &str) -> Result<(String, String), ToolError> {
    let bad = |why: &str| ToolError::Usage(format!("--header {line:?}: {why}"));
    let (name, value) = line
        .split_once(':')
        .ok_or_else(|| bad("expected 'Name: value'"))?;
    let name = name.trim();
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || !name.chars().all(token) || line.contains(['\r', '\n']) {
        return Err(bad("expected 'Name: value'"));
    }
    if OWN_HEADERS.iter().any(|own| name.eq_ignore_ascii_case(own)) {
        return Err(bad("sluice-load sets this header from the body"));
    }
    Ok((name.to_owned(), value.trim().to_owned()))
}

/// Checks and uppercases a method (`-m get` means GET).
pub fn parse_method(method: &str) -> Result<String, ToolError> {
    if method.is_empty() || !method.chars().all(|c| c.is_ascii_alphabetic() || c == '-') {
        return Err(ToolError::Usage(format!(
            "--method {method:?}: not an HTTP method"
        )));
    }
    Ok(method.to_ascii_uppercase())
}

/// The request bytes: head with Host (unless given), Content-Length, a JSON content type
/// unless given, the headers as given, then the body.
pub fn render(method: &str, target: &Target, headers: &[(String, String)], body: &[u8]) -> Vec<u8> {
    let given = |name: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
    let mut out = format!("{method} {} HTTP/1.1\r\n", target.path);
    if !given("host") {
        out.push_str(&format!("host: {}\r\n", target.authority));
    }
    if !given("content-type") && !body.is_empty() {
        out.push_str("content-type: application/json\r\n");
    }
    if !body.is_empty() || method == "POST" || method == "PUT" || method == "PATCH" {
        out.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_body_names_a_provider_model() {
        let body: serde_json::Value =
            serde_json::from_slice(&default_body(DEFAULT_MODEL, true)).unwrap();
        assert_eq!(body["model"], "openai/mock-gpt");
        assert_eq!(body["stream"], true);
        let swapped = with_model(br#"{"model":"a","x":1}"#, "groq/b").unwrap();
        let swapped: serde_json::Value = serde_json::from_slice(&swapped).unwrap();
        assert_eq!(
            (&swapped["model"], &swapped["x"]),
            (&"groq/b".into(), &1.into())
        );
        assert!(with_model(b"[1]", "m").is_err());
        assert!(with_model(b"nope", "m").is_err());
    }

    #[test]
    fn headers_and_methods_are_checked() {
        assert_eq!(
            parse_header("X-A:  b c ").unwrap(),
            ("X-A".to_owned(), "b c".to_owned())
        );
        for bad in [
            "no colon",
            ": v",
            "a b: v",
            "Content-Length: 3",
            "x: a\r\nb: c",
        ] {
            assert!(parse_header(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_method("get").unwrap(), "GET");
        assert!(parse_method("GET /").is_err());
    }

    #[test]
    fn a_given_host_replaces_the_urls() {
        let target = Target::parse("http://127.0.0.1:1/p").unwrap();
        let headers = [("Host".to_owned(), "example.test".to_owned())];
        let text = String::from_utf8(render("GET", &target, &headers, b"")).unwrap();
        assert_eq!(text, "GET /p HTTP/1.1\r\nHost: example.test\r\n\r\n");
    }
}
