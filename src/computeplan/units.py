"""Unit constants shared by the cost models."""

SECONDS_PER_HOUR = 3600.0
