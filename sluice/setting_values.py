"""How a setting's value is written in the environment and in TOML, and read back."""

from __future__ import annotations

from pathlib import Path
from typing import Any


class Secret(str):
    """A string that never shows itself in ``repr`` (settings dumps, logs)."""

    def __repr__(self) -> str:
        return "Secret('***')" if self else "Secret('')"


def format_value(value: Any) -> str:
    """A value as its environment variable spells it (``parse_value`` reads it back)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_value(kind: Any, raw: Any, name: str) -> Any:
    """``raw`` (text from the environment, or a TOML value) as a setting of type ``kind``; a
    ValueError naming the setting and what it expected when it is not one."""
    if kind in (bool, "bool"):
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"setting {name}: expected true/false, got {raw!r}")
    for type_, label in ((int, "int"), (float, "float")):
        if kind in (type_, label):
            try:
                return type_(raw)
            except (TypeError, ValueError):
                raise ValueError(f"setting {name}: expected {label}, got {raw!r}") from None
    if kind in (Path, "Path"):
        return Path(raw)
    if kind in (Secret, "Secret"):
        return Secret(raw)
    return str(raw)
