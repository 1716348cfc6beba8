"""``sluice gateway`` / ``sluice worker`` find their service by entry point (sluice/launcher.py)."""

from __future__ import annotations

import gateway.server
import workers.main
from sluice import launcher
from sluice.cli import parser
from sluice.settings import load_settings


def test_the_installed_entry_points_name_the_gateway_and_the_worker():
    assert launcher.find("gateway") is gateway.server.serve
    assert launcher.find("worker") is workers.main.run


def test_the_cli_runs_each_service_by_its_own_name():
    for role in ("gateway", "worker"):
        args = parser().parse_args([role])
        assert args.fn.__name__ == "_cmd_service" and args.command == role


def test_a_service_without_an_entry_point_is_a_clear_error_not_a_traceback(capsys, monkeypatch):
    monkeypatch.setattr(launcher.lean, "keep_out", lambda: None)  # this process's imports stay as they are
    assert launcher.run("nosuch", load_settings({})) == launcher.EXIT_NOT_INSTALLED
    err = capsys.readouterr().err
    assert "'nosuch'" in err and launcher.GROUP in err and "pip install -e ." in err


def test_the_service_gets_the_settings_and_its_status_is_the_exit_status(monkeypatch):
    settings = load_settings({}, log_level="WARNING")
    seen = []
    monkeypatch.setattr(launcher.logs, "setup", lambda level: seen.append(("logs", level)))
    monkeypatch.setattr(launcher.lean, "keep_out", lambda: seen.append("kept out"))
    for status, expected in ((None, 0), (0, 0), (2, 2)):
        monkeypatch.setattr(launcher, "find", lambda name, status=status: seen.append("found") or (
            lambda s: seen.append((name, s)) or status))
        assert launcher.run("worker", settings) == expected
    # What the services never use is kept out before the service's modules are loaded.
    assert seen == ["kept out", "found", ("logs", "WARNING"), ("worker", settings)] * 3
