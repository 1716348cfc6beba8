"""The workers: decode → normalize → batch → insert into ClickHouse → commit offsets."""
