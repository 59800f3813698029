"""``envq serve``: the nightly and backfill deployments, served on a schedule.

Schedules only run against a Prefect server: ``envq serve --start-server`` starts one on
127.0.0.1 (``prefect server start``, with this project's ``PREFECT_HOME``) and points itself at
it; otherwise set ``PREFECT_API_URL`` to a running server (``prefect server start`` in another
terminal, or a shared one). The nightly deployment runs at 02:00 Asia/Shanghai by default
(``[schedule] cron`` / ``timezone`` in envq.toml, or ``--cron`` / ``--timezone``). For work
pools and workers instead of ``serve``, see ``prefect.yaml``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

__all__ = ["DEFAULT_CRON", "DEFAULT_TIMEZONE", "deployments", "schedule_settings", "start_server",
           "serve_deployments", "wait_for_server"]

DEFAULT_CRON = "0 2 * * *"
DEFAULT_TIMEZONE = "Asia/Shanghai"


def schedule_settings(cron: str | None = None, timezone: str | None = None) -> tuple[str, str]:
    """The nightly schedule: arguments, else ``[schedule]`` of envq.toml, else 02:00 Asia/Shanghai."""
    from envq.config import load_config

    conf = load_config().get("schedule", {})
    cron = cron or conf.get("cron", DEFAULT_CRON)
    timezone = timezone or conf.get("timezone", DEFAULT_TIMEZONE)
    from prefect.client.schemas.schedules import CronSchedule

    from envq.errors import UsageError

    try:
        CronSchedule(cron=cron, timezone=timezone)  # Prefect's own validation
    except ValueError as exc:  # pydantic.ValidationError is a ValueError
        first = str(exc).splitlines()[2].strip() if len(str(exc).splitlines()) > 2 else str(exc)
        raise UsageError(f"bad schedule {cron!r} in {timezone!r}: {first}") from None
    return cron, timezone


def deployments(cron: str, timezone: str, *, store_root: str | None = None):
    """The RunnerDeployments: ``envq-nightly/nightly`` (scheduled) and ``envq-backfill/backfill``."""
    from prefect.schedules import Cron

    from flows.pipeline import backfill, nightly

    params = {"store_root": store_root} if store_root else {}
    return [
        nightly.to_deployment(name="nightly", schedules=[Cron(cron, timezone=timezone)], parameters=params,
                              description="Pull yesterday's air and water data, upsert, recompute, publish.",
                              tags=["envq"]),
        backfill.to_deployment(name="backfill", parameters=params, tags=["envq"],
                               description="The nightly job over a range of days (start, end)."),
    ]


def _free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def wait_for_server(api_url: str, timeout_s: float = 120.0, *, proc: subprocess.Popen | None = None) -> None:
    """Block until ``<api_url>/health`` answers, or raise TimeoutError (at once if *proc*, the
    server process, has exited)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise TimeoutError(f"the Prefect server at {api_url} exited with code {proc.returncode} before answering")
        try:
            with urllib.request.urlopen(api_url.rstrip("/") + "/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"no Prefect server answered at {api_url} within {timeout_s:.0f} s")


def start_server(port: int = 4200) -> tuple[subprocess.Popen, str]:
    """Start ``prefect server start`` on 127.0.0.1:*port*; return the process and its API URL."""
    if not _free(port):
        from envq.errors import UsageError

        raise UsageError(f"port {port} is in use: pick another with --port, or point PREFECT_API_URL at that server")
    env = dict(os.environ, PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_UI_ENABLED="false")
    env.pop("PREFECT_API_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                             "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/api"
    try:
        wait_for_server(url, proc=proc)
    except BaseException:  # a timeout, or SIGTERM/Ctrl-C while waiting: never leave the server behind
        stop_process(proc)
        raise
    return proc, url


def stop_process(proc: subprocess.Popen, timeout_s: float = 30.0) -> None:
    """Stop a server process: SIGTERM, then SIGKILL after *timeout_s* (nothing if it has ended)."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def serve_deployments(*, cron: str | None = None, timezone: str | None = None, start_server: bool = False,
                      port: int = 4200, store_root: str | None = None) -> int:
    """Serve the deployments until interrupted; returns an exit code."""
    cron, timezone = schedule_settings(cron, timezone)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # until Prefect's runner takes over: run `finally`
    server = None
    if start_server:
        server, url = globals()["start_server"](port)
        os.environ["PREFECT_API_URL"] = url
        print(f"envq: Prefect server started at {url} (PREFECT_HOME={os.environ.get('PREFECT_HOME')})",
              file=sys.stderr)
    elif not os.environ.get("PREFECT_API_URL"):
        print("envq serve: schedules need a Prefect server. Start one with `prefect server start` and set "
              "PREFECT_API_URL=http://127.0.0.1:4200/api, or run `envq serve --start-server`.", file=sys.stderr)
        return 2
    from prefect import serve
    from prefect.settings import PREFECT_API_URL, temporary_settings

    try:
        with temporary_settings({PREFECT_API_URL: os.environ["PREFECT_API_URL"]}):
            print(f"envq: serving envq-nightly/nightly (cron {cron!r}, {timezone}) and envq-backfill/backfill",
                  file=sys.stderr)
            serve(*deployments(cron, timezone, store_root=store_root), print_starting_message=False)
    except KeyboardInterrupt:
        pass
    finally:
        if server is not None:
            stop_process(server)
    return 0
