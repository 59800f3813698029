"""`make test` on a fresh machine installs what the browser tests need (issue 12, first contact):
Debian's Chromium and the fonts, as root directly, else through sudo, else it stops with the exact
command. The system is a sandbox: $ENVQ_SYSTEM_ROOT holds the files looked at, and apt-get, sudo
and id on $PATH record their calls."""

import os
import stat
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / ".ci" / "browser-deps"
PACKAGES = "chromium fonts-wqy-microhei fonts-dejavu-core poppler-utils"


def _stub(folder: Path, name: str, body: str):
    p = folder / name
    p.write_text("#!/bin/sh\n" + body + "\n", encoding="utf-8")
    p.chmod(p.stat().st_mode | stat.S_IEXEC)


@pytest.fixture
def system(tmp_path):
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    log = tmp_path / "calls.log"
    _stub(bin_, "apt-get", f'echo "apt-get $*" >> {log}')
    for tool in ("sh", "bash", "cat", "echo"):  # what the script itself runs
        target = subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True, text=True).stdout.strip()
        if target:
            os.symlink(target, bin_ / tool)
    return tmp_path, bin_, log


def _run(tmp_path, bin_, uid):
    _stub(bin_, "id", f'[ "$1" = "-u" ] && echo {uid} || exit 1')
    env = {"PATH": str(bin_), "ENVQ_SYSTEM_ROOT": str(tmp_path / "root")}
    return subprocess.run([str(SCRIPT)], env=env, capture_output=True, text=True)


def test_root_installs_what_is_missing(system):
    tmp_path, bin_, log = system
    done = _run(tmp_path, bin_, 0)
    assert done.returncode == 0, done.stderr
    assert log.read_text().splitlines() == ["apt-get update -qq", f"apt-get install -y -qq {PACKAGES}"]


def test_a_user_goes_through_sudo(system):
    tmp_path, bin_, log = system
    _stub(bin_, "sudo", f'echo "sudo $*" >> {log}; exec "$@"')
    done = _run(tmp_path, bin_, 1000)
    assert done.returncode == 0, done.stderr
    calls = log.read_text().splitlines()
    assert calls[0].startswith("sudo sh -c apt-get update") and calls[-1] == f"apt-get install -y -qq {PACKAGES}"


def test_without_sudo_it_stops_with_the_command(system):
    tmp_path, bin_, log = system
    done = _run(tmp_path, bin_, 1000)
    assert done.returncode == 2 and not log.exists()
    assert f"apt-get install -y -qq {PACKAGES}" in done.stderr and "run as root:" in done.stderr


def test_nothing_to_do_when_present(system):
    tmp_path, bin_, log = system
    root = tmp_path / "root"
    for f in ("usr/bin/chromium", "usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
              "usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "usr/bin/pdftoppm"):
        (root / f).parent.mkdir(parents=True, exist_ok=True)
        (root / f).write_text("")
    (root / "usr/bin/chromium").chmod(0o755)
    (root / "usr/bin/pdftoppm").chmod(0o755)
    assert _run(tmp_path, bin_, 0).returncode == 0 and not log.exists()


def test_make_test_runs_it_first():
    plan = subprocess.run(["make", "-n", "test"], cwd=REPO, capture_output=True, text=True).stdout
    assert "browser-deps" in plan and plan.index("browser-deps") < plan.index("pytest")
