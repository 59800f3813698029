"""Prefect's temporary server dies with its parent (issue 12, item 7).

``envq run`` / ``envq backfill`` started as real processes, ``kill -9``-ed once their temporary
Prefect API answers: the server process must be gone a few seconds later (before, it lived on 19
times out of 19, holding a port and memory). A configured API is reused, nothing started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG")]
REPO = Path(__file__).resolve().parents[1]


def _server_of(proc: subprocess.Popen, timeout_s: float = 180) -> psutil.Process:
    """The uvicorn child of *proc* once it listens (the temporary API is up)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"envq ended before its server was up: {proc.communicate()}"
        for child in psutil.Process(proc.pid).children(recursive=True):
            try:
                if "uvicorn" in " ".join(child.cmdline()) and any(
                        c.status == psutil.CONN_LISTEN for c in child.net_connections(kind="tcp")):
                    return child
            except psutil.NoSuchProcess:
                continue
        time.sleep(0.2)
    raise AssertionError("no temporary Prefect server appeared")


def _gone(p: psutil.Process, timeout_s: float = 15) -> bool:
    try:
        p.wait(timeout=timeout_s)
        return True
    except psutil.TimeoutExpired:
        return False
    except psutil.NoSuchProcess:
        return True


@pytest.mark.parametrize("command", [
    ["run", "--date", "2026-07-20", "--parts", "water"],
    ["backfill", "2026-07-09", "2026-08-23", "--parts", "water"],
])
def test_kill_9_of_envq_takes_the_temporary_server_with_it(tmp_path, command):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env.update(PREFECT_HOME=str(tmp_path / ".prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    proc = subprocess.Popen([sys.executable, "-m", "envq.cli", *command, "--store", str(tmp_path / "store")],
                            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    server = None
    try:
        server = _server_of(proc)
        port = next(c.laddr.port for c in server.net_connections(kind="tcp") if c.status == psutil.CONN_LISTEN)
        assert proc.poll() is None  # envq still running: the kill below is the test
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        assert _gone(server), f"the temporary Prefect server (pid {server.pid}, port {port}) outlived envq"
    finally:  # never leave a process behind, whatever failed
        if proc.poll() is None:
            proc.kill()
        if server is not None and server.is_running():
            server.kill()


def test_a_finished_run_stops_its_server_and_a_configured_api_is_reused():
    code = ("import os, psutil\n"
            "from flows.cli import prefect_environment\n"
            "prefect_environment()\n"
            "from flows.local_api import local_api\n"
            "with local_api() as url:\n"
            "    kids = [p for p in psutil.Process().children() if 'uvicorn' in ' '.join(p.cmdline())]\n"
            "    assert len(kids) == 1 and url.startswith('http://127.0.0.1:')\n"
            "    os.environ['PREFECT_API_URL'] = url\n"
            "    from prefect.settings import PREFECT_API_URL, temporary_settings\n"
            "    with temporary_settings({PREFECT_API_URL: url}), local_api() as again:\n"
            "        assert again == url and len(psutil.Process().children()) == 1  # reused, none started\n"
            "assert not psutil.pid_exists(kids[0].pid) or kids[0].status() == psutil.STATUS_ZOMBIE\n")
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, timeout=300)


def test_a_run_sends_its_last_logs_before_its_server_stops(tmp_path):
    """The temporary server is stopped only after Prefect's log and event workers have sent what
    they hold: before, they retried against the stopped server at exit for about 70 s ("Error
    logging to API ... All connection attempts failed") and the run's last log lines were lost."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env.update(PREFECT_HOME=str(tmp_path / ".prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    done = subprocess.run([sys.executable, "-m", "envq.cli", "run", "--date", "2019-07-15", "--parts", "air",
                           "--no-maps", "--store", str(tmp_path / "store")],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-2000:]
    assert "# envq nightly 2019-07-13..2019-07-15" in done.stdout   # the run's summary: it ran
    assert "Error logging to API" not in out and "All connection attempts failed" not in out, out[-1500:]
