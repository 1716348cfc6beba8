"""Sluice's Python SDK: ``Client`` to send logs, ``SluiceHandler`` for the logging module."""

from sluice_sdk.client import Client, Stats
from sluice_sdk.handler import SluiceHandler

__all__ = ["Client", "SluiceHandler", "Stats"]
