"""Certified metrics as mmengine ``BaseMetric`` subclasses (registered in ``METRICS``)."""
