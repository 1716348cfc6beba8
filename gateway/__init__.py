"""The HTTP gateway: authenticate, bound, parse, publish to Kafka, answer."""
