"""The official Anthropic Python SDK against sluice's Messages endpoints, changing only base_url.

For each of /v1/messages (base_url = gateway) and .../compat (the SDK posts to
.../compat/v1/messages), and each provider kind behind it (Anthropic passed through,
OpenAI-style and Gemini translated): a message, a stream, and an error. Prints
'N passed, N failed' and exits non-zero on any failure. Usage: anthropic_sdk.py http://HOST:PORT
"""
import sys

import anthropic
from checks import check, finish

gateway = sys.argv[1]
bases = {
    "alias": gateway,
    "compat": f"{gateway}/v1/any-account/default/compat",
}
models = ["anthropic/claude-sonnet-4-5", "mock/gpt-4o-mini", "google-ai-studio/gemini-2.5-flash"]


for label, base in bases.items():
    client = anthropic.Anthropic(base_url=base, api_key="sk-client-key", max_retries=0, timeout=10)
    for model in models:

        def message(model=model):
            r = client.messages.create(
                model=model,
                max_tokens=64,
                system="Be brief",
                messages=[{"role": "user", "content": "Say hi"}],
            )
            assert r.type == "message" and r.role == "assistant", r
            assert r.content and r.content[0].type == "text" and r.content[0].text, r
            assert r.stop_reason == "end_turn", r.stop_reason
            assert r.usage.output_tokens > 0, r.usage

        def stream(model=model):
            with client.messages.stream(
                model=model,
                max_tokens=64,
                messages=[{"role": "user", "content": "Count"}],
            ) as s:
                text = "".join(s.text_stream)
                final = s.get_final_message()
            assert text, "no text streamed"
            assert final.content[0].text == text, final
            assert final.stop_reason == "end_turn", final.stop_reason
            assert final.usage.output_tokens > 0, final.usage

        def upstream_error(model=model):
            try:
                client.messages.create(
                    model=model,
                    max_tokens=8,
                    messages=[{"role": "user", "content": "x"}],
                    extra_headers={"x-mock-status": "429"},
                )
            except anthropic.RateLimitError as e:
                assert e.status_code == 429, e
            else:
                raise AssertionError("the upstream 429 was not an error")

        check(f"{label}: {model} message", message)
        check(f"{label}: {model} stream", stream)
        check(f"{label}: {model} upstream error", upstream_error)

    def gateway_error():
        try:
            client.messages.create(
                model="nope/x", max_tokens=8, messages=[{"role": "user", "content": "x"}]
            )
        except anthropic.BadRequestError as e:
            assert e.status_code == 400, e
            assert e.body["type"] == "error", e.body
            assert e.body["error"]["type"] == "invalid_request_error", e.body
            assert e.body["error"]["code"] == 2008, e.body
        else:
            raise AssertionError("unknown provider was accepted")

    check(f"{label}: gateway error is an Anthropic APIError", gateway_error)

finish("sdk: ")
