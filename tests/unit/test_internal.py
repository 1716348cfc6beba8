"""The worker's internal SQL endpoint: token handling and the system-table guard."""

from __future__ import annotations

import stat

import pytest

from sluice import internal
from sluice.settings import load_settings


def test_token_is_created_once_with_owner_only_mode(tmp_path):
    settings = load_settings(environ={}, state_dir=tmp_path)
    assert internal.token(settings) == ""  # readers never create it
    first = internal.token(settings, create=True)
    assert len(first) >= 40
    assert internal.token(settings, create=True) == first
    assert stat.S_IMODE((tmp_path / "internal.token").stat().st_mode) == 0o600


def test_token_from_settings_wins(tmp_path):
    settings = load_settings(environ={"SLUICE_INTERNAL_TOKEN": "t" * 43}, state_dir=tmp_path)
    assert internal.token(settings, create=True) == "t" * 43
    assert not (tmp_path / "internal.token").exists()
    assert "t" * 43 not in repr(settings)


@pytest.mark.parametrize("header, ok", [
    ("Bearer secret-token", True),
    ("bearer secret-token", True),
    ("Bearer secret-toke", False),
    ("Bearer secret-token2", False),
    ("Basic secret-token", False),
    ("secret-token", False),
    ("", False),
    (None, False),
])
def test_authorized(header, ok):
    assert internal.authorized(header, "secret-token") is ok


def test_no_token_authorizes_nobody():
    assert not internal.authorized("Bearer ", "")


@pytest.mark.parametrize("sql", [
    "SELECT count() FROM sluice.logs",
    "SELECT name, total_bytes FROM system.tables WHERE database = 'sluice'",
    "SELECT sum(bytes_on_disk) FROM system . parts",
    "SELECT * FROM system.one",
])
def test_allowed_statements(sql):
    internal.check(sql)


@pytest.mark.parametrize("sql", [
    "SELECT * FROM system.users",
    "SELECT query FROM system.query_log",
    "SELECT * FROM SYSTEM.settings_profiles",
    "SELECT * FROM system.`grants`",
])
def test_refused_system_tables(sql):
    with pytest.raises(internal.Refused, match="not readable here"):
        internal.check(sql)
