"""The official OpenAI Python SDK's Responses API against sluice, changing only base_url.

For openai/ (passed through to the mock's own /v1/responses), anthropic/ and
google-ai-studio/ (translated by the gateway; the mock speaks each API): responses.create
plain and with stream=True, the responses.stream helper, a function tool with its result
sent back (previous_response_id, and the whole conversation as input), text.format
json_schema, and responses.retrieve. Prints 'N passed, N failed'; exits non-zero on any
failure. Usage: openai_responses.py http://HOST:PORT
"""
import json
import sys

import openai
from checks import check, finish

gateway = sys.argv[1]
client = openai.OpenAI(base_url=f"{gateway}/v1", api_key="sk-client-key", max_retries=0, timeout=10)
compat = openai.OpenAI(
    base_url=f"{gateway}/v1/any-account/default/compat", api_key="sk-client-key", max_retries=0, timeout=10
)

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
    "strict": True,
}
EVENT_SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "day": {"type": "integer"}},
    "required": ["name", "day"],
    "additionalProperties": False,
}


for model in ("openai/gpt-4.1-mini", "anthropic/claude-sonnet-4-5", "google-ai-studio/gemini-2.5-flash"):

    def plain(model=model):
        r = client.responses.create(model=model, instructions="Be brief.", input="Say hi", max_output_tokens=64)
        assert r.object == "response" and r.status == "completed", r
        assert r.id.startswith("resp_"), r.id
        assert r.output_text, r
        assert r.usage.input_tokens > 0 and r.usage.output_tokens > 0, r.usage
        again = compat.responses.create(model=model, input=[{"role": "user", "content": "Say hi"}])
        assert again.output_text, again

    def streamed(model=model):
        events = list(client.responses.create(model=model, input="Count to five", stream=True))
        kinds = [e.type for e in events]
        assert kinds[0] == "response.created" and kinds[-1] == "response.completed", kinds
        numbers = [e.sequence_number for e in events]
        assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers), numbers
        text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
        assert text, kinds
        assert events[-1].response.output_text == text
        assert events[-1].response.usage.output_tokens > 0

    def helper(model=model):
        with client.responses.stream(model=model, input="Count to three") as stream:
            deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
            final = stream.get_final_response()
        assert deltas and final.output_text == "".join(deltas), (deltas, final)

    def tools(model=model):
        first = client.responses.create(model=model, input="Weather in Paris?", tools=[WEATHER])
        calls = [item for item in first.output if item.type == "function_call"]
        assert calls and calls[0].name == "get_weather", first.output
        args = json.loads(calls[0].arguments)
        assert isinstance(args.get("city"), str), args
        result = {"type": "function_call_output", "call_id": calls[0].call_id, "output": "sunny, 21C"}
        # The conversation kept by the gateway (or, for openai/, by the provider).
        if not model.startswith("openai/"):
            second = client.responses.create(
                model=model, previous_response_id=first.id, input=[result], tools=[WEATHER]
            )
            assert "sunny, 21C" in second.output_text, second.output_text
        # The whole conversation sent again, as stateless clients do.
        history = [{"role": "user", "content": "Weather in Paris?"}] + [c.model_dump() for c in calls] + [result]
        third = client.responses.create(model=model, input=history, tools=[WEATHER], store=False)
        assert "sunny, 21C" in third.output_text, third.output_text

    def structured(model=model):
        r = client.responses.create(
            model=model,
            input="Alice's party is on day 3.",
            text={"format": {"type": "json_schema", "name": "event", "schema": EVENT_SCHEMA, "strict": True}},
        )
        event = json.loads(r.output_text)
        assert isinstance(event["name"], str) and isinstance(event["day"], int), event

    def retrieve(model=model):
        r = client.responses.create(model=model, input="Say hi")
        if model.startswith("openai/"):
            return  # the provider keeps its own responses
        got = client.responses.retrieve(r.id)
        assert got.id == r.id and got.output_text == r.output_text, got

    check(f"{model}: responses.create", plain)
    check(f"{model}: responses.create stream=True", streamed)
    check(f"{model}: responses.stream helper", helper)
    check(f"{model}: function tool round trip", tools)
    check(f"{model}: text.format json_schema", structured)
    check(f"{model}: responses.retrieve", retrieve)


def error_shape():
    try:
        client.responses.create(model="anthropic/claude-sonnet-4-5", input="x", tools=[{"type": "web_search"}])
    except openai.BadRequestError as e:
        assert e.status_code == 400 and "web_search" in str(e), e
    else:
        raise AssertionError("a built-in tool was accepted for a translated provider")


check("a translated provider's refusal is an APIError", error_shape)

finish()
