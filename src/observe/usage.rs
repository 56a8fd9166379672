//! Token usage read from provider responses: whole JSON bodies, and SSE streams
//! fed chunk by chunk (OpenAI's final usage chunk, Anthropic's start/delta events).

#[cfg(test)]
mod fixture_tests;

use serde::Deserialize;

#[cfg(test)]
use crate::sse::SseScanner;

/// Tokens one request consumed, as the provider reported them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// Prompt tokens. For Anthropic this includes cache writes and cache reads,
    /// which its `input_tokens` leaves out, so that it means the same as OpenAI's
    /// `prompt_tokens` (which includes cached tokens).
    pub tokens_in: u64,
    /// Completion tokens (reasoning included, as every provider bills them).
    pub tokens_out: u64,
}

/// The `usage` object of OpenAI (chat, embeddings) and Anthropic (messages).
/// Every field optional: embeddings have no completion count, Anthropic's
/// `message_delta` may carry only `output_tokens`.
#[derive(Debug, Default, Deserialize)]
struct UsageFields {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    cache_creation_input_tokens: Option<u64>,
    cache_read_input_tokens: Option<u64>,
}

impl UsageFields {
    /// Prompt tokens, whichever provider's names are present.
    fn tokens_in(&self) -> Option<u64> {
        if let Some(n) = self.prompt_tokens {
            return Some(n);
        }
        let cache = self
            .cache_creation_input_tokens
            .unwrap_or(0)
            .saturating_add(self.cache_read_input_tokens.unwrap_or(0));
        self.input_tokens.map(|n| n.saturating_add(cache))
    }

    fn tokens_out(&self) -> Option<u64> {
        self.completion_tokens.or(self.output_tokens)
    }

    /// Both counts (a missing one as 0), when the object has either.
    fn usage(&self) -> Option<Usage> {
        let (tokens_in, tokens_out) = (self.tokens_in(), self.tokens_out());
        (tokens_in.is_some() || tokens_out.is_some()).then(|| Usage {
            tokens_in: tokens_in.unwrap_or(0),
            tokens_out: tokens_out.unwrap_or(0),
        })
    }
}

/// Gemini's `usageMetadata` (bodies and every stream chunk, cumulative).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GeminiUsage {
    prompt_token_count: Option<u64>,
    candidates_token_count: Option<u64>,
    /// Thinking tokens are billed as output but not counted in `candidates`.
    thoughts_token_count: Option<u64>,
}

impl GeminiUsage {
    fn usage(&self) -> Option<Usage> {
        if self.prompt_token_count.is_none() && self.candidates_token_count.is_none() {
            return None;
        }
        Some(Usage {
            tokens_in: self.prompt_token_count.unwrap_or(0),
            tokens_out: self
                .candidates_token_count
                .unwrap_or(0)
                .saturating_add(self.thoughts_token_count.unwrap_or(0)),
        })
    }
}

/// The parts of a response body or stream event that can carry usage.
#[derive(Debug, Default, Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: Option<String>,
    usage: Option<UsageFields>,
    #[serde(rename = "usageMetadata")]
    usage_metadata: Option<GeminiUsage>,
    /// Anthropic's `message_start` nests its usage in `message`.
    message: Option<Message>,
    /// The Responses API's closing events (`response.completed`, ...) nest it in
    /// `response`.
    response: Option<Message>,
}

#[derive(Debug, Default, Deserialize)]
struct Message {
    usage: Option<UsageFields>,
}

/// Usage from a whole (non-streaming) response body: OpenAI chat and embeddings,
/// Anthropic messages, Gemini. `None` when the body is not JSON or has no usage.
pub fn from_json_body(body: &[u8]) -> Option<Usage> {
    if let Some(usage) = trailing_usage(body) {
        return Some(usage);
    }
    let envelope: Envelope = serde_json::from_slice(body).ok()?;
    if let Some(usage) = envelope.usage.as_ref().and_then(UsageFields::usage) {
        return Some(usage);
    }
    envelope
        .usage_metadata
        .as_ref()
        .and_then(GeminiUsage::usage)
}

/// OpenAI and Anthropic put `usage` last, or nearly, in the body: reading that object
/// alone spares parsing the whole answer. Taken only when what follows it closes the
/// top-level object with nothing but scalar members, which proves the key is the
/// top-level one (a nested `usage` would be followed by more closers).
fn trailing_usage(body: &[u8]) -> Option<Usage> {
    let at = memchr::memmem::rfind(body, b"\"usage\"")?;
    // Inside a string the quote would be escaped; a key's quote is not.
    if at > 0 && body[at - 1] == b'\\' {
        return None;
    }
    let value = body[at + 7..].trim_ascii_start().strip_prefix(b":")?;
    let value = value.trim_ascii_start();
    if value.first() != Some(&b'{') {
        return None;
    }
    let mut objects = serde_json::Deserializer::from_slice(value).into_iter::<UsageFields>();
    let fields = objects.next()?.ok()?;
    let tail = value.get(objects.byte_offset()..)?;
    if !closes_top_level(tail) {
        return None;
    }
    fields.usage()
}

/// Whether `tail`, what follows a member of the top-level object, holds only scalar
/// members and the one `}` that ends that object.
fn closes_top_level(tail: &[u8]) -> bool {
    let mut closers = 0;
    let mut in_string = false;
    let mut escaped = false;
    for &b in tail {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' | b']' => return false,
            b'}' => closers += 1,
            _ => {}
        }
    }
    closers == 1 && !in_string
}

/// What a stream has reported so far; later reports replace earlier ones,
/// since every provider sends cumulative counts.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    tokens_in: Option<u64>,
    tokens_out: Option<u64>,
}

impl Tally {
    fn observe(&mut self, data: &[u8]) {
        if !mentions_usage_object(data) {
            return;
        }
        let Ok(event) = serde_json::from_slice::<Envelope>(data) else {
            return;
        };
        let fields = match event.kind.as_deref() {
            Some("message_start") => event.message.and_then(|m| m.usage),
            Some(kind) if kind.starts_with("response.") => event.response.and_then(|r| r.usage),
            _ => event.usage,
        };
        if let Some(fields) = fields {
            self.tokens_in = fields.tokens_in().or(self.tokens_in);
            self.tokens_out = fields.tokens_out().or(self.tokens_out);
        }
        if let Some(usage) = event.usage_metadata.as_ref().and_then(GeminiUsage::usage) {
            self.tokens_in = Some(usage.tokens_in);
            self.tokens_out = Some(usage.tokens_out);
        }
    }
}

/// A cheap test run before parsing an event: does a `"usage"` or
/// `"usageMetadata"` key open an object here? OpenAI sends `"usage":null` on
/// every chunk once usage is asked for, so this skips parsing all but the last.
/// A false positive only costs a parse.
pub(super) fn mentions_usage_object(data: &[u8]) -> bool {
    memchr::memmem::find_iter(data, b"\"usage").any(|at| {
        let after_quote = &data[at + 1..];
        let key_len = if after_quote.starts_with(b"usageMetadata\"") {
            "usageMetadata\"".len()
        } else if after_quote.starts_with(b"usage\"") {
            "usage\"".len()
        } else {
            return false;
        };
        let mut rest = after_quote[key_len..]
            .iter()
            .copied()
            .skip_while(u8::is_ascii_whitespace);
        rest.next() == Some(b':') && rest.find(|b| !b.is_ascii_whitespace()) == Some(b'{')
    })
}

/// Accumulates usage from a streamed (SSE) response, one event at a time: the
/// response's one scan (the pump's) hands it each event.
#[derive(Debug, Default)]
pub struct StreamUsage {
    tally: Tally,
}

impl StreamUsage {
    /// A fresh accumulator for one response stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads one event's data.
    pub fn observe_event(&mut self, data: &[u8]) {
        self.tally.observe(data);
    }

    /// The usage reported so far; `None` when the stream reported none.
    /// A stream cut short may give the early counts of Anthropic's `message_start`.
    pub fn usage(&self) -> Option<Usage> {
        let Tally {
            tokens_in,
            tokens_out,
        } = self.tally;
        if tokens_in.is_none() && tokens_out.is_none() {
            return None;
        }
        Some(Usage {
            tokens_in: tokens_in.unwrap_or(0),
            tokens_out: tokens_out.unwrap_or(0),
        })
    }
}

/// Tests: a stream's bytes through one scan into a [`StreamUsage`], as the pump does.
#[cfg(test)]
#[derive(Default)]
struct Scanned {
    scanner: SseScanner,
    stream: StreamUsage,
}

#[cfg(test)]
impl Scanned {
    fn feed(&mut self, bytes: &[u8]) {
        let Scanned { scanner, stream } = self;
        scanner.feed(bytes, |event| stream.observe_event(event.data));
    }

    fn usage(&self) -> Option<Usage> {
        self.stream.usage()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_embeddings_body_has_no_completion_tokens() {
        let body = br#"{"object":"list","data":[],"usage":{"prompt_tokens":7,"total_tokens":7}}"#;
        assert_eq!(
            from_json_body(body),
            Some(Usage {
                tokens_in: 7,
                tokens_out: 0
            })
        );
    }

    #[test]
    fn anthropic_body_counts_cache_tokens_as_input() {
        let body = br#"{"type":"message","usage":{"input_tokens":10,"cache_creation_input_tokens":100,"cache_read_input_tokens":1000,"output_tokens":5}}"#;
        assert_eq!(
            from_json_body(body),
            Some(Usage {
                tokens_in: 1110,
                tokens_out: 5
            })
        );
    }

    #[test]
    fn only_the_top_level_usage_counts() {
        let tokens = |body: &[u8]| from_json_body(body).map(|u| (u.tokens_in, u.tokens_out));
        // Top-level usage, then scalar members (OpenAI's order).
        let openai = br#"{"id":"c","choices":[{"message":{"content":"a \"usage\": {}"}}],"usage":{"prompt_tokens":3,"completion_tokens":4},"service_tier":"default","system_fingerprint":"fp_{x}"}"#;
        assert_eq!(tokens(openai), Some((3, 4)));
        // A nested `usage` after the real one: the whole body is read instead.
        let nested = br#"{"usage":{"input_tokens":1,"output_tokens":2},"content":[{"type":"tool_use","input":{"usage":{"input_tokens":99}}}]}"#;
        assert_eq!(tokens(nested), Some((1, 2)));
        // Only a nested one: no usage.
        let only_nested = br#"{"content":[{"input":{"usage":{"input_tokens":99}}}]}"#;
        assert_eq!(tokens(only_nested), None);
        // The word inside a string is not a key.
        let in_string = br#"{"text":"\"usage\":{\"prompt_tokens\":9}"}"#;
        assert_eq!(tokens(in_string), None);
    }

    #[test]
    fn bodies_without_usage_give_none() {
        for body in [
            &b"{}"[..],
            b"not json",
            b"",
            b"[1,2]",
            br#"{"usage":null}"#,
            br#"{"usage":{}}"#,
            br#"{"usage":"lots"}"#,
            br#"{"usage":{"prompt_tokens":-1}}"#,
        ] {
            assert_eq!(
                from_json_body(body),
                None,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn prefilter_finds_usage_objects_only() {
        assert!(mentions_usage_object(br#"{"usage":{"a":1}}"#));
        assert!(mentions_usage_object(br#"{"usage" : 	{"a":1}}"#));
        assert!(mentions_usage_object(br#"{"usageMetadata": {"a":1}}"#));
        assert!(!mentions_usage_object(br#"{"usage":null}"#));
        assert!(!mentions_usage_object(br#"{"usages":{}}"#));
        assert!(!mentions_usage_object(br#"{"text":"usage"}"#));
        assert!(!mentions_usage_object(br#"{"usage""#));
    }

    #[test]
    fn null_usage_chunks_do_not_erase_a_report() {
        let mut stream = StreamUsage::new();
        stream
            .observe_event(br#"{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4}}"#);
        stream.observe_event(br#"{"choices":[{"delta":{}}],"usage":null}"#);
        assert_eq!(
            stream.usage(),
            Some(Usage {
                tokens_in: 3,
                tokens_out: 4
            })
        );
    }

    #[test]
    fn anthropic_delta_with_only_output_keeps_start_input() {
        let mut stream = Scanned::default();
        stream.feed(b"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":9,\"output_tokens\":1}}}\n\n");
        assert_eq!(
            stream.usage().map(|u| (u.tokens_in, u.tokens_out)),
            Some((9, 1))
        );
        stream.feed(b"event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":30}}\n\n");
        assert_eq!(
            stream.usage().map(|u| (u.tokens_in, u.tokens_out)),
            Some((9, 30))
        );
    }

    #[test]
    fn responses_api_usage_comes_from_the_closing_event_and_the_body() {
        let mut s = Scanned::default();
        s.feed(b"event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"usage\":null}}\n\n");
        s.feed(b"event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"usage\"}\n\n");
        assert_eq!(s.usage(), None);
        s.feed(b"event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"output\":[],\"usage\":{\"input_tokens\":12,\"input_tokens_details\":{\"cached_tokens\":4},\"output_tokens\":7,\"total_tokens\":19},\"metadata\":{}}}\n\n");
        let want = Some(Usage {
            tokens_in: 12,
            tokens_out: 7,
        });
        assert_eq!(s.usage(), want);
        let body = br#"{"id":"resp_1","object":"response","output":[],"usage":{"input_tokens":12,"input_tokens_details":{"cached_tokens":4},"output_tokens":7,"output_tokens_details":{"reasoning_tokens":2},"total_tokens":19},"user":null,"metadata":{}}"#;
        assert_eq!(from_json_body(body), want);
    }

    #[test]
    fn stream_without_usage_gives_none() {
        let mut stream = Scanned::default();
        stream.feed(b"data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\ndata: [DONE]\n\n");
        assert_eq!(stream.usage(), None);
    }
}
