"""Benchmark reports: the figures of one run as JSON and as a Markdown table, and on the terminal."""

from __future__ import annotations

import json
from pathlib import Path


def flatten(results: dict, prefix: str = "") -> dict:
    out = {}
    for name, value in results.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{name}."))
        else:
            out[prefix + name] = value
    return out


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.0f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def markdown(title: str, results: dict) -> str:
    rows = "\n".join(f"| {name} | {_cell(value)} |" for name, value in flatten(results).items())
    return f"# {title}\n\n| figure | value |\n|---|---|\n{rows}\n"


def write(title: str, results: dict, json_path: Path | None = None, markdown_path: Path | None = None) -> None:
    """Print the figures; also write them to ``json_path`` and ``markdown_path`` when given."""
    for name, value in flatten(results).items():
        print(f"{name:48} {_cell(value)}")
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(results, indent=2) + "\n")
    if markdown_path:
        markdown_path.parent.mkdir(parents=True, exist_ok=True)
        markdown_path.write_text(markdown(title, results))
