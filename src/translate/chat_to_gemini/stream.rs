//! Incremental Gemini `streamGenerateContent?alt=sse` -> OpenAI `chat.completion.chunk`
//! SSE: one upstream event in, zero or more client events out, nothing held back.

use super::error::StreamError;
use super::response::{finish_reason, openai_error, GenerateContentResponse, UsageMetadata};
use crate::translate::chat_to_anthropic::StreamOptions;
use crate::translate::openai_chunks::ChunkWriter;

/// Translates a Gemini event stream into OpenAI chunk events, one upstream event at
/// a time. Feed it the events of `crate::sse::SseScanner`.
///
/// Every Gemini event is a whole `GenerateContentResponse` holding the next parts and
/// the running usage; the one with a `finishReason` is the last, so it also gets the
/// usage chunk (when asked for) and `[DONE]`.
#[derive(Debug)]
pub struct GeminiToOpenAiStream {
    options: StreamOptions,
    /// `None` until the first event, which fixes the chunks' id and model.
    writer: Option<ChunkWriter>,
    response_id: String,
    usage: UsageMetadata,
    tool_calls: usize,
    finished: bool,
}

impl GeminiToOpenAiStream {
    /// A translator for one response stream.
    pub fn new(options: StreamOptions) -> Self {
        GeminiToOpenAiStream {
            options,
            writer: None,
            response_id: String::new(),
            usage: UsageMetadata::default(),
            tool_calls: 0,
            finished: false,
        }
    }

    /// The stream has ended (a finish reason, an error, or [`Self::end_of_stream`]).
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Translates one upstream event's `data`, appending the client's SSE events to
    /// `out`. Gemini names no events, so `event` is ignored. On error nothing is
    /// appended and the state is unchanged; the caller decides whether to end the stream.
    pub fn push_event(
        &mut self,
        _event: Option<&str>,
        data: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), StreamError> {
        if self.finished {
            return Ok(());
        }
        let response: GenerateContentResponse<'_> =
            serde_json::from_slice(data).map_err(StreamError::MalformedEvent)?;
        if let Some(error) = &response.error {
            ChunkWriter::error(out, &openai_error(error));
            self.finished = true;
            return Ok(());
        }
        if let Some(usage) = response.usage_metadata {
            self.usage = usage;
        }
        let writer = match &mut self.writer {
            Some(writer) => writer,
            None => {
                self.response_id = response.response_id.as_deref().unwrap_or("").to_owned();
                let id = self.options.id.as_deref().unwrap_or(&self.response_id);
                let model = self
                    .options
                    .model
                    .as_deref()
                    .or(response.model_version.as_deref())
                    .unwrap_or("");
                let writer = ChunkWriter::new(id, model, self.options.created);
                writer.role(out);
                self.writer.insert(writer)
            }
        };
        let Some(candidate) = response.candidates.first() else {
            // No candidate: the prompt was blocked (or a usage-only event).
            if response
                .prompt_feedback
                .and_then(|f| f.block_reason)
                .is_some()
            {
                writer.finish(out, "content_filter");
                self.end(out);
            }
            return Ok(());
        };
        let parts = candidate.content.as_ref().map_or(&[][..], |c| &c.parts);
        for part in parts.iter().filter(|p| !p.thought) {
            match (&part.text, &part.function_call) {
                (Some(text), _) if !text.is_empty() => writer.content(out, text),
                (_, Some(call)) => {
                    let id = call.call_id(&self.response_id, self.tool_calls);
                    writer.tool_call(out, self.tool_calls, &id, &call.name, &call.arguments());
                    self.tool_calls += 1;
                }
                _ => {}
            }
        }
        if let Some(reason) = &candidate.finish_reason {
            writer.finish(out, finish_reason(reason, self.tool_calls > 0));
            self.end(out);
        }
        Ok(())
    }

    /// The upstream stream ended cleanly. A Gemini stream always ends with a finish
    /// reason; if it did not, the client still gets its usage and `[DONE]`, since the
    /// upstream itself said it was complete.
    pub fn end_of_stream(&mut self, out: &mut Vec<u8>) {
        if !self.finished {
            self.end(out);
        }
    }

    fn end(&mut self, out: &mut Vec<u8>) {
        if self.options.include_usage {
            let options = &self.options;
            let writer = self.writer.get_or_insert_with(|| {
                let id = options.id.as_deref().unwrap_or("");
                ChunkWriter::new(id, options.model.as_deref().unwrap_or(""), options.created)
            });
            writer.usage(out, &self.usage.to_openai());
        }
        ChunkWriter::done(out);
        self.finished = true;
    }
}
