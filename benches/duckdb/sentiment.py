"""shoal's sentiment(text), written again in Python for the DuckDB port of
the pack (docs/functions.md#sentiment): the same lexicon file and the same
rules, implemented from the documentation, so the cross-check compares two
implementations of one definition."""

from __future__ import annotations

import math
import pathlib

DEFAULT = pathlib.Path(__file__).resolve().parents[2] / "config" / "sentiment-lexicon.tsv"
CLAUSE_END = set(".,;:!?，。；：！？、\n")


def load(path=DEFAULT):
    entries = {}
    for line in pathlib.Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        term, weight = line.split("\t", 1)
        term, weight = term.strip().lower(), weight.strip()
        if weight == "negator":
            entries[term] = ("neg", 0.0)
        elif weight.startswith("x"):
            entries[term] = ("int", float(weight[1:]))
        else:
            entries[term] = ("pol", float(weight))
    return entries


def scorer(entries):
    longest = max(len(t) for t in entries)

    def is_word(c):
        return (c.isascii() and c.isalnum()) or c in "'’"

    def score(text):
        if text is None:
            return None
        total, negated, reach, boost = 0.0, False, 0, 1.0
        i, n = 0, len(text)
        while i < n:
            c = text[i]
            if c in CLAUSE_END:
                negated, reach, boost = False, 0, 1.0
                i += 1
                continue
            if c.isspace():
                i += 1
                continue
            entry = None
            if is_word(c):
                j = i
                while j < n and is_word(text[j]):
                    j += 1
                word = text[i:j].lower().replace("’", "'")
                i = j
                entry = entries.get(word) or (("neg", 0.0) if word.endswith("n't") else None)
            else:
                for size in range(min(longest, n - i), 0, -1):
                    e = entries.get(text[i:i + size].lower())
                    if e:
                        entry = e
                        i += size
                        break
                else:
                    i += 1
            if entry is None:
                if reach > 0:
                    reach -= 1
                    if reach == 0:
                        negated = False
            elif entry[0] == "neg":
                negated, reach = not negated, 3
            elif entry[0] == "int":
                boost *= entry[1]
            else:
                total += entry[1] * boost * (-0.74 if negated and reach > 0 else 1.0)
                negated, reach, boost = False, 0, 1.0
        if total == 0.0:
            return 0.0
        return max(-1.0, min(1.0, total / math.sqrt(total * total + 15.0)))

    return score
