"""The rule for names people read (project, workspace and label names): one canonical form, no
invisible characters that reorder or hide text (ATTACKS I-12). Pure: no I/O.

* Names are stored NFC-normalized, so ``é`` typed as one code point or as ``e`` plus a combining
  accent is the same name (two labels that differ only by normalization are duplicates).
* Refused: control characters (NUL, CR, LF, tab, ESC, ...), surrogates, unassigned and private-use
  code points, the bidirectional overrides, embeddings and isolates (``U+202A..U+202E``,
  ``U+2066..U+2069``, which let ``invoice<RLO>gpj.exe`` display as ``invoiceexe.jpg``) and the
  invisible zero-width characters (``U+200B``, ``U+2060``, ``U+FEFF``, ``U+00AD``). ZWJ and ZWNJ
  stay allowed: Persian, Indic scripts and emoji need them.
* A label mixing Latin with Cyrillic or Greek letters (``Cat`` spelt with a Cyrillic ``С``) is
  refused: no real label needs both, and it is the classic way to make two labels look equal.
* Length is counted in code points after normalization (the callers' caps), so 10,000 combining
  marks are one very long name, not one letter.
"""

from __future__ import annotations

import unicodedata

_INVISIBLE = frozenset(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"  # bidi controls
    "\u200b\u2060\ufeff\u00ad\u180e"  # zero-width and soft hyphen
)
_REFUSED_CATEGORIES = frozenset({"Cc", "Cs", "Cn", "Co"})
_CONFUSABLE_SCRIPTS = frozenset({"CYRILLIC", "GREEK"})


class BadText(ValueError):
    """A name breaks the rule; the message says which character and where."""


def _describe(ch: str) -> str:
    return f"U+{ord(ch):04X} {unicodedata.name(ch, 'unassigned or control character')}"


def clean_name(value: str) -> str:
    """The NFC form of ``value``, or ``BadText`` naming the first refused character."""
    text = unicodedata.normalize("NFC", value)
    for index, ch in enumerate(text):
        if ch in _INVISIBLE or unicodedata.category(ch) in _REFUSED_CATEGORIES:
            raise BadText(
                f"character {index + 1} is {_describe(ch)}, which is invisible or a control "
                "character; names may hold only visible text"
            )
    return text


def _script(ch: str) -> str | None:
    if not ch.isalpha():
        return None
    return unicodedata.name(ch, "").split(" ", 1)[0] or None


def clean_label(value: str) -> str:
    """``clean_name`` plus the mixed-script rule for labels and options."""
    text = clean_name(value)
    scripts = {s for s in map(_script, text) if s is not None}
    if "LATIN" in scripts and scripts & _CONFUSABLE_SCRIPTS:
        other = sorted(scripts & _CONFUSABLE_SCRIPTS)[0].lower()
        raise BadText(f"{value!r} mixes Latin and {other} letters, which look alike; spell it in one script")
    return text
