"""The layers hold: pyproject.toml's import contracts (import-linter) pass on the tree, and each one catches
the import it forbids."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]

# Imports that break each contract, by its id: (importing module, imported module).
VIOLATIONS = {
    "services-independent": [("gateway.app", "workers.app")],
    "schemas-bottom": [("schemas.envelope", "sluice.settings")],
    "core-below-services": [("sluice.settings", "gateway.app")],
    "product-not-bench-or-tests": [("workers.app", "tests.support")],
    "bench-not-tests": [("bench.harness", "tests.support")],
    "runtime-not-local": [("sluice.storage", "sluice.local.kafka")],
    "no-cycles": [("gateway.ratelimit", "gateway.ratelimit_redis"), ("gateway.ratelimit_redis", "gateway.ratelimit")],
}


def lint(cwd: Path) -> subprocess.CompletedProcess:
    """lint-imports with pyproject.toml's contracts on the packages under ``cwd``."""
    run = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True, no_logo=True))"
    return subprocess.run([sys.executable, "-c", run], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_the_tree_keeps_every_layer_contract():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    for contract in CONFIG["contracts"]:
        assert f"{contract['name']} KEPT" in result.stdout


def test_each_contract_catches_the_import_it_forbids(tmp_path):
    """A tree of empty modules with one forbidden import per contract: every contract reports BROKEN."""
    assert set(VIOLATIONS) == {contract["id"] for contract in CONFIG["contracts"]}, "a contract without a case"
    pairs = [pair for case in VIOLATIONS.values() for pair in case]
    modules = {name for pair in pairs for name in pair} | {"sluice.cli", "sluice.local.topology"}
    imports: dict[str, list[str]] = {name: [] for name in modules}
    for importer, imported in pairs:
        imports[importer].append(imported)
    imports["sluice.cli"].append("sluice.local.topology")  # the one allowed door, as in the real tree
    for name in modules:
        parts = name.split(".")
        for depth in range(1, len(parts)):
            package = tmp_path.joinpath(*parts[:depth])
            package.mkdir(exist_ok=True)
            (package / "__init__.py").touch()
        tmp_path.joinpath(*parts[:-1], parts[-1] + ".py").write_text("".join(f"import {m}\n" for m in imports[name]))
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    result = lint(tmp_path)
    assert result.returncode != 0
    for contract in CONFIG["contracts"]:
        assert f"{contract['name']} BROKEN" in result.stdout, result.stdout + result.stderr
