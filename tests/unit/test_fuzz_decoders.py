"""The atheris harness (fuzz/decoders.py) run for a fixed time budget: no crash, and it really ran.

``SLUICE_ATHERIS_SECONDS`` sets the budget: a few seconds in ``make test``,
minutes in ``make test-fuzz``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECONDS = int(os.environ.get("SLUICE_ATHERIS_SECONDS", "10"))


def test_decoders_survive_coverage_guided_fuzzing(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "fuzz.decoders", f"-max_total_time={SECONDS}", f"-artifact_prefix={tmp_path}/",
         "-rss_limit_mb=2048", "-print_final_stats=1"],
        cwd=ROOT, capture_output=True, text=True, timeout=SECONDS + 120,
    )
    crashes = sorted(p.name for p in tmp_path.iterdir())
    assert run.returncode == 0 and not crashes, f"{crashes}\n{run.stderr[-3000:]}"
    runs = int(re.search(r"stat::number_of_executed_units:\s+(\d+)", run.stderr).group(1))
    coverage = max(int(c) for c in re.findall(r"cov: (\d+)", run.stderr))
    print(f"\natheris: {runs} inputs in {SECONDS} s, {coverage} edges covered, no crash")
    assert runs > 1000 and coverage > 100
