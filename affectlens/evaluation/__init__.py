"""Evaluation: metrics, calibration metrics, reports."""
