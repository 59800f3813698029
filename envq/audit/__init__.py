"""The audit (reconciliation) of published figures: envq's against the publisher's.

:func:`audit_air` compares envq's hourly AQI, category and primary pollutant with what the CNEMC
feed published for every station-hour; :func:`audit_water` envq's GB 3838 class with the
platform's ``水质类别`` for every reading. Each disagreement carries a reason from one vocabulary
(:data:`REASONS`). The command line is ``envq audit air|water FILE... --output OUT.csv``
(:mod:`envq.audit.cli`); the nightly run audits what it pulls and stores the disagreements.
"""

from envq.audit.air import AIR_COLUMNS, AuditResult, audit_air, concat_results
from envq.audit.reasons import REASONS, UNEXPLAINED, reason_table
from envq.audit.water import WATER_COLUMNS, audit_water, manual_readings

__all__ = ["AuditResult", "audit_air", "audit_water", "manual_readings", "concat_results", "AIR_COLUMNS", "WATER_COLUMNS",
           "REASONS", "UNEXPLAINED", "reason_table"]
