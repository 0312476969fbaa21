"""The sample-data generator: canonical CSV deliveries (and vendor-format samples) for the demo,
the tests and the benchmark."""
