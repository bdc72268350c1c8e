"""The story's language: the page's declared tag, else detected from the text.

``language`` is a primary subtag (``en``, ``de``) so that one value means one
language in every export; the tag as the page declared it (``en-US``) stays in
``language_declared``. A page that declares nothing gets the language
detected by py3langid (langid.py's model, offline, small, ~100 languages).
Too little text, or a guess below :data:`MIN_CONFIDENCE`, leaves it ``None``.
"""

from __future__ import annotations

from functools import cache
from typing import Any

MIN_CHARS = 40  # below this the guess is noise
MIN_CONFIDENCE = 0.9  # normalised probability of the best language
SAMPLE_CHARS = 4000  # enough for a sure guess; keeps detection cheap on long stories


def primary(tag: str | None) -> str | None:
    """The primary language subtag of a BCP 47 tag (``en-US`` -> ``en``), or None."""
    if not tag:
        return None
    head = tag.split("-", 1)[0].lower()
    return head if head.isalpha() and 2 <= len(head) <= 3 else None


@cache
def _identifier() -> Any:
    # Loading the model takes ~0.3 s: once per process, and only when a page needs it.
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect(text: str) -> str | None:
    """The language of ``text`` as a primary subtag, or None when unsure."""
    sample = text[:SAMPLE_CHARS]
    if len(sample.strip()) < MIN_CHARS:
        return None
    code, confidence = _identifier().classify(sample)
    return str(code) if confidence >= MIN_CONFIDENCE else None


def resolve(declared: str | None, text: str) -> tuple[str | None, str | None]:
    """``(language, language_declared)`` of a page: its declared tag's primary subtag,
    or the language detected in ``text`` when it declares none."""
    return primary(declared) or detect(text), declared
