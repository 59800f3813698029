"""Queue, don't collide: runs started together against one store wait their turn (flows.queue).

Each case runs real ``envq backfill`` processes. A store already in use (the test holds it, as a
manual backfill would) makes both runs wait; then one runs while the other keeps waiting, and
both finish with everything stored. Serverless: each process starts its own temporary Prefect
API with its own ``PREFECT_HOME`` (as cron and a shell would), and the runs queue on the store's
lock. Served: a real ``prefect server``; the runs queue on the store's global concurrency limit.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from envq.store import Store

pytestmark = pytest.mark.slow

START_TIMEOUT_S = 400.0  # a run's temporary Prefect API starts in 5-12 s, much longer on a loaded machine
RUNS = {"water": ("2026-07-09", "2026-07-12"), "air": ("2019-07-01", "2019-07-03")}


def _envq() -> list[str]:
    exe = Path(sys.executable).with_name("envq")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "envq.cli"]


def _env(home: Path, api_url: str | None = None) -> dict[str, str]:
    env = dict(os.environ, PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1",
               PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="240", PREFECT_UI_ENABLED="false")
    for var in ("PREFECT_API_URL", "PREFECT_API_KEY", "PREFECT_PROFILE", "ENVQ_CONFIG"):
        env.pop(var, None)
    for var in [v for v in env if v.startswith("PREFECT_LOGGING_HANDLERS_")]:  # the runs' logs are read
        env.pop(var)
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return env


def _start(part: str, store: Path, tmp: Path, api_url: str | None, wait: str | None = None):
    start, end = RUNS[part]
    log = tmp / f"{part}.log"
    cmd = [*_envq(), "backfill", start, end, "--parts", part, "--store", str(store), "--no-maps"]
    if wait is not None:
        cmd += ["--wait", wait]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=tmp, env=_env(tmp / f".prefect-{part}", api_url), stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT)
    return proc, log


def _until_both_wait(procs, text: str) -> None:
    """Keep the store in use until both runs say they wait for it (or one has ended)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        logs = [log.read_text(encoding="utf-8", errors="replace") for _, log in procs.values()]
        if all(text in t for t in logs) or any(p.poll() is not None for p, _ in procs.values()):
            return
        time.sleep(0.5)


def _finish(procs, timeout_s=900):
    codes = {}
    for part, (proc, log) in procs.items():
        try:
            codes[part] = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            codes[part] = None
    return codes, {part: log.read_text(encoding="utf-8", errors="replace") for part, (_, log) in procs.items()}


def _check_both_ran_one_after_the_other(store_root: Path, released_at: float):
    store = Store(store_root, create=False)
    rev = store.revisions()
    spans = rev.groupby("kind")["recorded"].agg(["min", "max"])
    assert set(spans.index) == {"air", "water"}  # nothing lost: both runs stored their data
    first, second = spans.sort_values("min").index
    assert spans.loc[first, "max"] <= spans.loc[second, "min"]  # never at the same time
    assert spans["min"].min().timestamp() >= released_at - 1  # both waited for the store
    assert len(store.read_result("water_rates", "2026-07")) and len(store.read_result("air_rates", "2019-07"))
    assert set(store.read_result("audit_days", "2026-07")["part"]) == {"water"}
    assert len(store.read_result("warnings", "2026-07-12")) and len(store.read_result("warnings", "2019-07-03"))


def test_two_serverless_runs_started_together_queue_on_the_store(tmp_path):
    root = tmp_path / "store"
    store = Store(root)
    with store.lock(run_id="manual backfill"):
        procs = {part: _start(part, root, tmp_path, None) for part in RUNS}
        _until_both_wait(procs, "waiting up to 180 min")
        released_at = time.time()
    codes, logs = _finish(procs)
    assert codes == {"water": 0, "air": 0}, logs
    for part, text in logs.items():
        assert "the store is locked by another writer" in text and "waiting up to 180 min" in text, text[-3000:]
    _check_both_ran_one_after_the_other(root, released_at)


def test_the_wait_runs_out_exit_4(tmp_path):
    root = tmp_path / "store"
    store = Store(root)
    with store.lock(run_id="manual backfill"):
        proc, log = _start("water", root, tmp_path, None, wait="0.05")
        code = proc.wait(timeout=600)
    text = log.read_text(encoding="utf-8", errors="replace")
    assert code == 4, text[-3000:]
    assert "manual backfill" in text and "--wait MINUTES" in text


@pytest.fixture
def prefect_server(tmp_path):
    from flows.serve import start_server, stop_process

    port = next(iter(_free_ports(1)))
    old = {k: os.environ.get(k) for k in ("PREFECT_HOME", "PREFECT_API_URL")}
    os.environ["PREFECT_HOME"] = str(tmp_path / ".prefect-server")
    os.environ.pop("PREFECT_API_URL", None)
    try:
        proc, url = start_server(port)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    try:
        yield url
    finally:
        stop_process(proc)


def _free_ports(n):
    import socket

    out = []
    for _ in range(n):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            out.append(s.getsockname()[1])
    return out


def test_two_served_runs_started_together_queue_on_the_global_concurrency_limit(tmp_path, prefect_server,
                                                                                monkeypatch):
    from prefect.client.orchestration import get_client
    from prefect.concurrency.sync import concurrency

    from flows.queue import LEASE_SECONDS, limit_name

    root = tmp_path / "store"
    Store(root)
    name = limit_name(root)
    monkeypatch.setenv("PREFECT_API_URL", prefect_server)
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: prefect_server}):
        with get_client(sync_client=True) as client:
            client.upsert_global_concurrency_limit_by_name(name, 1)
        with concurrency(name, occupy=1, lease_duration=LEASE_SECONDS, strict=True):  # a run holds the store
            procs = {part: _start(part, root, tmp_path, prefect_server) for part in RUNS}
            _until_both_wait(procs, f"queued on the global concurrency limit {name}")
            released_at = time.time()
        codes, logs = _finish(procs)
        with get_client(sync_client=True) as client:
            limit = client.read_global_concurrency_limit_by_name(name)
    assert codes == {"water": 0, "air": 0}, logs
    for part, text in logs.items():
        assert f"queued on the global concurrency limit {name}" in text, text[-3000:]
    assert limit.limit == 1 and limit.active_slots == 0  # both slots given back
    _check_both_ran_one_after_the_other(root, released_at)
