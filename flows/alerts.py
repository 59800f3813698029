"""Warnings, the audit and their delivery in the nightly run: thin steps over the library.

The flow calls, for each part it pulls, :func:`audit` (task: :func:`envq.audit.results.audit_pulled`
on what was pulled), then, once the results are written and still under the store's lock,
:func:`publish_alerts`: it stores the audit (``audit_air``, ``audit_water``, ``audit_days`` by
month, re-audited days replaced) and the day's warnings (task :func:`warnings`:
:func:`envq.alerts.day_warnings`; ``warnings/<day>``, the parts run replacing theirs), publishes
the artifacts ``envq-warnings`` and ``envq-audit``, and sends one message per ``[[alerts]]``
channel (:mod:`envq.alerts.delivery`). A channel that fails is retried and then reported in the
run-health report (:meth:`AlertsOutcome.health_rows`); it never fails the run, and the warnings
stay stored and published whatever the channels do.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
from prefect import get_run_logger, task

__all__ = ["audit", "warnings", "publish_alerts", "AlertsOutcome", "check_alerts_config"]


@task(name="audit", persist_result=False, cache_policy=None)
def audit(part: str, payloads, data, start: dt.date, end: dt.date):
    """envq's figures against the published ones in what was pulled (``envq.audit``)."""
    from envq.audit.results import audit_pulled

    r = audit_pulled(part, payloads, data, start, end)
    if r is not None:
        get_run_logger().info("audit %s %s..%s: %s", part, start, end, r.line())
    return r


def _settings(config: dict | None = None):
    """(config, thresholds, channels, base_url) from envq.toml; errors as InputError."""
    from envq.alerts.delivery import channels_from_config
    from envq.alerts.model import Thresholds
    from envq.config import config_path, load_config

    conf = load_config() if config is None else config
    file = str(config_path() or "envq.toml")
    th = Thresholds.from_config(conf.get("warnings"), file=file)
    channels = channels_from_config(conf, file=file)
    return conf, th, channels, (conf.get("maps") or {}).get("base_url")


def check_alerts_config(config: dict) -> None:
    """Check ``[warnings]``, ``[[alerts]]`` and ``[store] wait_minutes`` before a run starts
    (raises InputError or ValueError with the key)."""
    from flows.queue import wait_seconds

    _settings(config)
    wait_seconds(None, config)


@task(name="warnings", persist_result=False, cache_policy=None)
def warnings(store_root: str, day: dt.date, parts: list[str]):
    """The day's warnings from what the store holds (``envq.alerts.day_warnings``)."""
    from envq.alerts import day_warnings
    from envq.store import Store

    _, th, _, _ = _settings()
    return day_warnings(Store(store_root, create=False), day, parts=parts, thresholds=th)


@dataclasses.dataclass
class AlertsOutcome:
    """What the alerts step of a run did."""

    day: str
    warnings: pd.DataFrame
    warnings_md: str
    audit_md: str
    audit_lines: list[str]
    deliveries: list = dataclasses.field(default_factory=list)
    written: list[str] = dataclasses.field(default_factory=list)
    error: str = ""

    def health_rows(self) -> pd.DataFrame:
        """Rows for the run-health report (``kind, subject, detail, count``): failed channels and a
        failure of the alerts step itself."""
        rows = [("alert_delivery_failed", d.channel, f"after {d.attempts} attempt(s): {d.error}", d.warnings)
                for d in self.deliveries if not d.ok]
        if self.error:
            rows.append(("failed", "alerts", self.error, 1))
        return pd.DataFrame(rows, columns=["kind", "subject", "detail", "count"])

    def text(self) -> str:
        """What ``envq run|backfill`` prints after the headline."""
        counts = self.warnings["severity"].value_counts() if len(self.warnings) else pd.Series(dtype=int)
        head = (f"Warnings {self.day}: " + ", ".join(f"{int(counts.get(s, 0))} {s}" for s in ("critical", "warning", "info"))
                if len(self.warnings) else f"Warnings {self.day}: none")
        out = [self.warnings_md.rstrip() if len(self.warnings) else head]
        out += [f"Audit: {line}" for line in self.audit_lines]
        for d in self.deliveries:
            if d.skipped:
                out.append(f"Delivery {d.channel}: nothing for this channel")
            else:
                out.append(f"Delivery {d.channel}: " + ("sent" if d.ok else "FAILED") + f" ({d.warnings} warning(s), "
                           f"{d.attempts} attempt(s))" + (f": {d.error}" if d.error else ""))
        if self.error:
            out.append(f"Alerts step failed: {self.error}")
        return "\n".join(out) + "\n"


def _store_audits(store, results) -> tuple[list[str], pd.DataFrame, dict]:
    from envq.audit import results as ar
    from envq.store.errors import StoreError

    def read(name, month):
        try:
            return store.read_result(name, month)
        except StoreError:
            return None

    written = [str(store.write_result(name, month, df)) for name, month, df in ar.updates(results, read)]
    tabs = ar.tables(results)
    return written, tabs.get("audit_days", pd.DataFrame()), {p: tabs[f"audit_{p}"] for p in ("air", "water")
                                                             if f"audit_{p}" in tabs}


def publish_alerts(store, *, day: dt.date, parts, audits: list, warnings_future=None, label: str = "",
                   config: dict | None = None, artifacts: bool = True) -> AlertsOutcome:
    """Store the audit and the warnings, publish their artifacts, deliver (module docstring).

    Runs in the flow's process under the store's lock. *audits* are the submitted :func:`audit`
    tasks (or their results); *warnings_future* is the submitted :func:`warnings` task (computed
    after the results were written), or its result. Each step (the audit stored, the warnings
    stored, the artifacts, the delivery) runs whatever the others did; a failure is reported in the
    outcome (and the run-health report), never raised: the run's results are already published.
    """
    from envq.alerts import merge_day, warnings_markdown
    from envq.alerts.delivery import deliver_all
    from envq.audit import concat_results
    from envq.audit.results import markdown as audit_markdown
    from envq.store.errors import StoreError

    log = get_run_logger()
    out = AlertsOutcome(day.isoformat(), pd.DataFrame(), "", "", [])
    errors = []

    def failed(step: str, exc: Exception) -> None:  # reported, never raised; the other steps go on
        errors.append(f"{step}: {type(exc).__name__}: {exc}")
        log.error("alerts step %s failed: %s: %s", step, type(exc).__name__, exc)

    done = []
    for f in audits:  # futures of the audit task (or results); one failing audit loses no other
        try:
            done.append(f.result() if hasattr(f, "result") else f)
        except Exception as exc:
            failed("audit", exc)
    audits = done
    try:
        conf, _, channels, base_url = _settings(config)
    except Exception as exc:  # checked before the run started; here only if envq.toml changed since
        failed("configuration", exc)
        channels, base_url = [], None
    try:  # the audit: stored, summed up
        for part in ("air", "water"):
            mine = [r for r in audits if r is not None and r.part == part]
            if mine:
                out.audit_lines.append(concat_results(mine).line("空气 AQI air" if part == "air" else "地表水 class water"))
        written, days, dis = _store_audits(store, audits)
        out.written += written
        out.audit_md = audit_markdown(days, dis, label=label)
    except Exception as exc:
        failed("audit", exc)
    try:  # the warnings: stored whatever the audit did
        w = pd.DataFrame() if warnings_future is None else (
            warnings_future.result() if hasattr(warnings_future, "result") else warnings_future)
        out.warnings = w
        out.warnings_md = warnings_markdown(w, day=out.day, label=label)
        try:
            old = store.read_result("warnings", out.day)
        except StoreError:
            old = None
        stored = merge_day(old, w, parts)
        if len(stored):
            out.written.append(str(store.write_result("warnings", out.day, stored)))
    except Exception as exc:
        failed("warnings", exc)
    if artifacts:
        try:
            from prefect.artifacts import create_markdown_artifact

            create_markdown_artifact(key="envq-warnings", markdown=out.warnings_md,
                                     description=f"envq {label}: warnings of {out.day}")
            create_markdown_artifact(key="envq-audit", markdown=out.audit_md,
                                     description=f"envq {label}: published figures audited")
        except Exception as exc:
            failed("artifacts", exc)
    try:  # delivery: whatever failed above, the warnings there are are sent
        context = f"{label}".strip()
        extra = [f"审核 audit：{line}" for line in out.audit_lines]
        out.deliveries = deliver_all(out.warnings, channels, day=out.day, base_url=base_url, context=context,
                                     extra=extra)
        for d in out.deliveries:
            (log.info if d.ok else log.error)("alerts %s: %s", d.channel,
                                              "nothing to send" if d.skipped else "sent" if d.ok else d.error)
    except Exception as exc:
        failed("delivery", exc)
    out.error = "; ".join(errors)
    return out
