"""`sluice query` / `sluice tail` take an API key from a file, stdin or SLUICE_API_KEY, never from argv."""

from __future__ import annotations

import io

import pytest

from sluice import cli
from sluice.search_cli import ScopeError, api_key


@pytest.mark.parametrize("command", ["query", "tail"])
def test_a_key_on_the_command_line_is_refused_without_being_echoed(command, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.parser().parse_args([command, "--key", "slk_visible_to_ps", "level:ERROR"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "SLUICE_API_KEY" in err and "--key-file" in err and "slk_visible_to_ps" not in err


def test_the_key_comes_from_sluice_api_key(monkeypatch):
    monkeypatch.setenv("SLUICE_API_KEY", "slk_from_env")
    assert api_key(cli.parser().parse_args(["query", "level:ERROR"])) == "slk_from_env"
    monkeypatch.delenv("SLUICE_API_KEY")
    assert api_key(cli.parser().parse_args(["query"])) == ""  # an operator's search


def test_a_key_file_wins_over_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SLUICE_API_KEY", "slk_from_env")
    (tmp_path / "key").write_text("slk_from_file\n")
    assert api_key(cli.parser().parse_args(["tail", "--key-file", str(tmp_path / "key")])) == "slk_from_file"


def test_a_key_file_of_dash_is_stdin(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("slk_from_stdin\n"))
    assert api_key(cli.parser().parse_args(["query", "--key-file", "-"])) == "slk_from_stdin"


@pytest.mark.parametrize("content", ["", "\n", "slk_a\nslk_b\n"])
def test_a_key_file_holds_one_key_on_one_line(tmp_path, content):
    (tmp_path / "key").write_text(content)
    with pytest.raises(ScopeError, match="the API key alone, on one line"):
        api_key(cli.parser().parse_args(["query", "--key-file", str(tmp_path / "key")]))


def test_a_missing_key_file_says_so(tmp_path):
    with pytest.raises(ScopeError, match="cannot read the API key from .*: No such file"):
        api_key(cli.parser().parse_args(["query", "--key-file", str(tmp_path / "absent")]))
