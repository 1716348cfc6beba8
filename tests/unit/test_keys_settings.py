import pytest

from schemas import registry as records
from schemas.registry import TenantRecord
from sluice.keys import Registry, hash_key, new_key, validate_tenant_name
from sluice.settings import Secret, load_settings


def test_new_key_is_stored_only_as_its_hash():
    key, record = new_key("acme")
    assert key.startswith("slk_") and len(key) > 40
    assert record.key_hash == hash_key(key) and key not in records.encode(record).decode()


def test_registry_authenticates_until_revoked():
    registry = Registry()
    key, record = new_key("acme")
    registry.apply(records.decode(records.encode(TenantRecord("acme", "t"))))
    registry.apply(records.decode(records.encode(record)))
    assert registry.authenticate(key).tenant == "acme"
    assert registry.authenticate(key + "x") is None
    assert registry.authenticate("") is None
    revoked = records.decode(records.encode(record.__class__(**{**{f: getattr(record, f) for f in record.__struct_fields__}, "revoked_at": "now"})))
    registry.apply(revoked)
    assert registry.authenticate(key) is None
    assert registry.keys[record.key_id].revoked_at == "now"


def test_tenant_names_are_validated():
    assert validate_tenant_name("acme-1") == "acme-1"
    for bad in ("", "Acme", "a b", "-x", "x" * 64):
        with pytest.raises(ValueError):
            validate_tenant_name(bad)


def test_settings_precedence_and_types(tmp_path):
    config = tmp_path / "sluice.toml"
    config.write_text('gateway_port = 9000\nretention_days = 7\n')
    s = load_settings({"SLUICE_CONFIG": str(config), "SLUICE_GATEWAY_PORT": "9100", "SLUICE_LOCAL_BROKER": "false"})
    assert (s.gateway_port, s.retention_days, s.local_broker) == (9100, 7, False)
    assert load_settings({}, gateway_port=1).gateway_port == 1
    with pytest.raises(ValueError, match="expected int"):
        load_settings({"SLUICE_GATEWAY_PORT": "eighty"})
    with pytest.raises(ValueError, match="unknown settings"):
        load_settings({}, nope=1)


def test_secret_settings_are_masked():
    s = load_settings({"SLUICE_CLICKHOUSE_URL": "http://u:hunter2@ch:8123"})
    assert "hunter2" not in repr(s)
    assert isinstance(s.clickhouse_url, Secret) and s.clickhouse_dsn.endswith("ch:8123")
    assert load_settings({}).clickhouse_dsn.startswith("chdb:///")


def test_query_results_render_as_table_json_and_csv():
    from sluice.search_cli import render

    records = [{"timestamp": "2026-11-23T10:00:00.000000000Z", "level": "ERROR", "service": "api",
                "message": "boom, \"quoted\""}]
    table = render(records, "table").splitlines()
    assert table[0].split() == ["TIMESTAMP", "LEVEL", "SERVICE", "MESSAGE"]
    assert table[1].endswith('boom, "quoted"') and "ERROR" in table[1]
    assert render(records, "json") == '{"timestamp": "2026-11-23T10:00:00.000000000Z", "level": "ERROR", "service": "api", "message": "boom, \\"quoted\\""}'
    assert render(records, "csv").splitlines()[1] == '2026-11-23T10:00:00.000000000Z,ERROR,api,"boom, ""quoted"""'


def test_relative_times_may_follow_their_option_as_separate_words():
    from sluice.cli import _glue_relative_times

    assert _glue_relative_times(["query", "level:ERROR", "--from", "-24h", "--to", "-1h", "--limit", "5"]) == [
        "query", "level:ERROR", "--from=-24h", "--to=-1h", "--limit", "5"]


async def test_kafka_compression_is_checked_and_none_means_uncompressed():
    from sluice.kafka.clients import producer

    assert producer(load_settings({"SLUICE_KAFKA_COMPRESSION": "none"}))._compression_type is None
    assert producer(load_settings({}))._compression_type == "snappy"
    with pytest.raises(ValueError, match="kafka_compression: expected one of none, gzip, snappy, lz4, zstd, got 'brotli'"):
        producer(load_settings({"SLUICE_KAFKA_COMPRESSION": "brotli"}))


def test_expiries_are_durations_or_future_instants_at_most_ten_years_ahead():
    from sluice.keys import expires_at

    now = 1_800_000_000.0  # 2027-01-15T08:00:00Z
    assert expires_at("90m", now=now) == "2027-01-15T09:30:00+00:00"
    assert expires_at("3653d", now=now) == "2037-01-15T08:00:00+00:00"
    assert expires_at("2030-01-01T00:00:00Z", now=now) == "2030-01-01T00:00:00Z"
    assert expires_at(None) is None and expires_at("") is None
    for bad in ("3654d", "0m", "99999999999999999999d", "2026-01-01T00:00:00Z", "2040-01-01T00:00:00Z",
                "2030-01-01T00:00:00", "soon", "5w", "\u0661d"):
        with pytest.raises(ValueError):
            expires_at(bad, now=now)


def test_live_keys_are_counted_per_tenant_across_environments():
    registry = Registry()
    for tenant, kw in (("acme", {}), ("acme", {"environment": "staging"}), ("rival", {}),
                       ("acme", {"expires_at": "2027-01-01T00:00:00Z"})):
        registry.apply(new_key(tenant, **kw)[1])
    _, revoked = new_key("acme")
    registry.apply(revoked)
    registry.apply(revoked.__class__(**{**{f: getattr(revoked, f) for f in revoked.__struct_fields__},
                                        "revoked_at": "now"}))
    assert registry.active_keys("acme", now=1_700_000_000) == 3
    assert registry.active_keys("acme", now=1_800_000_000) == 2  # the expiring one has expired
    assert registry.active_keys("rival") == 1 and registry.active_keys("nobody") == 0
