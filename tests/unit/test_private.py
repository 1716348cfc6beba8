"""Sluice's files and environments are private: a 0700 state directory, 0600 files, no master key for gateways."""

from __future__ import annotations

import base64
import os
import stat

import pytest

from sluice import private
from sluice.settings import Secret, load_settings
from sluice.local.topology import child_env


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_state_directory_is_0700_whatever_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        assert private.secure_dir(tmp_path / "a" / "state") is None
    finally:
        os.umask(old)
    assert mode(tmp_path / "a" / "state") == 0o700


def test_an_open_state_directory_is_brought_back_to_0700_and_says_what_it_was(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    state.chmod(0o755)
    assert private.secure_dir(state) == 0o755
    assert mode(state) == 0o700
    assert private.secure_dir(state) is None  # already right: nothing to report


def test_a_state_path_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "state").write_text("")
    with pytest.raises(private.StateDirError, match="not a directory"):
        private.secure_dir(tmp_path / "state")


def test_private_files_are_0600_even_when_they_existed_open(tmp_path):
    path = tmp_path / "broker.log"
    path.write_text("old\n")
    path.chmod(0o644)
    with os.fdopen(private.open_private(path, append=True), "a") as fh:
        fh.write("new\n")
    assert mode(path) == 0o600 and path.read_text() == "old\nnew\n"
    private.write_text(tmp_path / "broker.pid", "42")
    assert mode(tmp_path / "broker.pid") == 0o600


def test_programs_that_are_not_sluice_get_no_sluice_variables():
    env = private.without_settings({"PATH": "/bin", "SLUICE_SECRETS_KEY": "k", "SLUICE_INTERNAL_TOKEN": "t"})
    assert env == {"PATH": "/bin"}


def test_a_gateway_gets_every_setting_but_the_master_key_and_a_worker_gets_them_all(tmp_path):
    master = base64.b64encode(os.urandom(32)).decode()
    settings = load_settings(environ={}, state_dir=tmp_path, secrets_key=master, internal_token="internal-t")
    config = tmp_path / "sluice.toml"
    config.write_text(f'secrets_key = "{master}"\n')
    inherited = {"PATH": "/usr/bin", "SLUICE_SECRETS_KEY": master, "SLUICE_CONFIG": str(config),
                 "SLUICE_API_KEY": "slk_someone"}
    gateway = child_env(settings, "gateway", inherited)
    worker = child_env(settings, "worker", inherited)
    assert master not in "".join(gateway.values())
    assert gateway["PATH"] == "/usr/bin" and gateway["SLUICE_INTERNAL_TOKEN"] == "internal-t"
    assert "SLUICE_CONFIG" not in gateway and "SLUICE_API_KEY" not in gateway
    # What the gateway reads back is everything else, unchanged.
    assert load_settings(gateway) == settings.replace(secrets_key=Secret(""))
    assert worker["SLUICE_SECRETS_KEY"] == master and load_settings(worker) == settings
