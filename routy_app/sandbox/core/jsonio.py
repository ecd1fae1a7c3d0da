"""Reading JSON from outside (bodies, query parameters, token payloads) the way every emulated host does.

`json.loads` raises RecursionError, not ValueError, on nesting deeper than the interpreter's recursion
limit (`[` * 5000): a handler that catches ValueError for a bad body would answer 500. `loads` turns
that into the ValueError the handler already answers the way the real host does.
"""

from __future__ import annotations

import json
from typing import Any


def loads(raw: bytes | str) -> Any:
    """`json.loads`, where nesting too deep to parse is a ValueError like any other malformed JSON."""
    try:
        return json.loads(raw)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
