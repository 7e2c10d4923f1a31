"""Operator tools for dead letters: what failed (``leadstream dlq summary``), and sending it
back through the pipeline once the cause is fixed (``leadstream dlq replay``)."""
