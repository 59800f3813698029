"""envq --version, -q/--quiet and -v/--verbose (issue 12, first contact): `envq --version` failed
with "COMMAND required"; there was no way to silence the notes on stderr."""

import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WATER = str(REPO / "data/water/hunan_water_auto_20260709_20260823.csv.gz")


def envq(*args):
    return subprocess.run([sys.executable, "-m", "envq.cli", *args], capture_output=True, text=True, cwd=REPO)


def test_version():
    done = envq("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"envq {version('envq')}"


def test_quiet_says_nothing_when_all_goes_well():
    loud = envq("water", "rates", WATER, "--period", "2026-07")
    quiet = envq("-q", "water", "rates", WATER, "--period", "2026-07")
    assert "未归属 unassigned" in loud.stderr  # the note a quiet run keeps to itself
    assert quiet.returncode == 0 and quiet.stderr == "" and quiet.stdout == loud.stdout


def test_quiet_shows_everything_when_the_command_fails(tmp_path):
    bad = tmp_path / "w.csv"
    bad.write_bytes(open(WATER, "rb").read()[:-100])  # a cut gzip
    done = envq("--quiet", "water", "rates", str(bad), "--period", "2026-07")
    assert done.returncode == 2 and f"{bad} is a truncated gzip file" in done.stderr


def test_quiet_and_verbose_exclude_each_other():
    done = envq("-q", "-v", "water", "sections")
    assert done.returncode == 2 and "not allowed with argument" in done.stderr
