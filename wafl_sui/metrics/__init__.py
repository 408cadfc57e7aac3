"""Metrics of WaFL tasks: an SQLite store (`store`), read queries (`query`), static reports
(`report`) and a live local dashboard (`dashboard`)."""

from wafl_sui.metrics.store import MetricsError, MetricsStore, metrics_path

__all__ = ["MetricsError", "MetricsStore", "metrics_path"]
