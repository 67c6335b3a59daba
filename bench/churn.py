"""json/regex churn for swheap's overhead suite; run with PYTHONMALLOC=malloc so every
object allocation goes through malloc. argv[1] = rounds (default 40)."""
import json
import re
import sys

rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 40
words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
record_re = re.compile(r'"name": "([a-z]+)-(\d+)", "score": (\d+\.\d+)')
word_re = re.compile(r"\b([a-z]{4,})\b")
cache = {}  # a bounded cache of parsed documents: long-lived objects with turnover
total = 0
for r in range(rounds):
    doc = {
        "round": r,
        "items": [
            {"name": f"{words[i % 8]}-{i}", "score": i * 1.5, "tags": [words[(i + k) % 8] for k in range(4)],
             "child": {"id": i, "text": " ".join(words[(i + k) % 8] for k in range(6))}}
            for i in range(2000)
        ],
    }
    text = json.dumps(doc)
    back = json.loads(text)
    total += len(back["items"])
    total += sum(1 for _ in record_re.finditer(text))
    counts = {}
    for w in word_re.findall(text):
        counts[w] = counts.get(w, 0) + 1
    total += len(counts)
    cache[r % 16] = back
print("churn:", total)
