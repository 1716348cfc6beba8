"""The LogTrace query language (KQL-style) and its translation to parameterized ClickHouse SQL."""
