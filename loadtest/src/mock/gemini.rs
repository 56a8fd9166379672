//! Gemini `generateContent` as the mock writes it: the response JSON (a text or `functionCall`
//! part), the `alt=sse` events (whole responses with running usage) and the error body.

use std::io::Write;

use super::answer::ToolCall;
use super::formats::{self, Reply, Step, StreamPlan};
use super::render::{self, Content};

/// Gemini events are whole responses with the running usage; the real service
/// separates them with CRLF CRLF, so the mock does too.
pub fn write_event(plan: &StreamPlan<'_>, step: Step, out: &mut Vec<u8>) {
    let (token, emitted) = match step {
        Step::Token(i) => (Some(i), i + 1),
        _ => (None, 0),
    };
    let last = step == Step::Tail(0) || emitted == plan.count;
    out.extend_from_slice(br#"data: {"candidates":[{"content":{"parts":["#);
    match (plan.tool_call(), token) {
        (Some(call), Some(_)) => write_function_call(out, call),
        (_, token) => {
            out.extend_from_slice(br#"{"text":""#);
            if let Some(i) = token {
                plan.write_piece(i, out);
            }
            out.extend_from_slice(br#""}"#);
        }
    }
    out.extend_from_slice(br#"],"role":"model"}"#);
    if last {
        out.extend_from_slice(br#","finishReason":"STOP""#);
    }
    out.extend_from_slice(br#","index":0}],"usageMetadata":"#);
    write_usage(out, plan.reply.prompt, emitted as usize);
    write_trailer(out, &plan.reply);
    out.extend_from_slice(b"}\r\n\r\n");
}

/// Appends a `generateContent` response; returns the completion tokens.
pub fn body(
    out: &mut Vec<u8>,
    reply: &Reply<'_>,
    content: Content<'_>,
    call: Option<&ToolCall>,
) -> usize {
    out.extend_from_slice(br#"{"candidates":[{"content":{"parts":["#);
    let words = match call {
        Some(call) => {
            write_function_call(out, call);
            formats::call_tokens(call)
        }
        None => {
            out.extend_from_slice(br#"{"text":"#);
            let words = render::write_content(out, content);
            out.push(b'}');
            words
        }
    };
    out.extend_from_slice(
        br#"],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":"#,
    );
    write_usage(out, reply.prompt, words);
    write_trailer(out, reply);
    out.push(b'}');
    words
}

/// `{"functionCall":{"name":...,"args":{...}}}`: Gemini sends the arguments whole.
fn write_function_call(out: &mut Vec<u8>, call: &ToolCall) {
    out.extend_from_slice(br#"{"functionCall":{"name":"#);
    render::write_json_str(out, &call.name);
    out.extend_from_slice(br#","args":"#);
    out.extend_from_slice(call.arguments.as_bytes());
    out.extend_from_slice(b"}}");
}

fn write_usage(out: &mut Vec<u8>, prompt: usize, completion: usize) {
    let total = prompt + completion;
    let _ = write!(
        out,
        r#"{{"promptTokenCount":{prompt},"candidatesTokenCount":{completion},"totalTokenCount":{total}}}"#
    );
}

fn write_trailer(out: &mut Vec<u8>, reply: &Reply<'_>) {
    out.extend_from_slice(br#","modelVersion":"#);
    render::write_json_str(out, reply.model);
    let _ = write!(out, r#","responseId":"mock{}""#, reply.id);
}

/// Appends a Google API error body.
pub fn error_body(out: &mut Vec<u8>, status: u16, message: &str) {
    let canonical = match status {
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        429 => "RESOURCE_EXHAUSTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        400..=499 => "INVALID_ARGUMENT",
        _ => "INTERNAL",
    };
    let _ = write!(out, r#"{{"error":{{"code":{status},"message":"#);
    render::write_json_str(out, message);
    let _ = write!(out, r#","status":"{canonical}"}}}}"#);
}
