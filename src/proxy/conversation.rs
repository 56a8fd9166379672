//! Conversation state of the Responses API, kept in the request log: a translated
//! response's id is its request's log id, and `previous_response_id` and
//! `GET /v1/responses/{id}` read the exchange back from the log's entry.

use super::plan::{previous_response_id, translate_responses, ResponsesTurn};
use super::Worker;
use crate::config::Gateway;
use crate::error::{ErrorCode, GatewayError};
use crate::observe::{LogEntry, LogId, LogStore};
use crate::sse::{EventFilter, SseScanner};
use crate::translate::responses_to_chat;
use crate::translate::{translate_body, StreamTranslator, Translation};
use serde_json::Value;
use std::cell::RefCell;
use std::path::PathBuf;
use std::time::Duration;

/// An entry this young may still be on its way to the database: it is waited for.
const IN_FLIGHT_MS: i64 = 3_000;
/// The first wait before the log is asked again for an entry on its way; each next one
/// doubles (the writer commits every 25 ms), up to `IN_FLIGHT_MS` in all.
const IN_FLIGHT_POLL: Duration = Duration::from_millis(5);
/// The longest wait between two asks.
const IN_FLIGHT_POLL_MAX: Duration = Duration::from_millis(200);
/// The most earlier turns one conversation is rebuilt from.
const MAX_TURNS: usize = 1_000;

thread_local! {
    /// This worker's reading connection to the log (opened at the first use).
    static STORE: RefCell<Option<(PathBuf, LogStore)>> = const { RefCell::new(None) };
}

/// The id of the response to the request logged as `log_id`: `resp_` and its 32 hex digits.
pub fn response_id(log_id: &LogId) -> String {
    format!("resp_{}", log_id.as_str().replace('-', ""))
}

/// Whether `response_id` has the form of the gateway's own ids (else it is a provider's).
pub fn made_here(response_id: &str) -> bool {
    log_id_of(response_id).is_some()
}

/// The log id a response id of this gateway stands for; `None` for any other id.
fn log_id_of(response_id: &str) -> Option<LogId> {
    let hex = response_id.strip_prefix("resp_")?;
    (hex.len() == 32).then(|| LogId::parse(hex)).flatten()
}

/// The turn a Responses request starts: its response id and, when its
/// `previous_response_id` is one this gateway made, the conversation so far.
pub async fn turn(
    worker: &Worker,
    gateway: &Gateway,
    body: &[u8],
    log_id: &LogId,
) -> Result<ResponsesTurn, GatewayError> {
    let mut turn = ResponsesTurn {
        id: response_id(log_id),
        created_at: u64::try_from(log_id.millis() / 1000).unwrap_or(0),
        history: None,
        body: None,
    };
    // A body that does not parse is refused by planning, with the translator's words.
    let input = memchr::memmem::find(body, b"\"item_reference\"")
        .and_then(|_| responses_to_chat::input_items(body).ok());
    if let Some(input) = input {
        let (resolved, changed) = resolve(worker, gateway, input).await?;
        if changed {
            turn.body = Some(with_input(body, resolved)?);
        }
    }
    let Some(previous) = previous_response_id(body) else {
        return Ok(turn);
    };
    if log_id_of(&previous).is_none() {
        // Another's id (OpenAI's own): the provider resolves it, or planning refuses it.
        return Ok(turn);
    }
    let mut chain = Vec::new();
    let mut next = Some(previous);
    while let Some(id) = next.take() {
        if chain.len() == MAX_TURNS {
            return Err(GatewayError::new(
                ErrorCode::BadRequest,
                format!("conversation is longer than {MAX_TURNS} turns; start a new one"),
            ));
        }
        let entry = stored(worker, gateway, &id).await?;
        let request = entry.request_body.as_deref().unwrap_or_default();
        next = previous_response_id(request).filter(|p| log_id_of(p).is_some());
        chain.push((id, entry));
    }
    let mut history = Vec::new();
    for (id, entry) in chain.iter().rev() {
        let request = entry.request_body.as_deref().unwrap_or_default();
        let input = responses_to_chat::input_items(request).map_err(|e| bad(id, &e))?;
        history.extend(resolve(worker, gateway, input).await?.0);
        let response = response_object(worker, id, entry)?;
        history.extend(responses_to_chat::output_items(&response).map_err(|e| bad(id, &e))?);
    }
    turn.history = Some(history);
    Ok(turn)
}

/// `item_reference`s to output items of responses this gateway made, replaced by the
/// items themselves (clients such as the Vercel AI SDK send them instead of the items);
/// `true` when any was. References to others' items stay for the provider to resolve.
async fn resolve(
    worker: &Worker,
    gateway: &Gateway,
    items: Vec<Value>,
) -> Result<(Vec<Value>, bool), GatewayError> {
    let mut outputs: Vec<(String, Vec<Value>)> = Vec::new();
    let mut resolved = Vec::with_capacity(items.len());
    let mut changed = false;
    for item in items {
        let reference = (item.get("type") == Some(&Value::from("item_reference")))
            .then(|| item.get("id").and_then(Value::as_str))
            .flatten();
        let Some((reference, response)) = reference.and_then(|r| Some((r, response_of_item(r)?)))
        else {
            resolved.push(item);
            continue;
        };
        if !outputs.iter().any(|(id, _)| *id == response) {
            let entry = stored(worker, gateway, &response).await?;
            let object = response_object(worker, &response, &entry)?;
            let items = responses_to_chat::output_items(&object).map_err(|e| bad(&response, &e))?;
            outputs.push((response.clone(), items));
        }
        let found = outputs
            .iter()
            .flat_map(|(_, items)| items)
            .find(|i| i.get("id").and_then(Value::as_str) == Some(reference))
            .cloned()
            .ok_or_else(|| bad(&response, &format!("it has no item {reference:?}")))?;
        resolved.push(found);
        changed = true;
    }
    Ok((resolved, changed))
}

/// The response an output item id of this gateway belongs to: `msg_` or `fc_`, the
/// response's 32 hex digits, and for later items `_n` (see `ResponseOptions`).
fn response_of_item(item_id: &str) -> Option<String> {
    let rest = item_id
        .strip_prefix("msg_")
        .or_else(|| item_id.strip_prefix("fc_"))?;
    let stem = rest.get(..32)?;
    let tail = &rest[32..];
    (tail.is_empty() || tail.starts_with('_')).then_some(())?;
    LogId::parse(stem).map(|_| format!("resp_{stem}"))
}

/// The client's body with its `input` replaced.
fn with_input(body: &[u8], input: Vec<Value>) -> Result<Vec<u8>, GatewayError> {
    let invalid = || GatewayError::new(ErrorCode::BadRequest, "request body is not a JSON object");
    let mut request: serde_json::Map<String, Value> =
        serde_json::from_slice(body).map_err(|_| invalid())?;
    request.insert("input".into(), Value::Array(input));
    serde_json::to_vec(&request).map_err(|_| invalid())
}

/// `GET /v1/responses/{id}`: the response as it was answered (a stream's final object).
pub async fn retrieve(
    worker: &Worker,
    gateway: &Gateway,
    id: &str,
) -> Result<Vec<u8>, GatewayError> {
    let entry = stored(worker, gateway, id).await?;
    response_object(worker, id, &entry)
}

/// The log entry of response `id`, with both bodies, waiting briefly for one that was
/// answered moments ago and is still on its way to the database.
async fn stored(worker: &Worker, gateway: &Gateway, id: &str) -> Result<LogEntry, GatewayError> {
    let log_id = log_id_of(id).ok_or_else(|| not_found(id))?;
    let sender = worker
        .log
        .as_ref()
        .filter(|_| gateway.config.collect_logs)
        .ok_or_else(|| {
            GatewayError::new(
                ErrorCode::BadRequest,
                format!(
                    "previous_response_id and stored responses need the request log, which is off for gateway {:?} (collect_logs, or the server runs without a log)",
                    gateway.id
                ),
            )
        })?;
    let path = sender.db().path().to_path_buf();
    // Only an id of the last few seconds can be on its way (one from the future is not:
    // it would be waited for forever).
    let age = crate::observe::logdb::now_ms() - log_id.millis();
    let waited_for = std::time::Instant::now();
    let mut poll = IN_FLIGHT_POLL;
    let entry = loop {
        let found = STORE.with(|cell| {
            let mut cell = cell.borrow_mut();
            if cell.as_ref().is_none_or(|(p, _)| *p != path) {
                let store = sender.db().store().map_err(unreadable)?;
                *cell = Some((path.clone(), store));
            }
            let (_, store) = cell.as_ref().ok_or_else(|| unreadable("no connection"))?;
            store.get(log_id.as_str()).map_err(unreadable)
        })?;
        match found {
            Some(entry) => break entry,
            None if (0..IN_FLIGHT_MS).contains(&age)
                && waited_for.elapsed() < Duration::from_millis(IN_FLIGHT_MS.unsigned_abs()) =>
            {
                monoio::time::sleep(poll).await;
                poll = (poll * 2).min(IN_FLIGHT_POLL_MAX);
            }
            None => return Err(not_found(id)),
        }
    };
    if entry.gateway != gateway.id {
        return Err(not_found(id));
    }
    let (Some(request), Some(_)) = (&entry.request_body, &entry.response_body) else {
        return Err(GatewayError::new(
            ErrorCode::BadRequest,
            format!("response {id} was logged without its bodies (payload logging off, or over the size limit), so it cannot be read back"),
        ));
    };
    if stored_off(request) {
        return Err(not_found(id));
    }
    if !entry.success {
        return Err(GatewayError::new(
            ErrorCode::BadRequest,
            format!(
                "response {id} failed (status {}); there is nothing to continue",
                entry.status
            ),
        ));
    }
    Ok(entry)
}

/// The Responses object of a stored exchange: the provider's answer translated again
/// (or, from a provider that serves the API, as it came; a stream's final object).
fn response_object(worker: &Worker, id: &str, entry: &LogEntry) -> Result<Vec<u8>, GatewayError> {
    let request = entry.request_body.as_deref().unwrap_or_default();
    let response = entry.response_body.as_deref().unwrap_or_default();
    let provider = worker
        .settings
        .provider_by_slug(&entry.provider)
        .ok_or_else(|| {
            bad(
                id,
                &format!("provider {} is no longer configured", entry.provider),
            )
        })?;
    if provider.responses_api {
        return match entry.stream {
            true => final_object(response)
                .ok_or_else(|| bad(id, &"the stored stream has no final response")),
            false => Ok(response.to_vec()),
        };
    }
    let turn = ResponsesTurn {
        id: id.to_string(),
        created_at: u64::try_from(entry.created_at / 1000).unwrap_or(0),
        ..ResponsesTurn::default()
    };
    let (_, _, translation) = translate_responses(
        provider.api,
        "",
        &entry.model,
        &entry.model,
        request,
        &[],
        &turn,
    )?;
    let translation = Translation::Responses(Box::new(translation));
    if !entry.stream {
        return translate_body(&translation, entry.status, response, turn.created_at)
            .map_err(|why| bad(id, &why));
    }
    let mut translator = StreamTranslator::new(&translation, turn.created_at);
    let mut scanner = SseScanner::new();
    let mut events = Vec::new();
    scanner.feed_filter(response, &mut translator, &mut events, |_| {});
    translator.end(&mut events);
    final_object(&events).ok_or_else(|| bad(id, &"the stored stream has no final response"))
}

/// The `response` of a Responses stream's closing event (`response.completed`, ...).
fn final_object(stream: &[u8]) -> Option<Vec<u8>> {
    let mut last = None;
    SseScanner::new().feed(stream, |event| {
        let closing = matches!(
            event.event,
            Some("response.completed" | "response.incomplete" | "response.failed")
        );
        if closing {
            last = serde_json::from_slice::<Value>(event.data)
                .ok()
                .and_then(|mut v| v.get_mut("response").map(Value::take));
        }
    });
    last.and_then(|v| serde_json::to_vec(&v).ok())
}

/// The request said `"store": false`: its response is not read back.
fn stored_off(request: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Store {
        store: Option<bool>,
    }
    memchr::memmem::find(request, b"\"store\"").is_some()
        && serde_json::from_slice::<Store>(request).is_ok_and(|s| s.store == Some(false))
}

fn not_found(id: &str) -> GatewayError {
    GatewayError::new(
        ErrorCode::NoRoute,
        format!("no response with id {id:?} in this gateway's log"),
    )
}

fn bad(id: &str, why: &dyn std::fmt::Display) -> GatewayError {
    GatewayError::new(
        ErrorCode::BadRequest,
        format!("stored response {id} cannot be read back: {why}"),
    )
}

fn unreadable(e: impl std::fmt::Display) -> GatewayError {
    GatewayError::new(
        ErrorCode::UpstreamFailed,
        format!("the request log cannot be read: {e}"),
    )
}
