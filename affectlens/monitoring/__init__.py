"""Drift monitoring: ``affectlens monitor`` compares a current window of traffic with a reference window.

Text descriptors, predictions and sentence embeddings are checked with Evidently (the ``monitor`` extra); the
result is an HTML report, a JSON summary and an exit status a scheduled job can act on (0 / 1 drift / 2 error).
"""

from __future__ import annotations

from affectlens.monitoring.checks import CheckResult, DriftThresholds
from affectlens.monitoring.monitor import MonitorConfig, monitor
from affectlens.monitoring.windows import MonitorInputError

__all__ = ["CheckResult", "DriftThresholds", "MonitorConfig", "MonitorInputError", "monitor"]
