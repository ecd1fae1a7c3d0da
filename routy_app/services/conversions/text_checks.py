"""Characters refused in conversion text fields (ids, click ids, user agents, email, phone).

Controls, direction controls (a "Trojan Source" id reads as something else in the UI, logs or a
provider's console), invisible format characters, line separators, private-use and unassigned code
points, unpaired surrogates, and U+FFFD (what a lenient decoder left for bytes that were not UTF-8).
Checked on every ingested field, so the check is one compiled regex (built at import) per text.
"""

from __future__ import annotations

import re
import unicodedata

# Characters that reorder how text is displayed: refused like control characters, with their own message.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Unicode categories no identifier, click id, user agent or address carries: controls (Cc), format
# characters (Cf: zero-width spaces and joiners, the BOM, tag characters U+E00xx, direction controls),
# line and paragraph separators (Zl, Zp), private use (Co), unassigned code points and noncharacters
# (Cn), and surrogates (Cs). Invisible ones make two ids that look identical distinct (or the reverse).
REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Co", "Cn", "Cs"})
REPLACEMENT_CHAR = "\ufffd"  # what a lenient decoder puts for bytes that were not UTF-8: data already lost
_ASTRAL = "\U00010000-\U0010ffff"


def _refused_class() -> str:
    """A regex character class of the refused BMP code points, plus every astral one (checked by category
    after a match). Ranges above U+FFFF sit in a list the regex engine scans for every character, so the
    few refused astral ranges would cost a hundred times more per call than the bitmap of the BMP."""
    ranges: list[tuple[int, int]] = []
    for point in range(0x10000):
        if unicodedata.category(chr(point)) in REFUSED_CATEGORIES or chr(point) == REPLACEMENT_CHAR:
            if ranges and ranges[-1][1] == point - 1:
                ranges[-1] = (ranges[-1][0], point)
            else:
                ranges.append((point, point))
    parts = (f"\\U{low:08x}" if low == high else f"\\U{low:08x}-\\U{high:08x}" for low, high in ranges)
    return "[" + "".join(parts) + _ASTRAL + "]"


_SUSPECT_CHARS = re.compile(_refused_class())


def refused_char(text: str) -> str | None:
    """The first character of `text` in REFUSED_CATEGORIES (or U+FFFD), or None. One regex pass."""
    found = _SUSPECT_CHARS.search(text)
    while found is not None:
        char = found.group()
        if char <= "\uffff" or unicodedata.category(char) in REFUSED_CATEGORIES:  # astral: emoji pass
            return char
        found = _SUSPECT_CHARS.search(text, found.end())
    return None


def text_problem(text: str) -> str | None:
    """Why `text` is refused, or None: control characters (C0, DEL, C1), direction controls, unpaired
    surrogates (JSON can carry them; no database or hash can store them), invisible and format
    characters, line separators, private-use and unassigned code points, and U+FFFD."""
    char = refused_char(text)
    if char is None:
        return None
    if "\ud800" <= char <= "\udfff":
        return "contains an invalid character (an unpaired UTF-16 surrogate)"
    if char in BIDI_CONTROLS:
        return "contains text-direction control characters"
    if char == REPLACEMENT_CHAR:
        return "contains U+FFFD, the replacement for bytes that were not valid UTF-8"
    category = unicodedata.category(char)
    if category == "Cc":
        return "contains control characters"
    kind = {"Cf": "an invisible format character", "Zl": "a line separator", "Zp": "a paragraph separator"}.get(
        category, "a private-use or unassigned code point"
    )
    return f"contains {kind} (U+{ord(char):04X})"
