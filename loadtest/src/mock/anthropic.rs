//! Anthropic Messages as the mock writes it: the message JSON (a text or `tool_use` block),
//! the SSE event sequence (`text_delta` or `input_json_delta` pieces) and the error body.

use std::io::Write;

use super::answer::ToolCall;
use super::formats::{self, Reply, Step, StreamPlan};
use super::render::{self, Content};

/// Appends the SSE bytes of `step`.
pub fn write_event(plan: &StreamPlan<'_>, step: Step, out: &mut Vec<u8>) {
    let name = match step {
        Step::Head(0) => "message_start",
        Step::Head(1) => "content_block_start",
        Step::Head(_) => "ping",
        Step::Token(_) => "content_block_delta",
        Step::Tail(0) => "content_block_stop",
        Step::Tail(1) => "message_delta",
        Step::Tail(_) => "message_stop",
    };
    let reply = &plan.reply;
    let call = plan.tool_call();
    let _ = write!(out, "event: {name}\ndata: ");
    match step {
        Step::Head(0) => {
            let _ = write!(
                out,
                r#"{{"type":"message_start","message":{{"id":"msg_mock{}","type":"message","role":"assistant","model":"#,
                reply.id
            );
            render::write_json_str(out, reply.model);
            let _ = write!(
                out,
                r#","content":[],"stop_reason":null,"stop_sequence":null,"usage":{{"input_tokens":{},"output_tokens":1}}}}}}"#,
                reply.prompt
            );
        }
        Step::Head(1) => {
            out.extend_from_slice(br#"{"type":"content_block_start","index":0,"content_block":"#);
            match call {
                Some(call) => {
                    write_tool_use_front(out, reply.id, call);
                    out.extend_from_slice(br#"{}}}"#);
                }
                None => out.extend_from_slice(br#"{"type":"text","text":""}}"#),
            }
        }
        Step::Head(_) => out.extend_from_slice(br#"{"type": "ping"}"#),
        Step::Token(i) => {
            out.extend_from_slice(br#"{"type":"content_block_delta","index":0,"delta":"#);
            match call {
                Some(_) => out.extend_from_slice(br#"{"type":"input_json_delta","partial_json":""#),
                None => out.extend_from_slice(br#"{"type":"text_delta","text":""#),
            }
            plan.write_piece(i, out);
            out.extend_from_slice(br#""}}"#);
        }
        Step::Tail(0) => out.extend_from_slice(br#"{"type":"content_block_stop","index":0}"#),
        Step::Tail(1) => {
            let _ = write!(
                out,
                r#"{{"type":"message_delta","delta":{{"stop_reason":"{}","stop_sequence":null}},"usage":{{"output_tokens":{}}}}}"#,
                stop_reason(call),
                plan.count
            );
        }
        Step::Tail(_) => out.extend_from_slice(br#"{"type":"message_stop"}"#),
    }
    out.extend_from_slice(b"\n\n");
}

/// Appends a `message` JSON; returns the completion tokens.
pub fn body(
    out: &mut Vec<u8>,
    reply: &Reply<'_>,
    content: Content<'_>,
    call: Option<&ToolCall>,
) -> usize {
    let _ = write!(
        out,
        r#"{{"id":"msg_mock{}","type":"message","role":"assistant","model":"#,
        reply.id
    );
    render::write_json_str(out, reply.model);
    out.extend_from_slice(br#","content":["#);
    let words = match call {
        Some(call) => {
            write_tool_use_front(out, reply.id, call);
            out.extend_from_slice(call.arguments.as_bytes());
            out.push(b'}');
            formats::call_tokens(call)
        }
        None => {
            out.extend_from_slice(br#"{"type":"text","text":"#);
            let words = render::write_content(out, content);
            out.push(b'}');
            words
        }
    };
    let _ = write!(
        out,
        r#"],"stop_reason":"{}","stop_sequence":null,"usage":{{"input_tokens":{},"output_tokens":{words}}}}}"#,
        stop_reason(call),
        reply.prompt
    );
    words
}

/// `{"type":"tool_use","id":...,"name":...,"input":` (the input follows).
fn write_tool_use_front(out: &mut Vec<u8>, id: u64, call: &ToolCall) {
    let _ = write!(out, r#"{{"type":"tool_use","id":"toolu_mock{id}","name":"#);
    render::write_json_str(out, &call.name);
    out.extend_from_slice(br#","input":"#);
}

fn stop_reason(call: Option<&ToolCall>) -> &'static str {
    if call.is_some() {
        "tool_use"
    } else {
        "end_turn"
    }
}

/// Appends an Anthropic error body.
pub fn error_body(out: &mut Vec<u8>, status: u16, message: &str) {
    let kind = match status {
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        400..=499 => "invalid_request_error",
        _ => "api_error",
    };
    let _ = write!(
        out,
        r#"{{"type":"error","error":{{"type":"{kind}","message":"#
    );
    render::write_json_str(out, message);
    out.extend_from_slice(b"}}");
}
