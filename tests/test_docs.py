"""The docs keep up with the code: every config section and field is documented."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from wsdiag.config import Config
from wsdiag.mitigations import MITIGATIONS

DOCS = Path(__file__).parent.parent / "docs"


def _undocumented(value: object, text: str, prefix: str = "") -> list[str]:
    """Fields of a config dataclass (recursively) without a `| `name` |` row in the text; the
    mitigation tables are each registered mitigation's parameters."""
    missing = []
    for field in dataclasses.fields(value):
        sub = getattr(value, field.name)
        name = f"{prefix}{field.name}"
        if name == "mitigation.tables":
            for key, mitigation in MITIGATIONS.items():
                missing += _undocumented(mitigation.params(), text, f"mitigation.{key}.")
        elif dataclasses.is_dataclass(sub):
            missing += [] if f"`[{name}]`" in text else [f"[{name}]"]
            missing += _undocumented(sub, text, f"{name}.")
        elif f"| `{field.name}` |" not in text:
            missing.append(name)
    return missing


def test_every_config_field_is_in_the_config_reference() -> None:
    """config.md documents every field; mitigation parameters may be in docs/mitigations*.md."""
    text = "\n".join(p.read_text() for p in [DOCS / "config.md", *DOCS.glob("mitigations*.md")])
    missing = _undocumented(Config(), text)
    assert not missing, f"undocumented config fields: {missing}"


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as '-'."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_every_relative_link_of_the_docs_reaches_a_file_and_its_heading() -> None:
    root = DOCS.parent
    pages = [root / "README.md", root / "CHANGELOG.md", *sorted(DOCS.glob("**/*.md"))]
    broken = []
    for page in pages:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            file, _, anchor = target.partition("#")
            path = (page.parent / file) if file else page
            if not path.exists():
                broken.append(f"{page.name}: {target}")
            elif anchor and path.suffix == ".md":
                headings = re.findall(r"^#+ (.+)$", path.read_text(), flags=re.M)
                if anchor not in {_anchor(h) for h in headings}:
                    broken.append(f"{page.name}: {target} (no such heading)")
    assert not broken, broken
