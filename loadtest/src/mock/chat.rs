//! OpenAI Chat Completions beyond plain text: the stream chunks of a text piece or a tool
//! call (`tool_calls` header, argument fragments, `finish_reason: tool_calls`) and its body.

use std::io::Write;

use super::answer::{Answer, ToolCall};
use super::formats::{self, Reply, Step, StreamPlan};
use super::render::{self, StreamEvent};

/// Appends the SSE bytes of `step`; plain tokens take `render::sse_event`'s fast path.
pub fn write_event(plan: &StreamPlan<'_>, step: Step, out: &mut Vec<u8>) {
    let prefix = &plan.openai_prefix;
    let call = plan.tool_call();
    let event = match (step, plan.answer) {
        (Step::Head(_), Answer::ToolCall(call)) => {
            return chunk(out, prefix, |out| {
                out.extend_from_slice(
                    br#"{"role":"assistant","content":null,"tool_calls":[{"index":0,"#,
                );
                write_call_id(out, plan.reply.id);
                out.extend_from_slice(br#","type":"function","function":{"name":"#);
                render::write_json_str(out, &call.name);
                out.extend_from_slice(br#","arguments":""}}]}"#);
            })
        }
        (Step::Head(_), _) => StreamEvent::Role,
        (Step::Token(i), Answer::Tokens) => StreamEvent::Token(i),
        (Step::Token(i), Answer::Text(_)) => {
            return chunk(out, prefix, |out| {
                out.extend_from_slice(br#"{"content":""#);
                plan.write_piece(i, out);
                out.extend_from_slice(br#""}"#);
            })
        }
        (Step::Token(i), Answer::ToolCall(_)) => {
            return chunk(out, prefix, |out| {
                out.extend_from_slice(br#"{"tool_calls":[{"index":0,"function":{"arguments":""#);
                plan.write_piece(i, out);
                out.extend_from_slice(br#""}}]}"#);
            })
        }
        (Step::Tail(0), _) if call.is_some() => {
            out.extend_from_slice(b"data: ");
            out.extend_from_slice(prefix);
            out.extend_from_slice(br#"{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#);
            out.extend_from_slice(b"\n\n");
            return;
        }
        (Step::Tail(0), _) => StreamEvent::Finish,
        (Step::Tail(1), _) if plan.include_usage => StreamEvent::Usage {
            prompt: plan.reply.prompt,
            completion: plan.count as usize,
        },
        (Step::Tail(_), _) => StreamEvent::Done,
    };
    render::sse_event(out, prefix, event);
}

/// Appends one content chunk whose `delta` object `delta` writes.
fn chunk(out: &mut Vec<u8>, prefix: &[u8], delta: impl FnOnce(&mut Vec<u8>)) {
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(prefix);
    out.extend_from_slice(br#"{"index":0,"delta":"#);
    delta(out);
    out.extend_from_slice(br#","finish_reason":null}]}"#);
    out.extend_from_slice(b"\n\n");
}

fn write_call_id(out: &mut Vec<u8>, id: u64) {
    let _ = write!(out, r#""id":"call_mock{id}""#);
}

/// Appends a `chat.completion` whose message calls `call`; returns the completion tokens.
pub fn tool_call_body(out: &mut Vec<u8>, reply: &Reply<'_>, call: &ToolCall) -> usize {
    let _ = write!(
        out,
        r#"{{"id":"chatcmpl-mock{}","object":"chat.completion","created":{},"model":"#,
        reply.id, reply.created
    );
    render::write_json_str(out, reply.model);
    out.extend_from_slice(
        br#","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"#,
    );
    write_call_id(out, reply.id);
    out.extend_from_slice(br#","type":"function","function":{"name":"#);
    render::write_json_str(out, &call.name);
    out.extend_from_slice(br#","arguments":"#);
    render::write_json_str(out, &call.arguments);
    out.extend_from_slice(br#"}}]},"finish_reason":"tool_calls"}],"usage":"#);
    let tokens = formats::call_tokens(call);
    render::write_usage(out, reply.prompt, tokens);
    out.push(b'}');
    tokens
}
