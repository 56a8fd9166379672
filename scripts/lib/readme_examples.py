"""Extracts the README's runnable examples: each fenced block right after an
`<!-- example: NAME -->` line, written to OUT/NAME.{sh,py,mjs} with the README's
addresses (127.0.0.1:8787 the gateway, 127.0.0.1:8788 the admin) replaced by the
test's. Prints one `NAME FILE` line per example. Usage: readme_examples.py README OUT GW ADMIN
"""
import os
import re
import sys

readme, out, gateway, admin = sys.argv[1:5]
suffix = {"sh": "sh", "python": "py", "js": "mjs"}
text = open(readme, encoding="utf-8").read()
pattern = re.compile(r"<!-- example: ([a-z0-9-]+) -->\n```([a-z]+)\n(.*?)\n```", re.S)
found = 0
for name, lang, code in pattern.findall(text):
    if lang not in suffix:
        sys.exit(f"example {name}: unknown language {lang!r}")
    code = code.replace("127.0.0.1:8787", gateway).replace("127.0.0.1:8788", admin)
    path = os.path.join(out, f"{name}.{suffix[lang]}")
    with open(path, "w", encoding="utf-8") as f:
        f.write(code + "\n")
    print(name, path)
    found += 1
if found == 0:
    sys.exit("no examples found in " + readme)
