"""Rules of the code base the linters cannot check: where provider names may appear, how long a module
may grow, and that every suppression says which check it silences."""

from __future__ import annotations

import re
from pathlib import Path

from routy_app.providers import registry

APP = Path(__file__).resolve().parents[2] / "routy_app"
# Layers that must learn everything about a provider from its definition (providers/registry.py).
PROVIDER_BLIND = ("services", "state", "components", "pages", "api")
MAX_LINES = 400
# Modules allowed past MAX_LINES, each with its reason.
LONG_MODULES: dict[str, str] = {
    "models.py": "every table in one place, as alembic's autogenerate and readers expect",
    "sandbox/meta/sdk_fields.py": "generated data: the facebook-business SDK's field lists (see its header)",
}


# (module, word) pairs where a provider key is the same word with another meaning, each with its reason.
SAME_WORD: dict[tuple[str, str], str] = {
    ("components/alert_channels.py", "webhook"): "the alert channel kind, not the Webhook provider",
    ("services/alerts/channels.py", "webhook"): "the alert channel kind, not the Webhook provider",
}


def _modules(*layers: str) -> list[Path]:
    roots = [APP / layer for layer in layers] if layers else [APP]
    return sorted(p for root in roots for p in root.rglob("*.py") if "migrations" not in p.parts)


def test_no_provider_key_outside_the_providers() -> None:
    keys = "|".join(re.escape(d.key) for d in registry.all_definitions())
    literal = re.compile(rf"""["']({keys})["']""")
    found = [
        f"{path.relative_to(APP)}:{n}: {line.strip()}"
        for path in _modules(*PROVIDER_BLIND)
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if any((str(path.relative_to(APP)), m.group(1)) not in SAME_WORD for m in literal.finditer(line))
    ]
    assert found == [], "provider knowledge belongs in its package:\n" + "\n".join(found)


def test_modules_stay_small() -> None:
    long = {str(path.relative_to(APP)): len(path.read_text().splitlines()) for path in _modules()}
    over = {name: n for name, n in long.items() if n > MAX_LINES and name not in LONG_MODULES}
    assert over == {}, f"split these modules (or justify them in LONG_MODULES): {over}"


def test_every_suppression_names_its_check() -> None:
    bare = re.compile(r"#\s*(type:\s*ignore|noqa)(?![\[:])")
    found = [
        f"{path.relative_to(APP)}:{n}"
        for path in _modules()
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if bare.search(line)
    ]
    assert found == []
