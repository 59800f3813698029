"""The Prefect API a run talks to: a configured server, or a temporary one that dies with the run.

Without a server, Prefect 3 starts a temporary local API in a subprocess of its own and stops it
at exit; a ``kill -9`` of ``envq run`` skips that, and the server lived on (19 times out of 19 in
the fault-injection round), holding a port and about 200 MB, piling up under a scheduler that
retries. :func:`local_api` starts that same server itself (the same ``uvicorn`` command and
settings as Prefect's ``SubprocessASGIServer``) with the kernel told to kill it when its parent
dies (Linux ``prctl(PR_SET_PDEATHSIG, SIGKILL)``), in a session of its own (a Ctrl-C reaches
``envq``, which then stops the server cleanly).

A configured API is reused and nothing is started: ``PREFECT_API_URL`` (environment or Prefect
profile), e.g. the server of ``envq serve --start-server`` or ``prefect server start``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

__all__ = ["local_api", "configured_api_url", "is_temporary"]

_PR_SET_PDEATHSIG = 1
#: The URLs of the temporary servers this process started (and still runs).
_TEMPORARY: set[str] = set()


def is_temporary(url) -> bool:
    """Whether *url* is a temporary server started by :func:`local_api` in this process (the run
    queue, :mod:`flows.queue`, must not rely on such a server's concurrency limits)."""
    return str(url) in _TEMPORARY


def configured_api_url() -> str | None:
    """The API URL Prefect is configured with (environment, profile or a test harness), if any."""
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    return str(url) if url else None


def _die_with_parent(parent: int):
    """``preexec_fn``: the child gets SIGKILL when *parent* dies (Linux), even by ``kill -9``."""
    def setup():  # runs in the child between fork and exec
        import ctypes

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):  # not Linux: the atexit stop is all there is
            return
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)
    return setup


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def local_api(timeout_s: float = 120.0):
    """Within the block, Prefect talks to a configured API, or to a temporary local server started
    here and bound to this process's life; yields the API URL.

    The temporary server is stopped at the end of the block; if this process is killed, the
    kernel kills it (Linux). ``timeout_s``: how long the server may take to answer (it takes
    5-12 s on this project's machines, more under load).
    """
    from flows.serve import stop_process, wait_for_server

    url = configured_api_url()
    if url:
        yield url
        return
    from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

    port = _free_port()
    app_dir = Path(importlib.util.find_spec("prefect").origin).parent.parent
    env = {**os.environ, **get_current_settings().to_environment_variables(exclude_unset=True),
           "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}
    env.pop("PREFECT_API_URL", None)
    linux = sys.platform.startswith("linux")
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--app-dir", str(app_dir), "--factory",
         "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "error", "--lifespan", "on"],
        env=env, stdin=subprocess.DEVNULL, start_new_session=True,
        preexec_fn=_die_with_parent(os.getpid()) if linux else None)
    url = f"http://127.0.0.1:{port}/api"
    try:
        wait_for_server(url, timeout_s, proc=proc)
        _TEMPORARY.add(url)
        with temporary_settings({PREFECT_API_URL: url}):
            yield url
    finally:
        _TEMPORARY.discard(url)
        _drain_prefect_workers()
        stop_process(proc, timeout_s=10)


def _drain_prefect_workers(timeout_s: float = 30.0) -> None:
    """Send the run's last logs and events to the temporary server while it still answers.

    Prefect ships log records and events from background workers; stopped before they are sent,
    the workers retried against the stopped server at interpreter exit for about 70 s ("Error
    logging to API ... All connection attempts failed") and the run's last log lines were lost
    (the nightly's process lived 77 s past its flow's end in ``bench/pipeline.py``). This is what
    Prefect's own test harness does before stopping its server."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        try:
            worker.drain_all(timeout=timeout_s)
        except Exception:  # noqa: BLE001 - a worker never started, or already stopped: nothing to send
            pass
