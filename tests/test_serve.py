"""``envq serve`` (issue 5): the deployments and their schedule, registered with a real local
Prefect server; usage errors; the work-pool alternative in ``prefect.yaml``.

The slow tests start ``prefect server start`` on a free port of 127.0.0.1 with their own
``PREFECT_HOME`` (a fresh SQLite database), run ``envq serve`` as a subprocess in its own session,
read the deployments back with the Prefect client, then stop everything: SIGTERM to the serving
process (Prefect's runner shuts down gracefully), then the whole process group, SIGKILL last.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
NIGHTLY, BACKFILL = "envq-nightly/nightly", "envq-backfill/backfill"
SERVER_TIMEOUT_S = 120.0  # a first start migrates a new SQLite database (~20-35 s here)
REGISTER_TIMEOUT_S = 90.0

linux_only = pytest.mark.skipif(not Path("/proc/self/stat").exists(),
                                reason="process-group checks read /proc")


# ------------------------------------------------------------------------------------------
# helpers


def _envq() -> list[str]:
    exe = Path(sys.executable).with_name("envq")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "envq.cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(tmp: Path, api_url: str | None = None) -> dict[str, str]:
    """A clean environment: own PREFECT_HOME, no telemetry, no UI, no inherited server or config."""
    env = dict(os.environ, PREFECT_HOME=str(tmp / ".prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_UI_ENABLED="false", DO_NOT_TRACK="1", ENVQ_HOME=str(tmp / "envq-data"))
    for var in ("PREFECT_API_URL", "PREFECT_API_KEY", "PREFECT_PROFILE", "ENVQ_CONFIG"):
        env.pop(var, None)
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return env


def _popen(cmd: list[str], tmp: Path, env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:  # the child keeps its own descriptor
        return subprocess.Popen(cmd, cwd=tmp, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def _group(pgid: int) -> list[int]:
    """Live (not zombie) processes of the process group *pgid*."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = Path(f"/proc/{d}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # state, ppid, pgrp, ...
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            out.append(int(d))
    return out


def _wait_gone(pgid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while _group(pgid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def _stop(proc: subprocess.Popen, timeout_s: float = 30.0) -> int | None:
    """SIGTERM the leader and wait (graceful); then SIGTERM, then SIGKILL, what is left of its group."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            pass
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if not _group(proc.pid):
            break
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        _wait_gone(proc.pid, 10.0)
    if proc.poll() is None:
        proc.kill()
    return proc.wait(10)


def _tail(log: Path, n: int = 40) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


def _wait_for_deployments(url: str, serving: subprocess.Popen, log: Path) -> dict:
    """Poll the server with the Prefect client until both deployments exist."""
    import httpx
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound
    from prefect.settings import PREFECT_API_URL, temporary_settings

    deadline = time.monotonic() + REGISTER_TIMEOUT_S
    with temporary_settings({PREFECT_API_URL: url}), get_client(sync_client=True) as client:
        while True:
            try:
                return {name: client.read_deployment_by_name(name) for name in (NIGHTLY, BACKFILL)}
            except (ObjectNotFound, httpx.TransportError):
                pass
            if serving.poll() is not None:
                pytest.fail(f"envq serve exited {serving.returncode} before registering:\n{_tail(log)}")
            if time.monotonic() > deadline:
                pytest.fail(f"deployments not registered within {REGISTER_TIMEOUT_S:.0f} s:\n{_tail(log)}")
            time.sleep(0.5)


def _check_registered(deps: dict, cron: str) -> None:
    nightly, backfill = deps[NIGHTLY], deps[BACKFILL]
    assert len(nightly.schedules) == 1, nightly.schedules
    sched = nightly.schedules[0]
    assert sched.schedule.cron == cron
    assert sched.schedule.timezone == "Asia/Shanghai"
    assert sched.active is True
    assert not nightly.paused
    assert backfill.schedules == []
    for dep in (nightly, backfill):
        assert "envq" in dep.tags, dep.tags
        assert dep.entrypoint.replace("\\", "/").endswith(f"flows/pipeline.py:{dep.name}")


# ------------------------------------------------------------------------------------------
# a server started by the test, served by `envq serve --cron`


@pytest.fixture
def prefect_server(tmp_path):
    """``prefect server start`` on a free port; yields its API URL; stopped (group killed) after."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    log = tmp_path / "server.log"
    proc = _popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                  tmp_path, _env(tmp_path), log)
    try:
        from flows.serve import wait_for_server

        try:
            wait_for_server(url, timeout_s=SERVER_TIMEOUT_S)
        except TimeoutError as exc:
            pytest.fail(f"{exc} (exit {proc.poll()}):\n{_tail(log)}")
        yield url
    finally:
        _stop(proc)
        assert not _group(proc.pid), f"server processes left: {_group(proc.pid)}"


@pytest.mark.slow
@linux_only
def test_serve_registers_deployments_and_schedule(prefect_server, tmp_path):
    t0 = time.monotonic()
    log = tmp_path / "serve.log"
    serving = _popen([*_envq(), "serve", "--cron", "30 3 * * *"], tmp_path, _env(tmp_path, prefect_server), log)
    try:
        deps = _wait_for_deployments(prefect_server, serving, log)
        _check_registered(deps, "30 3 * * *")
        print(f"registered {time.monotonic() - t0:.1f} s after `envq serve` started")
        assert "envq: serving envq-nightly/nightly (cron '30 3 * * *', Asia/Shanghai)" in log.read_text()
    finally:
        rc = _stop(serving)
    assert rc == 0, f"envq serve exited {rc} on SIGTERM:\n{_tail(log)}"
    assert not _group(serving.pid)


# ------------------------------------------------------------------------------------------
# `envq serve --start-server`: its own server, stopped with it


@pytest.mark.slow
@linux_only
def test_serve_start_server_registers_and_stops_its_server(tmp_path):
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    log = tmp_path / "serve.log"
    serving = _popen([*_envq(), "serve", "--start-server", "--port", str(port)], tmp_path, _env(tmp_path), log)
    try:
        deps = _wait_for_deployments(url, serving, log)
        _check_registered(deps, "0 2 * * *")  # the default: 02:00 Asia/Shanghai
        children = [p for p in _group(serving.pid) if p != serving.pid]
        assert children, "no server child in the process group of envq serve"
        assert f"envq: Prefect server started at {url}" in log.read_text()
        # a graceful stop of envq serve alone must take its server down with it
        serving.send_signal(signal.SIGTERM)
        rc = serving.wait(60)
        assert rc == 0, f"envq serve exited {rc} on SIGTERM:\n{_tail(log)}"
        assert _wait_gone(serving.pid, 10.0), f"server left running: {_group(serving.pid)}\n{_tail(log)}"
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0, "the port still answers"
    finally:
        _stop(serving)
        assert not _group(serving.pid)


# ------------------------------------------------------------------------------------------
# usage errors (no server)


@pytest.mark.parametrize("args, needles", [
    ([], ["schedules need a Prefect server", "`prefect server start`", "PREFECT_API_URL", "--start-server"]),
    # a usage error (envq.errors.UsageError, exit 2), saying which setting is wrong
    (["--cron", "0 25 * * *"], ["envq: bad schedule", "schedule '0 25 * * *'", "Invalid cron string"]),
    (["--timezone", "Mars/Olympus"], ["envq: bad schedule", "'Mars/Olympus'", "Invalid timezone"]),
])
def test_serve_usage_errors_exit_2(tmp_path, args, needles):
    r = subprocess.run([*_envq(), "serve", *args], cwd=tmp_path, env=_env(tmp_path), capture_output=True,
                       text=True, timeout=120, start_new_session=True)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    for needle in needles:
        assert needle in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def test_invalid_cron_is_checked_before_a_server_is_started(tmp_path):
    """``--start-server`` with a bad schedule fails at once, without starting anything."""
    r = subprocess.run([*_envq(), "serve", "--start-server", "--port", str(_free_port()), "--cron", "0 25 * * *"],
                       cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True, timeout=120,
                       start_new_session=True)
    assert r.returncode == 2, r.stderr
    assert "Invalid cron string" in r.stderr and "server started" not in r.stderr


# ------------------------------------------------------------------------------------------
# the deployments as built (no server) and prefect.yaml


def test_deployment_objects():
    from flows.serve import DEFAULT_CRON, DEFAULT_TIMEZONE, deployments

    assert (DEFAULT_CRON, DEFAULT_TIMEZONE) == ("0 2 * * *", "Asia/Shanghai")
    nightly, backfill = deployments("30 3 * * *", "Asia/Shanghai", store_root="/srv/envq")
    assert (nightly.flow_name, nightly.name) == ("envq-nightly", "nightly")
    assert (backfill.flow_name, backfill.name) == ("envq-backfill", "backfill")
    [sched] = nightly.schedules
    assert (sched.schedule.cron, sched.schedule.timezone) == ("30 3 * * *", "Asia/Shanghai")
    assert backfill.schedules == []
    assert nightly.parameters == backfill.parameters == {"store_root": "/srv/envq"}
    assert nightly.tags == backfill.tags == ["envq"]


def test_prefect_yaml_entrypoints_are_the_flows():
    from prefect import Flow

    import flows.pipeline as pipeline
    from flows.serve import DEFAULT_CRON, DEFAULT_TIMEZONE

    spec = yaml.safe_load((REPO / "prefect.yaml").read_text())
    deps = {d["name"]: d for d in spec["deployments"]}
    assert set(deps) == {"nightly", "backfill"}
    for name, dep in deps.items():
        path, attr = dep["entrypoint"].split(":")
        assert (REPO / path).is_file(), path
        assert path == "flows/pipeline.py"
        fl = getattr(pipeline, attr)
        assert isinstance(fl, Flow)
        assert fl.name == f"envq-{name}"
        assert "envq" in dep["tags"]
        assert dep["work_pool"]["name"] == "envq-local"
    [sched] = deps["nightly"]["schedules"]
    assert (sched["cron"], sched["timezone"]) == (DEFAULT_CRON, DEFAULT_TIMEZONE)
    assert not deps["backfill"].get("schedules")
