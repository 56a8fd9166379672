//! Anthropic Messages SSE -> OpenAI chunks (`chat_to_anthropic::AnthropicToOpenAiStream`
//! behind `translate::StreamTranslator`) on arbitrary upstream bytes in arbitrary
//! splits; see `common::check_stream_translation` for what is checked.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use sluice::translate::Translation;

fuzz_target!(|data: &[u8]| {
    let mut rng = common::Rng::for_input(data);
    let translation = Translation::ChatToAnthropic {
        stream: true,
        include_usage: rng.flag(),
        json_tool: rng.flag(),
    };
    common::check_stream_translation(translation, data);
});
