"""The official OpenAI Python SDK against sluice, changing only base_url.

Runs a non-streaming and a streaming chat completion and an embeddings call through
both the /compat path and the /v1 alias, then the same chats with anthropic/ and
google-ai-studio/ models (translated by the gateway; the mock speaks each API); prints 'N passed, N failed' and exits non-zero
on any failure. Usage: openai_sdk.py http://HOST:PORT
"""
import sys

import openai
from checks import check, finish

gateway = sys.argv[1]
bases = {
    "compat": f"{gateway}/v1/any-account/default/compat",
    "v1 alias": f"{gateway}/v1",
}


for label, base in bases.items():
    client = openai.OpenAI(base_url=base, api_key="sk-client-key", max_retries=0, timeout=10)

    def chat():
        r = client.chat.completions.create(
            model="mock/gpt-4o-mini",
            messages=[{"role": "user", "content": "Say hi"}],
        )
        assert r.object == "chat.completion", r
        assert r.model == "gpt-4o-mini", r.model  # the mock echoes the rewritten model
        assert r.choices[0].message.role == "assistant"
        assert r.choices[0].message.content
        assert r.usage.completion_tokens > 0

    def stream():
        chunks = list(
            client.chat.completions.create(
                model="mock/gpt-4o-mini",
                messages=[{"role": "user", "content": "Count"}],
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text, chunks
        assert chunks[0].model == "gpt-4o-mini"
        assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0

    def embeddings():
        r = client.embeddings.create(model="mock/text-embedding-3-small", input=["a", "b"])
        assert len(r.data) == 2 and len(r.data[0].embedding) > 0, r

    def gateway_error():
        try:
            client.chat.completions.create(model="nope/x", messages=[])
        except openai.BadRequestError as e:
            assert e.status_code == 400 and e.body["code"] == 2008, e.body
        else:
            raise AssertionError("unknown provider was accepted")

    check(f"{label}: chat completion", chat)
    check(f"{label}: streaming chat completion", stream)
    check(f"{label}: embeddings", embeddings)
    check(f"{label}: gateway error is an APIError", gateway_error)

    for model in ("anthropic/claude-sonnet-4-5", "google-ai-studio/gemini-2.5-flash"):

        def translated_chat(model=model):
            r = client.chat.completions.create(
                model=model,
                messages=[
                    {"role": "system", "content": "Be brief"},
                    {"role": "user", "content": "Say hi"},
                ],
            )
            assert r.object == "chat.completion", r
            assert r.choices[0].message.role == "assistant"
            assert r.choices[0].message.content
            assert r.choices[0].finish_reason == "stop", r.choices[0].finish_reason
            assert r.usage.prompt_tokens > 0 and r.usage.completion_tokens > 0, r.usage

        def translated_stream(model=model):
            chunks = list(
                client.chat.completions.create(
                    model=model,
                    messages=[{"role": "user", "content": "Count"}],
                    stream=True,
                    stream_options={"include_usage": True},
                )
            )
            text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
            assert text, chunks
            assert any(c.choices and c.choices[0].finish_reason for c in chunks), chunks
            assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0

        def translated_error(model=model):
            try:
                client.chat.completions.create(
                    model=model,
                    messages=[{"role": "user", "content": "x"}],
                    extra_headers={"x-mock-status": "429"},
                )
            except openai.RateLimitError as e:
                assert e.status_code == 429, e
            else:
                raise AssertionError("the upstream 429 was not an error")

        check(f"{label}: {model} chat completion (translated)", translated_chat)
        check(f"{label}: {model} streaming chat completion (translated)", translated_stream)
        check(f"{label}: {model} upstream error (translated)", translated_error)

finish("sdk: ")
