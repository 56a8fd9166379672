//! Writes OpenAI `chat.completion.chunk` SSE events straight into an output buffer,
//! for stream translators whose upstream is not OpenAI.

use serde_json::Value;

/// The chunk events of one stream. The chunk's fixed front (id, object, created,
/// model) is built once and copied into every event.
#[derive(Debug, Clone, Default)]
pub(crate) struct ChunkWriter {
    /// `data: {"id":..,"object":..,"created":..,"model":..,"choices":[`.
    prefix: Vec<u8>,
}

impl ChunkWriter {
    pub fn new(id: &str, model: &str, created: u64) -> Self {
        let mut prefix = Vec::with_capacity(id.len() + model.len() + 96);
        prefix.extend_from_slice(br#"data: {"id":"#);
        write_json_string(&mut prefix, id);
        prefix.extend_from_slice(br#","object":"chat.completion.chunk","created":"#);
        prefix.extend_from_slice(created.to_string().as_bytes());
        prefix.extend_from_slice(br#","model":"#);
        write_json_string(&mut prefix, model);
        prefix.extend_from_slice(br#","choices":["#);
        ChunkWriter { prefix }
    }

    /// The first chunk: the assistant role with empty content.
    pub fn role(&self, out: &mut Vec<u8>) {
        self.choice(out, br#"{"role":"assistant","content":""}"#, None);
    }

    pub fn content(&self, out: &mut Vec<u8>, text: &str) {
        self.open_choice(out);
        out.extend_from_slice(br#"{"content":"#);
        write_json_string(out, text);
        out.push(b'}');
        close_choice(out, None);
    }

    /// A whole tool call in one chunk (Gemini sends calls complete, never in pieces).
    pub fn tool_call(&self, out: &mut Vec<u8>, index: usize, id: &str, name: &str, args: &str) {
        self.open_choice(out);
        out.extend_from_slice(br#"{"tool_calls":[{"index":"#);
        out.extend_from_slice(index.to_string().as_bytes());
        out.extend_from_slice(br#","id":"#);
        write_json_string(out, id);
        out.extend_from_slice(br#","type":"function","function":{"name":"#);
        write_json_string(out, name);
        out.extend_from_slice(br#","arguments":"#);
        write_json_string(out, args);
        out.extend_from_slice(b"}}]}");
        close_choice(out, None);
    }

    pub fn finish(&self, out: &mut Vec<u8>, reason: &str) {
        self.choice(out, b"{}", Some(reason));
    }

    /// The usage chunk: no choices, OpenAI's `usage` object.
    pub fn usage(&self, out: &mut Vec<u8>, usage: &Value) {
        out.extend_from_slice(&self.prefix);
        out.extend_from_slice(br#"],"usage":"#);
        out.extend_from_slice(usage.to_string().as_bytes());
        out.extend_from_slice(b"}\n\n");
    }

    pub fn done(out: &mut Vec<u8>) {
        out.extend_from_slice(b"data: [DONE]\n\n");
    }

    /// OpenAI streams report a failure as a data event holding an error object and
    /// no `[DONE]`, so clients can tell the answer is incomplete.
    pub fn error(out: &mut Vec<u8>, error: &Value) {
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(error.to_string().as_bytes());
        out.extend_from_slice(b"\n\n");
    }

    fn choice(&self, out: &mut Vec<u8>, delta: &[u8], finish: Option<&str>) {
        self.open_choice(out);
        out.extend_from_slice(delta);
        close_choice(out, finish);
    }

    fn open_choice(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.prefix);
        out.extend_from_slice(br#"{"index":0,"delta":"#);
    }
}

fn close_choice(out: &mut Vec<u8>, finish: Option<&str>) {
    out.extend_from_slice(br#","finish_reason":"#);
    match finish {
        Some(reason) => write_json_string(out, reason),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b"}]}\n\n");
}

/// The data of each event in `written`, which holds only whole events as this module
/// wrote them: `data: `, one line of JSON (or `[DONE]`), a blank line. Not an SSE
/// parser: it reads back this writer's own output, for a translator chained after it.
pub(crate) fn written_events(written: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = written;
    std::iter::from_fn(move || {
        let end = memchr::memmem::find(rest, b"\n\n")?;
        let event = &rest[..end];
        rest = &rest[end + 2..];
        Some(event.strip_prefix(b"data: ").unwrap_or(event))
    })
}

/// Writes `s` as a JSON string literal (serde_json's escaping, no intermediate String).
pub(crate) fn write_json_string(out: &mut Vec<u8>, s: &str) {
    // Serialising a &str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}
