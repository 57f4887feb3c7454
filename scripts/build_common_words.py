"""Rebuild cv/scoring/data/common_words.txt: the English words common enough in everyday text that, alone, they
name no requirement ("analysis", "training", "content"), from the word frequencies of the wordfreq package.

    pip install wordfreq==3.1.1
    python scripts/build_common_words.py

A word is written when it is alphabetic and its Zipf frequency in English is at least 4.5 (about 30 uses per
million words); the list is sorted.
"""

from __future__ import annotations

from pathlib import Path

from wordfreq import top_n_list, zipf_frequency

OUTPUT = Path(__file__).resolve().parent.parent / "cv" / "scoring" / "data" / "common_words.txt"
MIN_ZIPF = 4.5
HEADER = """\
# English words with a Zipf frequency of at least 4.5, one a line (built by scripts/build_common_words.py).
# Source: wordfreq 3.1.1 (Robyn Speer and contributors), whose word frequency data is licensed under the
# Creative Commons Attribution-ShareAlike 4.0 licence (https://creativecommons.org/licenses/by-sa/4.0/);
# this derived list is shared under the same licence. Derived: the English list cut at the frequency above.
"""


def main() -> None:
    words = sorted({w for w in top_n_list("en", 20000) if w.isalpha() and zipf_frequency(w, "en") >= MIN_ZIPF})
    OUTPUT.write_text(HEADER + "\n".join(words) + "\n", encoding="utf-8")
    print(f"{len(words)} words -> {OUTPUT}")


if __name__ == "__main__":
    main()
