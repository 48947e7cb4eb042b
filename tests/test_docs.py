"""The docs keep up with the code: every config section and field is documented."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from wsdiag.config import Config

DOCS = Path(__file__).parent.parent / "docs"


def test_every_config_field_is_in_the_config_reference() -> None:
    text = (DOCS / "config.md").read_text()
    defaults, missing = Config(), []
    for field in dataclasses.fields(Config):
        value = getattr(defaults, field.name)
        if not dataclasses.is_dataclass(value):
            missing += [] if f"| `{field.name}` |" in text else [field.name]
            continue
        missing += [] if f"`[{field.name}]`" in text else [f"[{field.name}]"]
        missing += [
            f"{field.name}.{sub.name}"
            for sub in dataclasses.fields(value)
            if f"| `{sub.name}` |" not in text
        ]
    assert not missing, f"undocumented config fields: {missing}"
