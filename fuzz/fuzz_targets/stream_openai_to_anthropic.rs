//! OpenAI chunks -> Anthropic Messages SSE (`translate::messages::OpenAiToAnthropicStream`
//! behind `proxy::StreamTranslator`) on arbitrary upstream bytes in arbitrary splits;
//! see `common::check_stream_translation` for what is checked.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use sluice::proxy::Translation;

fuzz_target!(|data: &[u8]| {
    common::check_stream_translation(Translation::OpenAiToAnthropic { stream: true }, data);
});
