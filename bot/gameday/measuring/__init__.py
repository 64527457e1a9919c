"""Measuring and reporting: metrics, evidence, the debrief's report, trends, alerts, redaction."""
