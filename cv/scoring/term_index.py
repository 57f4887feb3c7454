"""Whether a CV's text covers keywords: CV side matching is lenient about inflection and word order, so
"negotiated" covers "negotiation" and "Plan discharges with the MDT" covers "discharge planning".
"""

from __future__ import annotations

import re

from cv.scoring.job_context import original_slice
from cv.scoring.keywords import (
    Keyword,
    Span,
    alias_words,
    coordinated,
    is_loose,
    keyword_for_name,
    terms_by_name,
    two_word_skills,
    vocabulary_spans,
)
from cv.scoring.words import NUMBER, STOPWORDS, normalise, plain_word, stem, tokenise

# Words that end a phrase without being what it asks for ("computerised accounting systems").
_CONTAINERS = frozenset(
    "system systems software tools techniques methods principles skills knowledge programs programmes".split()
)

# How far apart (in words) the words of a multi-word keyword may sit in a CV line and still cover it.
_WINDOW_SLACK = 2


class TermIndex:
    """A text read once (a CV, an improved CV) to ask which keywords it covers, and with which of its words.

    ``named_terms``: the vocabulary terms the text itself names; ``vocabulary_terms``: those and the broader
    terms they imply (a CV naming Django REST Framework covers Django and Python). ``evidence`` gives the
    text's own words for a keyword (a synonym or abbreviation only through the vocabulary's aliases); a
    keyword is covered exactly when it has evidence.
    """

    def __init__(self, text: str):
        self.original = text or ""
        self.text = normalise(text)
        self.tokens = tokenise(self.text)
        self._positions: dict[str, list[int]] = {}
        self._stem_positions: dict[str, list[int]] = {}
        for position, token in enumerate(self.tokens):
            self._positions.setdefault(token.plain, []).append(position)
            self._stem_positions.setdefault(token.stem, []).append(position)
        spans: dict[str, Span] = {}
        for start, end, term in vocabulary_spans(self.tokens, by_stem=True):
            spans.setdefault(term.name, self._chars(start, end))
        self._coordinated: dict[tuple[str, str], Span] = {}
        for modifier_at, head_at, modifier, head in coordinated(self.tokens, self.text):
            self._coordinated.setdefault((modifier, head), self._chars(modifier_at, head_at + 1))
        two_word = two_word_skills()
        for pair, span in self._coordinated.items():
            if pair in two_word:
                spans.setdefault(two_word[pair].name, span)
        self.named_terms = frozenset(spans)
        # A broader term is shown by the words of the specific one that implies it.
        pending = list(spans)
        by_name = terms_by_name()
        while pending:
            name = pending.pop()
            implying = by_name.get(name)
            for broader in implying.implies if implying else ():
                if broader not in spans:
                    spans[broader] = spans[name]
                    pending.append(broader)
        self._term_spans = spans
        self.vocabulary_terms = frozenset(spans)

    def _chars(self, start: int, end: int) -> Span:
        return self.tokens[start].start, self.tokens[end - 1].end

    def _sequence(self, words: list[str]) -> Span | None:
        plains = [plain_word(w) if w != "&" else "and" for w in words]
        tokens = self.tokens
        for i in self._positions.get(plains[0], ()):
            if i + len(plains) <= len(tokens) and all(tokens[i + k].plain == p for k, p in enumerate(plains)):
                return self._chars(i, i + len(plains))
        return None

    def _words_near(self, words: list[str]) -> Span | None:
        """Every content word of a phrase, by stem, within a few words of each other on one line."""
        wanted = {stem(w) for w in words if w.lower() not in STOPWORDS and w != "&"}
        if not wanted or any(s not in self._stem_positions for s in wanted):
            return None
        span = len(words) + _WINDOW_SLACK
        tokens = self.tokens
        rarest = min(wanted, key=lambda s: len(self._stem_positions[s]))
        for position in self._stem_positions[rarest]:
            line = tokens[position].line
            window = range(max(0, position - span + 1), min(len(tokens), position + span))
            near = {tokens[k].stem for k in window if tokens[k].line == line}
            if wanted <= near:
                # The window may be up to twice the span around the rarest word; check a real span fits.
                hits = sorted(k for k in window if tokens[k].line == line and tokens[k].stem in wanted)
                for a in range(len(hits)):
                    inside = [k for k in hits[a:] if k - hits[a] < span]
                    if wanted <= {tokens[k].stem for k in inside}:
                        return self._chars(hits[a], inside[-1] + 1)
        return None

    def _span(self, keyword: Keyword | str) -> Span | None:
        if isinstance(keyword, str):
            keyword = keyword_for_name(keyword)
        if keyword.source == "vocabulary":
            if keyword.vocabulary_name in self._term_spans:
                return self._term_spans[keyword.vocabulary_name]
            term = terms_by_name().get(keyword.vocabulary_name)
            if term is None or not is_loose(term):
                return None
            names = [n for n in (term.name, *term.aliases) if not n.startswith("=")]
            for words in map(alias_words, names):
                if len(words) > 1 and (found := self._words_near(words)):
                    return found
            return None
        words = alias_words(keyword.term)
        if not words:
            return None
        if keyword.source == "code":
            for alias in keyword.aliases:
                if found := self._sequence(alias_words(alias)):
                    return found
            if found := self._sequence(words):
                return found
            if len(words) > 1 and NUMBER.match(words[-1]) is not None:
                return self._code_with_number(words)
            return None
        content = [stem(w) for w in words if w.lower() not in STOPWORDS]
        found = (
            self._sequence(words)
            or self._words_near(words)
            or (self._coordinated.get((content[0], content[1])) if len(content) == 2 else None)
        )
        # "the fixed asset system" is shown by "fixed asset register": the system is where the skill is used.
        if found is None and len(words) > 2 and words[-1].lower() in _CONTAINERS:
            found = self._sequence(words[:-1]) or self._words_near(words[:-1])
        return found

    def covers(self, keyword: Keyword | str) -> bool:
        return self._span(keyword) is not None

    def evidence(self, keyword: Keyword | str) -> str | None:
        """The text's own words that show ``keyword``, or None when it does not show it."""
        span = self._span(keyword)
        return None if span is None else original_slice(self.original, self.text, *span)

    def _code_with_number(self, words: list[str]) -> Span | None:
        """ "City & Guilds 2391" is in "City & Guilds 2391-52"; "BS 7671" in "BS 7671:2018"."""
        head, number = words[:-1], words[-1]
        pattern = r"(?<!\w)" + r"\s*".join(re.escape(w) for w in head) + rf"\s*{re.escape(number)}(?![0-9])"
        match = re.search(pattern, self.text, re.IGNORECASE)
        return match.span() if match else None
