"""Characters a question may not carry: broken encoding, direction overrides, invisible text.

Kept apart from answer.py's `clean_question` (which calls `guard_question` first) so the rules
for hostile Unicode live in one small place. Sources: Unicode's Bidi_Control property
(UAX #9) and general category Cf (format characters); the Hangul and Braille fillers are the
visible-width-zero letters chat spammers use in place of zero-width spaces.
"""

from __future__ import annotations

import unicodedata

from bot.core.errors import QuestionError

# Bidi_Control characters that reorder what follows (embeddings, overrides, isolates): a
# question echoed into a title could display in an order the asker did not type.
BIDI_REORDERING = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Letters and symbols that render as blank space of no meaning.
BLANK_FILLERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def guard_question(question: str) -> str:
    """Refuse broken encoding and direction overrides; drop invisible characters."""
    chars = set(question)  # each distinct character is looked up once
    if any(unicodedata.category(c) == "Cs" for c in chars):
        # Lone surrogates: bytes that were not UTF-8 (argv, stdin with surrogateescape).
        raise QuestionError("encoding", "the question is not valid UTF-8 text")
    if not chars.isdisjoint(BIDI_REORDERING):
        raise QuestionError("bidi", "the question contains text-direction control characters")
    return visible(question)


def visible(text: str) -> str:
    """Drop invisible characters: format characters (direction controls, zero-width marks) and
    blank fillers; for user text that is shown again but need not be refused (a comment)."""
    drop = {c for c in set(text) if c in BLANK_FILLERS or unicodedata.category(c) == "Cf"}
    return "".join(c for c in text if c not in drop) if drop else text
