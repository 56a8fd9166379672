//! Unit tests of `answer`: which requests get tokens, a tool call, JSON or a tool-result echo,
//! and how text is cut into stream pieces.

use super::*;

fn answer(format: Format, body: &str) -> Answer {
    inspect(format, body.as_bytes(), true)
}

fn call(name: &str, arguments: &str) -> Answer {
    Answer::ToolCall(ToolCall {
        name: name.into(),
        arguments: arguments.into(),
    })
}

const CHAT_TOOLS: &str = r#""tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]"#;

#[test]
fn plain_bodies_are_tokens_without_a_parse() {
    let plain = r#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#;
    assert_eq!(answer(Format::OpenAi, plain), Answer::Tokens);
    assert_eq!(
        answer(Format::OpenAi, "{\"tools\": not json"),
        Answer::Tokens
    );
}

#[test]
fn offered_tools_are_called_until_a_result_comes_back() {
    let ask =
        format!(r#"{{"model":"m","messages":[{{"role":"user","content":"hi"}}],{CHAT_TOOLS}}}"#);
    assert_eq!(
        answer(Format::OpenAi, &ask),
        call("get_weather", r#"{"city":"mock"}"#)
    );
    assert_eq!(
        inspect(Format::OpenAi, ask.as_bytes(), false),
        Answer::Tokens
    );
    let none = ask.replace("\"tools\"", "\"tool_choice\":\"none\",\"tools\"");
    assert_eq!(answer(Format::OpenAi, &none), Answer::Tokens);
    let result = r#"{"messages":[{"role":"tool","tool_call_id":"c","content":"sunny"}]}"#;
    assert_eq!(
        answer(Format::OpenAi, result),
        Answer::Text("tool said: sunny".into())
    );
    let responses = r#"{"input":[{"type":"function_call_output","call_id":"c","output":"7"}]}"#;
    assert_eq!(
        answer(Format::Responses, responses),
        Answer::Text("tool said: 7".into())
    );
    let anthropic = r#"{"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"ok"}]}]}]}"#;
    assert_eq!(
        answer(Format::Anthropic, anthropic),
        Answer::Text("tool said: ok".into())
    );
    let gemini = r#"{"contents":[{"role":"user","parts":[{"functionResponse":{"name":"f","response":{"t":2}}}]}]}"#;
    assert_eq!(
        answer(Format::Gemini, gemini),
        Answer::Text(r#"tool said: {"t":2}"#.into())
    );
    let named = gemini.replace(r#"{"t":2}"#, r#"{"name":"f","content":"warm"}"#);
    assert_eq!(
        answer(Format::Gemini, &named),
        Answer::Text("tool said: warm".into())
    );
}

#[test]
fn each_format_names_its_tools_its_own_way() {
    let responses = r#"{"tools":[{"type":"web_search"},{"type":"function","name":"f","parameters":{"type":"object","properties":{"n":{"type":"number"}}}}]}"#;
    assert_eq!(
        answer(Format::Responses, responses),
        call("f", r#"{"n":1}"#)
    );
    let anthropic = r#"{"tools":[{"name":"t","input_schema":{"type":"object","properties":{"b":{"type":"boolean"}}}}]}"#;
    assert_eq!(
        answer(Format::Anthropic, anthropic),
        call("t", r#"{"b":true}"#)
    );
    let gemini = r#"{"tools":[{"functionDeclarations":[{"name":"g","parameters":{"type":"OBJECT","properties":{"s":{"type":"STRING"}}}}]}]}"#;
    assert_eq!(answer(Format::Gemini, gemini), call("g", r#"{"s":"mock"}"#));
}

#[test]
fn json_is_sampled_from_each_format_schema() {
    let schema = r#"{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]}"#;
    let chat = format!(
        r#"{{"response_format":{{"type":"json_schema","json_schema":{{"name":"x","schema":{schema}}}}}}}"#
    );
    assert_eq!(
        answer(Format::OpenAi, &chat),
        Answer::Text(r#"{"a":1}"#.into())
    );
    let object = r#"{"response_format":{"type":"json_object"}}"#;
    assert_eq!(answer(Format::OpenAi, object), Answer::Text("{}".into()));
    let responses =
        format!(r#"{{"text":{{"format":{{"type":"json_schema","name":"x","schema":{schema}}}}}}}"#);
    assert_eq!(
        answer(Format::Responses, &responses),
        Answer::Text(r#"{"a":1}"#.into())
    );
    let gemini = format!(
        r#"{{"generationConfig":{{"responseMimeType":"application/json","responseSchema":{schema}}}}}"#
    );
    assert_eq!(
        answer(Format::Gemini, &gemini),
        Answer::Text(r#"{"a":1}"#.into())
    );
    let anthropic =
        format!(r#"{{"output_config":{{"format":{{"type":"json_schema","schema":{schema}}}}}}}"#);
    assert_eq!(
        answer(Format::Anthropic, &anthropic),
        Answer::Text(r#"{"a":1}"#.into())
    );
    let forced = format!(
        r#"{{"tool_choice":{{"type":"tool","name":"out"}},"tools":[{{"name":"other","input_schema":{{}}}},{{"name":"out","input_schema":{schema}}}]}}"#
    );
    assert_eq!(
        inspect(Format::Anthropic, forced.as_bytes(), false),
        call("out", r#"{"a":1}"#)
    );
}

#[test]
fn split_keeps_characters_whole_and_covers_the_text() {
    assert_eq!(split("abcd", 2), ["ab", "cd"]);
    assert_eq!(split("ab", 5), ["a", "b"]);
    assert_eq!(split("", 3), [""]);
    let text = "héllo wörld";
    assert_eq!(split(text, 4).concat(), text);
    assert_eq!(Answer::Text("x".into()).pieces(0), ["x"]);
    assert_eq!(call("f", "{}").pieces(1), ["{", "}"]);
}
