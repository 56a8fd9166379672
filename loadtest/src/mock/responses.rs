//! OpenAI Responses (`POST /v1/responses`) as the mock writes it: the `response` object with a
//! `message` or `function_call` item, and the SSE sequence, in the field order OpenAI sends.

use std::io::Write;

use super::answer::{Answer, ToolCall};
use super::formats::{self, Reply, Step, StreamPlan};
use super::render::{self, Content};

/// Opening and closing events: created, in_progress, item added (and content part added for
/// text); text done and content part done (text only), item done, completed.
pub fn shape(answer: &Answer) -> (usize, usize) {
    match answer {
        Answer::ToolCall(_) => (3, 3),
        _ => (4, 4),
    }
}

/// Appends the SSE bytes of `step`: `event: NAME` and a `data` whose `type` is NAME,
/// numbered by `sequence_number` from 0.
pub fn write_event(plan: &StreamPlan<'_>, step: Step, out: &mut Vec<u8>) {
    let (head, _) = shape(plan.answer);
    let sequence = match step {
        Step::Head(n) => n,
        Step::Token(i) => head + i as usize,
        Step::Tail(n) => head + plan.count as usize + n,
    };
    let reply = &plan.reply;
    let call = plan.tool_call();
    let name = match (step, call) {
        (Step::Head(0), _) => "response.created",
        (Step::Head(1), _) => "response.in_progress",
        (Step::Head(2), _) => "response.output_item.added",
        (Step::Head(_), _) => "response.content_part.added",
        (Step::Token(_), Some(_)) => "response.function_call_arguments.delta",
        (Step::Token(_), None) => "response.output_text.delta",
        (Step::Tail(0), Some(_)) => "response.function_call_arguments.done",
        (Step::Tail(0), None) => "response.output_text.done",
        (Step::Tail(1), None) => "response.content_part.done",
        (Step::Tail(1), Some(_)) | (Step::Tail(2), None) => "response.output_item.done",
        (Step::Tail(_), _) => "response.completed",
    };
    let _ = write!(out, "event: {name}\ndata: {{\"type\":\"{name}\",");
    match name {
        "response.created" | "response.in_progress" => {
            out.extend_from_slice(br#""response":"#);
            write_response(out, reply, false, |_| 0);
            out.push(b',');
        }
        "response.output_item.added" | "response.output_item.done" => {
            let done = name.ends_with("done");
            out.extend_from_slice(br#""item":"#);
            match call {
                Some(call) => write_call_item(out, reply.id, call, done),
                None => write_message_item(out, reply.id, done.then_some(plan)),
            }
            out.extend_from_slice(br#","output_index":0,"#);
        }
        "response.content_part.added" | "response.content_part.done" => {
            write_text_position(out, reply.id, false);
            out.extend_from_slice(br#","part":"#);
            let text = name.ends_with("done").then_some(plan);
            write_output_text(out, |out| match text {
                Some(plan) => plan.write_full_text(out),
                None => out.extend_from_slice(br#""""#),
            });
            out.push(b',');
        }
        "response.output_text.delta" => {
            out.extend_from_slice(br#""content_index":0,"delta":""#);
            write_piece(out, plan, step);
            let _ = write!(
                out,
                r#"","item_id":"msg_mock{}","logprobs":[],"output_index":0,"#,
                reply.id
            );
        }
        "response.output_text.done" => {
            write_text_position(out, reply.id, true);
            let _ = write!(out, r#""sequence_number":{sequence},"text":"#);
            plan.write_full_text(out);
            out.extend_from_slice(b"}\n\n");
            return;
        }
        "response.function_call_arguments.delta" => {
            out.extend_from_slice(br#""delta":""#);
            write_piece(out, plan, step);
            let _ = write!(
                out,
                r#"","item_id":"fc_mock{}","output_index":0,"#,
                reply.id
            );
        }
        "response.function_call_arguments.done" => {
            out.extend_from_slice(br#""arguments":"#);
            plan.write_full_text(out);
            let _ = write!(out, r#","item_id":"fc_mock{}","output_index":0,"#, reply.id);
        }
        _ => {
            out.extend_from_slice(br#""response":"#);
            write_response(out, reply, true, |out| {
                match call {
                    Some(call) => write_call_item(out, reply.id, call, true),
                    None => write_message_item(out, reply.id, Some(plan)),
                }
                plan.count as usize
            });
            out.push(b',');
        }
    }
    let _ = write!(out, "\"sequence_number\":{sequence}}}\n\n");
}

fn write_piece(out: &mut Vec<u8>, plan: &StreamPlan<'_>, step: Step) {
    if let Step::Token(i) = step {
        plan.write_piece(i, out);
    }
}

/// `"content_index":0,"item_id":...,` then `"logprobs":[],` when `logprobs`, then
/// `"output_index":0` and a comma when `logprobs` (the fields that follow differ).
fn write_text_position(out: &mut Vec<u8>, id: u64, logprobs: bool) {
    let _ = write!(out, r#""content_index":0,"item_id":"msg_mock{id}","#);
    if logprobs {
        out.extend_from_slice(br#""logprobs":[],"output_index":0,"#);
    } else {
        out.extend_from_slice(br#""output_index":0"#);
    }
}

/// Appends a non-streaming `response` object; returns the completion tokens.
pub fn body(
    out: &mut Vec<u8>,
    reply: &Reply<'_>,
    content: Content<'_>,
    call: Option<&ToolCall>,
) -> usize {
    let mut tokens = 0;
    write_response(out, reply, true, |out| {
        tokens = match call {
            Some(call) => {
                write_call_item(out, reply.id, call, true);
                formats::call_tokens(call)
            }
            None => {
                let _ = write!(
                    out,
                    r#"{{"id":"msg_mock{}","type":"message","status":"completed","content":["#,
                    reply.id
                );
                let mut words = 0;
                write_output_text(out, |out| words = render::write_content(out, content));
                out.extend_from_slice(br#"],"role":"assistant"}"#);
                words
            }
        };
        tokens
    });
    tokens
}

/// The `response` object; `output` writes the items (none while in progress) and returns
/// the completion tokens for `usage`.
fn write_response(
    out: &mut Vec<u8>,
    reply: &Reply<'_>,
    completed: bool,
    output: impl FnOnce(&mut Vec<u8>) -> usize,
) {
    let (status, completed_at) = if completed {
        ("completed", reply.created.to_string())
    } else {
        ("in_progress", "null".to_owned())
    };
    let _ = write!(
        out,
        r#"{{"id":"resp_mock{}","object":"response","created_at":{},"status":"{status}","background":false,"completed_at":{completed_at},"error":null,"frequency_penalty":0.0,"incomplete_details":null,"instructions":null,"max_output_tokens":null,"max_tool_calls":null,"model":"#,
        reply.id, reply.created
    );
    render::write_json_str(out, reply.model);
    out.extend_from_slice(br#","output":["#);
    let tokens = output(out);
    out.extend_from_slice(
        br#"],"parallel_tool_calls":true,"presence_penalty":0.0,"previous_response_id":null,"prompt_cache_key":null,"prompt_cache_retention":null,"reasoning":{"effort":null,"summary":null},"safety_identifier":null,"service_tier":"default","store":true,"temperature":1.0,"text":{"format":{"type":"text"},"verbosity":"medium"},"tool_choice":"auto","tools":[],"top_logprobs":0,"top_p":1.0,"truncation":"disabled","usage":"#,
    );
    if completed {
        let (prompt, total) = (reply.prompt, reply.prompt + tokens);
        let _ = write!(
            out,
            r#"{{"input_tokens":{prompt},"input_tokens_details":{{"cached_tokens":0}},"output_tokens":{tokens},"output_tokens_details":{{"reasoning_tokens":0}},"total_tokens":{total}}}"#
        );
    } else {
        out.extend_from_slice(b"null");
    }
    out.extend_from_slice(br#","user":null,"metadata":{}}"#);
}

/// A `message` item: in progress and empty (`text: None`), or completed with the text.
fn write_message_item(out: &mut Vec<u8>, id: u64, text: Option<&StreamPlan<'_>>) {
    let status = if text.is_some() {
        "completed"
    } else {
        "in_progress"
    };
    let _ = write!(
        out,
        r#"{{"id":"msg_mock{id}","type":"message","status":"{status}","content":["#
    );
    if let Some(plan) = text {
        write_output_text(out, |out| plan.write_full_text(out));
    }
    out.extend_from_slice(br#"],"role":"assistant"}"#);
}

/// `{"type":"output_text","annotations":[],"logprobs":[],"text":` + what `text` writes + `}`.
fn write_output_text(out: &mut Vec<u8>, text: impl FnOnce(&mut Vec<u8>)) {
    out.extend_from_slice(br#"{"type":"output_text","annotations":[],"logprobs":[],"text":"#);
    text(out);
    out.push(b'}');
}

/// A `function_call` item: in progress with no arguments yet, or completed.
fn write_call_item(out: &mut Vec<u8>, id: u64, call: &ToolCall, done: bool) {
    let status = if done { "completed" } else { "in_progress" };
    let _ = write!(
        out,
        r#"{{"id":"fc_mock{id}","type":"function_call","status":"{status}","arguments":"#
    );
    render::write_json_str(out, if done { &call.arguments } else { "" });
    let _ = write!(out, r#","call_id":"call_mock{id}","name":"#);
    render::write_json_str(out, &call.name);
    out.push(b'}');
}
