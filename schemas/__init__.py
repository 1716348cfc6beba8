"""Wire formats: what the HTTP dialects send, what travels through Kafka, what ClickHouse stores."""
