from datetime import datetime, timezone

import pytest

from schemas.dialects import decode
from schemas.formats import Format, InvalidBody


def test_astralog_accepts_rfc3339_iso_and_sql_timestamps():
    body = b"""{"logs": [
      {"project_id": "p", "timestamp": "2024-05-31T15:30:45Z", "level": "info", "service": "s", "message": "a"},
      {"project_id": "p", "timestamp": "2024-05-31T18:30:45.250+03:00", "level": "info", "service": "s", "message": "b"},
      {"project_id": "p", "timestamp": "2024-05-31 15:30:45", "level": "info", "service": "s", "message": "c",
       "metadata": {"user_id": 123}}]}"""
    entries = decode(Format.ASTRALOG_DRAIN, body)
    assert [e.message for e in entries] == ["a", "b", "c"]
    assert entries[1].timestamp.astimezone(timezone.utc) == datetime(2024, 5, 31, 15, 30, 45, 250000, tzinfo=timezone.utc)
    assert entries[2].timestamp == datetime(2024, 5, 31, 15, 30, 45)
    assert entries[2].metadata == {"user_id": 123}


def test_missing_field_names_entry_index_and_field():
    body = b'{"logs": [{"timestamp": "2024-03-15T10:22:01Z", "level": "ERROR", "message": "x"}, {"level": "ERROR"}]}'
    with pytest.raises(InvalidBody) as info:
        decode(Format.LOGTRACE_INGEST, body)
    assert info.value.code == "invalid_field"
    assert "message" in info.value.message and "$.logs[1]" in info.value.message


def test_wrong_type_names_path():
    body = b'{"logs": [{"level": "Error", "message": 5}]}'
    with pytest.raises(InvalidBody) as info:
        decode(Format.LOGINFORMANT_BATCH, body)
    assert "$.logs[0].message" in info.value.message


def test_malformed_json_has_its_own_code():
    with pytest.raises(InvalidBody) as info:
        decode(Format.LOGTRACE_INGEST, b'{"logs": [')
    assert info.value.code == "malformed_json"


def test_loginformant_levels_are_the_documented_five():
    for level in ("Debug", "Information", "Warning", "Error", "Fatal"):
        assert decode(Format.LOGINFORMANT_SINGLE, b'{"level": "%s", "message": "m"}' % level.encode())[0].level == level
    with pytest.raises(InvalidBody):
        decode(Format.LOGINFORMANT_SINGLE, b'{"level": "Verbose", "message": "m"}')


def test_loginformant_properties_take_any_json():
    body = b'{"logs": [{"level": "Error", "message": "m", "properties": {"a": null, "b": {"c": [1, 2]}, "d": 1.5}}]}'
    (entry,) = decode(Format.LOGINFORMANT_BATCH, body)
    assert entry.properties == {"a": None, "b": {"c": [1, 2]}, "d": 1.5}
    assert entry.timestamp is None


def test_timestamp_outside_datetime64_range_is_rejected():
    body = b'{"logs": [{"timestamp": "1800-01-01T00:00:00Z", "level": "INFO", "message": "old"}]}'
    with pytest.raises(InvalidBody) as info:
        decode(Format.LOGTRACE_INGEST, body)
    assert "$.logs[0].timestamp" in info.value.message


def test_format_knows_its_dialect():
    assert Format.LOGINFORMANT_SINGLE.dialect == "loginformant"
    assert Format("astralog.drain.v1") is Format.ASTRALOG_DRAIN
