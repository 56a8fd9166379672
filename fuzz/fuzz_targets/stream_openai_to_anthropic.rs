//! OpenAI chunks -> Anthropic Messages SSE (`messages_to_chat::OpenAiToAnthropicStream`
//! behind `translate::StreamTranslator`) on arbitrary upstream bytes in arbitrary
//! splits; see `common::check_stream_translation` for what is checked.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use sluice::translate::Translation;

fuzz_target!(|data: &[u8]| {
    common::check_stream_translation(Translation::MessagesToChat { stream: true }, data);
});
