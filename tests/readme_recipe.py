"""The README's signature verification recipe, taken from the README itself, so tests prove the
documentation works rather than a copy of it."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def verify_routy_signature() -> Callable[[str, str, bytes], bool]:
    """The `verify_routy_signature` function of the README's "Verifying the signature" section."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("#### Verifying the signature") :]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code, "the README lost its Python verification recipe"
    namespace: dict = {}
    exec(compile(code.group(1), "README.md (recipe)", "exec"), namespace)
    return namespace["verify_routy_signature"]
