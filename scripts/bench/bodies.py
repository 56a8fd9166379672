#!/usr/bin/env python3
"""Request bodies of real chat sizes for scripts/bench.sh (stdlib only; deterministic).

  bodies.py OUT_DIR

Writes, for each size (1k, 32k, 200k) and workload, one JSON body per line for
sluice-load --bodies, as the gateway gets them (model "mock/gpt-4o-mini") and as the
mock and nginx get them ("gpt-4o-mini"):

  conv-SIZE-{gw,up}.jsonl      conversations: each conversation's requests in turn, each
                               repeating the previous request and adding the assistant's
                               answer and one user turn (as agent loops and chat apps do);
                               the lines are turn-major, so a conversation's earlier request
                               has gone before its next one. Every message holds __CYCLE__
                               (sluice-load numbers each pass over the file), so passes
                               share nothing while a pass's turns share their prefix.
  distinct-SIZE-{gw,up}.jsonl  no two requests share content: every message holds __NONCE__
                               (the request's own number).

The text has what real conversations have before the `model` key (which comes last, as
some SDKs write it): escapes (quotes, backslashes, newlines, tabs), code, and non-ASCII
prose and emoji. Sizes are the mean body size; a conversation's requests range from
about 0.75x to 1.25x of it. Prints one line per file: name, bodies, mean bytes, and
for conversations the mean new bytes per request (a conversation's first request is
new whole, each later one adds a turn: together, the size of its last request).
"""
import json
import os
import random
import sys

SIZES = {"1k": 1024, "32k": 32 * 1024, "200k": 200 * 1024}
TURNS = 8  # requests per conversation
PIECES = [
    "The quarterly report says \"revenue grew 12%\" but the footnote\\appendix disagrees.",
    "Voilà: naïve café owners in Zürich prefer crème brûlée — “quoted” and ‘single’.",
    "東京の天気は晴れです。明日は雨が降るかもしれません。",
    "Здравствуйте! Как дела? Всё хорошо, спасибо.",
    "def add(a, b):\n    \"\"\"Add two numbers.\"\"\"\n\treturn a + b  # tab-indented\n",
    "Path: C:\\Users\\dev\\project\\src\\main.rs, then run `cargo test -- --nocapture`.",
    "Emoji test 🚀🔥✨ and a JSON snippet {\"key\": [1, 2, {\"nested\": null}]}.",
    "Line one\nLine two\r\nLine three with a \\u escape written out: \\u00e9.",
    "SELECT name, COUNT(*) FROM users WHERE email LIKE '%@example.com' GROUP BY name;",
    "Plain prose keeps most conversations going: the user asks, the assistant answers at length.",
]


def text(rng, n, tag):
    """About n bytes (JSON-encoded) of mixed text, starting with `tag`."""
    out = [tag]
    size = len(tag)
    while size < n:
        piece = rng.choice(PIECES)
        out.append(piece)
        size += len(json.dumps(piece, ensure_ascii=False).encode()) - 2 + 1
    whole = " ".join(out)
    # Cut back to about n bytes (the last piece overshoots; small turns need it).
    while len(json.dumps(whole, ensure_ascii=False).encode()) > n + 2 and len(whole) > len(tag) + 8:
        whole = whole[: max(len(tag) + 8, len(whole) - max(1, (len(whole.encode()) - n) // 3))]
    return whole


def body(messages, model):
    # messages first, model last: the scan passes the whole conversation before it.
    return json.dumps({"messages": messages, "model": model, "max_tokens": 512},
                      ensure_ascii=False, separators=(",", ":"))


def conversations(rng, size, count):
    first = int(size * 0.75)
    step = max(int(size * 0.5 / (TURNS - 1)), 64)
    convs = []
    for c in range(count):
        tag = f"[conversation {c} pass __CYCLE__]"
        history = [
            {"role": "system", "content": text(rng, max(first // 3, 32), tag)},
            {"role": "user", "content": text(rng, max(first - first // 3, 32), tag)},
        ]
        turns = [list(history)]
        for _ in range(TURNS - 1):
            history = history + [
                {"role": "assistant", "content": text(rng, step // 2, tag)},
                {"role": "user", "content": text(rng, step - step // 2, tag)},
            ]
            turns.append(list(history))
        convs.append(turns)
    return [convs[c][t] for t in range(TURNS) for c in range(count)]


def distinct(rng, size, count):
    out = []
    for _ in range(count):
        tag = "[request __NONCE__]"
        out.append([
            {"role": "system", "content": text(rng, size // 4, tag)},
            {"role": "user", "content": text(rng, size - size // 4 - 80, tag)},
        ])
    return out


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    rng = random.Random(7)
    for name, size in SIZES.items():
        # Enough bodies to spread over a run; fewer of the big ones (file size).
        count = {"1k": 256, "32k": 64, "200k": 16}[name]
        for workload, make in (("conv", conversations), ("distinct", distinct)):
            bodies = make(rng, size, count)
            for side, model in (("gw", "mock/gpt-4o-mini"), ("up", "gpt-4o-mini")):
                path = os.path.join(out_dir, f"{workload}-{name}-{side}.jsonl")
                lines = [body(m, model) for m in bodies]
                with open(path, "w", encoding="utf-8") as f:
                    f.write("\n".join(lines) + "\n")
                if side == "gw":
                    sizes = [len(line.encode()) for line in lines]
                    mean = sum(sizes) / len(sizes)
                    extra = ""
                    if workload == "conv":
                        # Every message of a conversation is new once: in all, its requests
                        # send what its last one holds (a first request is all new, a later
                        # one adds a turn), so that over TURNS requests.
                        new = sum(sizes[-count:]) / count / TURNS
                        extra = f" new_per_request={new:.0f}"
                    print(f"{workload}-{name} bodies={len(lines)} mean={mean:.0f}{extra}")


if __name__ == "__main__":
    main()
