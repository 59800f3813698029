"""`make test` on a fresh machine installs what the browser tests need (issue 12, first contact):
Debian's Chromium and the fonts, as root directly, else through sudo, else it stops with the exact
command; and it checks afterwards that they are there and that Chromium opens a page. The system is
a sandbox: $ENVQ_SYSTEM_ROOT holds the files looked at, apt-get "installs" by creating them there
(as dpkg would), and apt-get, sudo, id and chromium on $PATH record their calls."""

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / ".ci" / "browser-deps"
PACKAGES = "chromium fonts-wqy-microhei fonts-dejavu-core poppler-utils"
APT = "apt-get -o DPkg::Lock::Timeout=600"
FILES = {"chromium": "usr/bin/chromium", "fonts-wqy-microhei": "usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
         "fonts-dejavu-core": "usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "poppler-utils": "usr/bin/pdftoppm"}


def _stub(folder: Path, name: str, body: str):
    p = folder / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text("#!/bin/sh\n" + body + "\n", encoding="utf-8")
    p.chmod(p.stat().st_mode | stat.S_IEXEC)


def _chromium_body(log: Path, works: bool = True) -> str:
    return f'echo "chromium $1" >> {log}; ' + ("exit 0" if works else "exit 1")


def _apt_body(root: Path, log: Path, *, installs=tuple(FILES), update_fails: int = 0) -> str:
    """apt-get that records its call; ``install`` puts the files of *installs* under *root* (a
    working chromium among them); ``update`` fails its first *update_fails* calls."""
    made = []
    for pkg in installs:
        f = root / FILES[pkg]
        template = log.parent / "packages" / pkg
        _stub(template.parent, template.name, _chromium_body(log) if pkg == "chromium" else "")
        made.append(f'mkdir -p "{f.parent}"; cp "{template}" "{f}"')
    return (f'echo "apt-get $*" >> {log}\n'
            f'case "$*" in *" update"*) n=$(cat {log}.updates 2>/dev/null || echo 0); echo $((n+1)) > {log}.updates; '
            f'[ "$n" -lt {update_fails} ] && exit 100; exit 0;; esac\n'
            + "\n".join(made))


@pytest.fixture
def system(tmp_path):
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    log = tmp_path / "calls.log"
    _stub(bin_, "apt-get", _apt_body(tmp_path / "root", log))
    for tool in ("sh", "bash", "cat", "echo", "mkdir", "cp", "true"):  # what the scripts run
        target = shutil.which(tool)
        if target and not (bin_ / tool).exists():
            os.symlink(target, bin_ / tool)
    return tmp_path, bin_, log


def _run(tmp_path, bin_, uid, **env):
    _stub(bin_, "id", f'[ "$1" = "-u" ] && echo {uid} || exit 1')
    env = {"PATH": str(bin_), "ENVQ_SYSTEM_ROOT": str(tmp_path / "root"), **env}
    return subprocess.run([str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60)


def _apt_calls(log: Path) -> list[str]:
    return [c for c in log.read_text().splitlines() if c.startswith("apt-get")]


def _present(tmp_path, log, *, chromium_works=True):
    root = tmp_path / "root"
    for pkg, f in FILES.items():
        _stub(root, f, _chromium_body(log, chromium_works) if pkg == "chromium" else "")


def test_root_installs_what_is_missing_and_checks_the_browser(system):
    tmp_path, bin_, log = system
    done = _run(tmp_path, bin_, 0)
    assert done.returncode == 0, done.stderr
    assert _apt_calls(log) == [f"{APT} update -qq", f"{APT} install -y -qq {PACKAGES}"]
    # then the installed Chromium was run: its version, and a page opened headless
    runs = [c for c in log.read_text().splitlines() if c.startswith("chromium")]
    assert runs == ["chromium --version", "chromium --headless"], runs


def test_a_user_goes_through_sudo_without_a_password_prompt(system):
    tmp_path, bin_, log = system
    _stub(bin_, "sudo", f'echo "sudo $*" >> {log}; [ "$1" = "-n" ] && shift; exec "$@"')
    done = _run(tmp_path, bin_, 1000)
    assert done.returncode == 0, done.stderr
    calls = log.read_text().splitlines()
    assert calls[0] == "sudo -n true" and calls[1].startswith("sudo -n sh -c for i in 1 2 3")
    assert _apt_calls(log)[-1] == f"{APT} install -y -qq {PACKAGES}"


def test_without_sudo_it_stops_with_the_command(system):
    tmp_path, bin_, log = system
    done = _run(tmp_path, bin_, 1000)
    assert done.returncode == 2 and not log.exists()
    assert f"{APT} install -y -qq {PACKAGES}" in done.stderr and "run as root:" in done.stderr


def test_a_sudo_that_wants_a_password_is_not_waited_for(system):
    tmp_path, bin_, log = system
    _stub(bin_, "sudo", f'echo "sudo $*" >> {log}; exit 1')  # sudo -n: "a password is required"
    done = _run(tmp_path, bin_, 1000)
    assert done.returncode == 2 and log.read_text().splitlines() == ["sudo -n true"]
    assert "neither root nor sudo without a password" in done.stderr and f"{APT} install" in done.stderr


def test_nothing_to_do_when_present(system):
    tmp_path, bin_, log = system
    _present(tmp_path, log)
    assert _run(tmp_path, bin_, 0).returncode == 0
    assert log.read_text().splitlines() == ["chromium --version", "chromium --headless"]  # no apt-get


def test_a_chromium_that_does_not_run_is_installed_again(system):
    """A file at /usr/bin/chromium is not a browser (a fresh image's leftover, a broken install)."""
    tmp_path, bin_, log = system
    _present(tmp_path, log, chromium_works=False)
    done = _run(tmp_path, bin_, 0)
    assert done.returncode == 0, done.stderr
    assert _apt_calls(log) == [f"{APT} update -qq", f"{APT} install -y -qq chromium"]


def test_a_failing_update_is_retried(system):
    tmp_path, bin_, log = system
    _stub(bin_, "sleep", "exit 0")
    _stub(bin_, "apt-get", _apt_body(tmp_path / "root", log, update_fails=2))
    done = _run(tmp_path, bin_, 0)
    assert done.returncode == 0, done.stderr
    assert _apt_calls(log) == [f"{APT} update -qq"] * 3 + [f"{APT} install -y -qq {PACKAGES}"]


def test_what_apt_did_not_install_stops_make_test_with_its_name(system):
    tmp_path, bin_, log = system
    _stub(bin_, "apt-get", _apt_body(tmp_path / "root", log, installs=("fonts-wqy-microhei", "fonts-dejavu-core",
                                                                      "poppler-utils")))
    done = _run(tmp_path, bin_, 0)
    assert done.returncode == 2
    assert "still missing after apt-get: chromium" in done.stderr
    assert _apt_calls(log) == [f"{APT} update -qq", f"{APT} install -y -qq {PACKAGES}"]


def test_a_browser_that_cannot_open_a_page_stops_make_test(system):
    tmp_path, bin_, log = system
    _present(tmp_path, log)
    _stub(tmp_path / "root", FILES["chromium"], f'echo "chromium $1" >> {log}; [ "$1" = "--version" ]')
    done = _run(tmp_path, bin_, 0)
    assert done.returncode == 2 and "does not open a page headless" in done.stderr


def test_envq_chromium_is_used_instead_of_debians(system):
    tmp_path, bin_, log = system
    _present(tmp_path, log)
    os.remove(tmp_path / "root" / FILES["chromium"])
    mine = tmp_path / "opt" / "chrome"
    _stub(mine.parent, mine.name, f'echo "mine $1" >> {log}')
    done = _run(tmp_path, bin_, 0, ENVQ_CHROMIUM=str(mine))
    assert done.returncode == 0, done.stderr
    assert log.read_text().splitlines() == ["mine --headless"]


def test_make_test_runs_it_first():
    plan = subprocess.run(["make", "-n", "test"], cwd=REPO, capture_output=True, text=True).stdout
    assert "browser-deps" in plan and plan.index("browser-deps") < plan.index("pytest")
