"""Builders of triplet TFRecords (official format) for the FILM benchmarks and for any videos."""
