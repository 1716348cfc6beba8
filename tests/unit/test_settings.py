"""Behaviour the settings object derives from its fields."""

from sluice.settings import Settings


def test_a_worker_retry_waits_longer_each_time_up_to_the_cap():
    settings = Settings(insert_retry_max_backoff_s=1.0)
    assert [settings.retry_delay_s(n) for n in range(1, 7)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
