"""Sluice: self-hosted log ingestion on Kafka and ClickHouse."""

__version__ = "0.1.0"
