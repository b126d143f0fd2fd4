"""Metrics, traces and JSON logs of the mission service."""
