//! What the mock says: request-body summaries (model, stream flags, inputs) and the bytes of
//! every response (completion JSON, SSE events, embeddings, model list, OpenAI-style errors).

use std::io::Write;

use serde::Deserialize;

/// The chat request fields the mock acts on; everything else in the body is skipped.
#[derive(Debug, Default, Deserialize)]
pub struct ChatRequest {
    /// The model asked for, echoed back.
    #[serde(default)]
    pub model: Option<String>,
    /// `"stream": true` asks for SSE.
    #[serde(default)]
    pub stream: Option<bool>,
    /// `stream_options.include_usage`.
    #[serde(default)]
    pub stream_options: Option<StreamOptions>,
}

/// `stream_options` of a chat request.
#[derive(Debug, Default, Deserialize)]
pub struct StreamOptions {
    /// Whether a usage chunk precedes `[DONE]`.
    #[serde(default)]
    pub include_usage: Option<bool>,
}

/// The embeddings request fields the mock acts on.
#[derive(Debug, Deserialize)]
pub struct EmbeddingsRequest {
    /// The model asked for.
    #[serde(default)]
    pub model: Option<String>,
    /// A string, an array of strings, a token array or an array of token arrays.
    pub input: serde_json::Value,
}

impl EmbeddingsRequest {
    /// How many embeddings the input asks for.
    pub fn input_count(&self) -> usize {
        match &self.input {
            serde_json::Value::Array(items) if items.iter().all(|i| i.is_number()) => 1,
            serde_json::Value::Array(items) => items.len(),
            _ => 1,
        }
    }
}

/// Tokens billed for a request body: a deterministic function of its size (one per 4 bytes).
pub fn prompt_tokens(body_len: usize) -> usize {
    body_len.div_ceil(4)
}

/// Content of a non-streaming completion.
pub enum Content<'a> {
    /// `tok0 tok1 ...`, the words a stream would send.
    Tokens(u32),
    /// Words repeated up to about this many bytes.
    Padded(usize),
    /// A text sent as is (echoed headers).
    Text(&'a str),
}

/// Appends a `chat.completion` JSON to `out`; returns the completion tokens (words of content).
pub fn chat_completion(
    out: &mut Vec<u8>,
    id: u64,
    created: u64,
    model: &str,
    content: Content<'_>,
    prompt: usize,
) -> usize {
    let _ = write!(
        out,
        r#"{{"id":"chatcmpl-mock{id}","object":"chat.completion","created":{created},"model":"#
    );
    write_json_str(out, model);
    out.extend_from_slice(br#","choices":[{"index":0,"message":{"role":"assistant","content":"#);
    let words = write_content(out, content);
    out.extend_from_slice(br#"},"finish_reason":"stop"}],"usage":"#);
    write_usage(out, prompt, words);
    out.push(b'}');
    words
}

/// Appends `content` as a JSON string; returns its words (the completion tokens).
pub fn write_content(out: &mut Vec<u8>, content: Content<'_>) -> usize {
    match content {
        Content::Tokens(count) => {
            out.push(b'"');
            (0..count).for_each(|i| write_token(out, i));
            out.push(b'"');
            count as usize
        }
        Content::Padded(bytes) => {
            out.push(b'"');
            let start = out.len();
            let mut words = 0u32;
            while out.len() - start < bytes {
                write_token(out, words);
                words += 1;
            }
            out.push(b'"');
            words as usize
        }
        Content::Text(text) => {
            write_json_str(out, text);
            text.split_whitespace().count()
        }
    }
}

/// The fixed front of every chunk of one stream, ending inside `"choices":[`.
pub fn chunk_prefix(id: u64, created: u64, model: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(128 + model.len());
    let _ = write!(
        out,
        r#"{{"id":"chatcmpl-mock{id}","object":"chat.completion.chunk","created":{created},"model":"#
    );
    write_json_str(&mut out, model);
    out.extend_from_slice(br#","choices":["#);
    out
}

/// One event of a stream.
#[derive(Debug, Clone, Copy)]
pub enum StreamEvent {
    /// The first chunk: the assistant role.
    Role,
    /// Content chunk `i`: `tok{i} `.
    Token(u32),
    /// The chunk with `finish_reason: stop`.
    Finish,
    /// The usage chunk (empty choices).
    Usage {
        /// Prompt tokens.
        prompt: usize,
        /// Completion tokens.
        completion: usize,
    },
    /// `data: [DONE]`.
    Done,
}

/// Appends one SSE event (`data: ...\n\n`) to `out`.
pub fn sse_event(out: &mut Vec<u8>, prefix: &[u8], event: StreamEvent) {
    out.extend_from_slice(b"data: ");
    if let StreamEvent::Done = event {
        out.extend_from_slice(b"[DONE]\n\n");
        return;
    }
    out.extend_from_slice(prefix);
    match event {
        StreamEvent::Role => out.extend_from_slice(
            br#"{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]"#,
        ),
        StreamEvent::Token(i) => {
            out.extend_from_slice(br#"{"index":0,"delta":{"content":""#);
            write_token(out, i);
            out.extend_from_slice(br#""},"finish_reason":null}]"#);
        }
        StreamEvent::Finish => {
            out.extend_from_slice(br#"{"index":0,"delta":{},"finish_reason":"stop"}]"#)
        }
        StreamEvent::Usage { prompt, completion } => {
            out.extend_from_slice(br#"],"usage":"#);
            write_usage(out, prompt, completion);
        }
        StreamEvent::Done => {}
    }
    out.extend_from_slice(b"}\n\n");
}

/// Appends an embeddings list of `count` vectors of `dims` deterministic floats.
pub fn embeddings(out: &mut Vec<u8>, model: &str, count: usize, dims: usize, prompt: usize) {
    out.extend_from_slice(br#"{"object":"list","data":["#);
    for index in 0..count {
        if index > 0 {
            out.push(b',');
        }
        let _ = write!(
            out,
            r#"{{"object":"embedding","index":{index},"embedding":["#
        );
        for dim in 0..dims {
            let millis = ((index * 31 + dim * 7) % 1000) as i64 - 500;
            let sign = if millis < 0 { "-" } else { "" };
            let sep = if dim > 0 { "," } else { "" };
            let _ = write!(out, "{sep}{sign}0.{:03}", millis.unsigned_abs());
        }
        out.extend_from_slice(b"]}");
    }
    out.extend_from_slice(br#"],"model":"#);
    write_json_str(out, model);
    let _ = write!(
        out,
        r#","usage":{{"prompt_tokens":{prompt},"total_tokens":{prompt}}}}}"#
    );
}

/// The model list the mock serves.
pub const MODELS: &[u8] = br#"{"object":"list","data":[{"id":"mock-gpt","object":"model","created":1700000000,"owned_by":"sluice-mock"},{"id":"mock-gpt-mini","object":"model","created":1700000000,"owned_by":"sluice-mock"},{"id":"mock-embedding","object":"model","created":1700000000,"owned_by":"sluice-mock"}]}"#;

/// Appends an OpenAI-style error body.
pub fn error_body(out: &mut Vec<u8>, status: u16, message: &str) {
    let (kind, code) = match status {
        401 => ("invalid_request_error", "invalid_api_key"),
        403 => (
            "invalid_request_error",
            "unsupported_country_region_territory",
        ),
        404 => ("invalid_request_error", "unknown_url"),
        429 => ("requests", "rate_limit_exceeded"),
        400..=499 => ("invalid_request_error", "invalid_request"),
        _ => ("server_error", "server_error"),
    };
    out.extend_from_slice(br#"{"error":{"message":"#);
    write_json_str(out, message);
    let _ = write!(out, r#","type":"{kind}","param":null,"code":"{code}"}}}}"#);
}

/// The reason phrase for a status the mock sends.
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

/// Appends content token `i` (`tok{i} `), unquoted.
pub fn write_token(out: &mut Vec<u8>, i: u32) {
    let _ = write!(out, "tok{i} ");
}

/// Appends Chat Completions' `usage` object.
pub fn write_usage(out: &mut Vec<u8>, prompt: usize, completion: usize) {
    let total = prompt + completion;
    let _ = write!(
        out,
        r#"{{"prompt_tokens":{prompt},"completion_tokens":{completion},"total_tokens":{total}}}"#
    );
}

/// Appends `text` as a JSON string.
pub fn write_json_str(out: &mut Vec<u8>, text: &str) {
    // Serialising a &str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(bytes: &[u8]) -> serde_json::Value {
        serde_json::from_slice(bytes).unwrap()
    }

    #[test]
    fn completion_is_valid_and_usage_matches_words() {
        let mut out = Vec::new();
        let words = chat_completion(&mut out, 7, 1, "m\"x", Content::Padded(100), 3);
        let v = json(&out);
        assert_eq!(v["model"], "m\"x");
        let content = v["choices"][0]["message"]["content"].as_str().unwrap();
        assert!(content.len() >= 100 && content.len() < 110);
        assert_eq!(content.split_whitespace().count(), words);
        assert_eq!(v["usage"]["completion_tokens"], words);
        assert_eq!(v["usage"]["total_tokens"], words + 3);
    }

    #[test]
    fn every_stream_event_is_valid_json() {
        let prefix = chunk_prefix(1, 2, "gpt");
        for event in [
            StreamEvent::Role,
            StreamEvent::Token(4),
            StreamEvent::Finish,
            StreamEvent::Usage {
                prompt: 1,
                completion: 2,
            },
        ] {
            let mut out = Vec::new();
            sse_event(&mut out, &prefix, event);
            let payload = out
                .strip_prefix(b"data: ")
                .unwrap()
                .strip_suffix(b"\n\n")
                .unwrap();
            assert_eq!(json(payload)["model"], "gpt");
        }
    }

    #[test]
    fn embeddings_and_errors_are_valid_json() {
        let mut out = Vec::new();
        embeddings(&mut out, "e", 2, 3, 5);
        let v = json(&out);
        assert_eq!(v["data"][1]["embedding"].as_array().unwrap().len(), 3);
        out.clear();
        error_body(&mut out, 429, "slow \"down\"");
        assert_eq!(json(&out)["error"]["code"], "rate_limit_exceeded");
        assert!(json(MODELS)["data"].is_array());
    }
}
