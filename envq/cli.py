"""The ``envq`` command line: one entry point, one sub-command group per domain.

Each domain module (``envq.air.cli``, ``envq.water.cli``, ``envq.water.reach_cli``) exposes
``register(subparsers)``, which adds its group and sets ``func`` on every leaf parser;
``func(args)`` returns the exit code. Packages that sit above envq (``geo``, ``maps``, ``flows``)
add their groups through the ``envq.commands`` entry-point group declared in ``pyproject.toml``,
so envq itself never imports them.

Exit codes: 0 success; 2 an error the user can fix (:data:`envq.errors.USER_ERRORS`: bad input
(file, row, field, value), a usage error (a wrong period, unknown name, options that exclude each
other), no data in the period asked for, or a file named on the command line that cannot be
read); 1 anything else: an internal error of envq, printed as such, its traceback under
``--verbose``. Commands with their own codes (``envq run``) document them.

Every command that takes a period takes the same grammar (:mod:`envq.periods`), through
:func:`envq.cliargs.add_period_options` (``--period``, ``--through``) and
:func:`envq.cliargs.period_from_args`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from importlib.metadata import entry_points

__all__ = ["main", "build_parser", "EXIT_USER", "EXIT_INTERNAL"]

EXIT_USER, EXIT_INTERNAL = 2, 1
#: OS errors about a path the user named: an input problem, not a defect.
_PATH_ERRORS = (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)

_GROUPS = ("envq.air.cli", "envq.water.cli", "envq.water.reach_cli", "envq.audit.cli")
_ENTRY_POINT_GROUP = "envq.commands"


def _registrars():
    """``register`` functions of the built-in groups, then of the installed entry points."""
    for name in _GROUPS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a group not installed
            if not (name == exc.name or name.startswith(f"{exc.name}.")):
                raise
            continue
        yield module.register
    for ep in sorted(entry_points(group=_ENTRY_POINT_GROUP), key=lambda e: e.name):
        yield ep.load()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="envq",
        description="Hunan environmental-quality aggregator: AQI and good-air-day rates "
        "(HJ 633, HJ 663, GB 3095) and surface-water classes (GB 3838-2002).",
    )
    parser.add_argument("--version", action="version", version=f"envq {_version()}")
    talk = parser.add_mutually_exclusive_group()
    talk.add_argument("--verbose", "-v", action="store_true",
                      help="print every warning, and the traceback of an internal error (exit code 1)")
    talk.add_argument("--quiet", "-q", action="store_true",
                      help="print nothing on stderr unless the command fails (then all of it, and the error)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for register in _registrars():
        register(sub)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("envq")
    except PackageNotFoundError:  # a source tree that is not installed
        from envq import __version__

        return __version__


def _plain_warning(message, category, filename, lineno, line=None) -> str:
    return f"envq: warning: {message}\n"


def main(argv: list[str] | None = None) -> int:
    import warnings

    warnings.formatwarning = _plain_warning  # users see the message, not envq's source line
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.verbose:
        warnings.simplefilter("always")
    if not args.quiet:
        return _run(args)
    # --quiet: hold stderr back (notes, warnings, Prefect's log); a failure shows all of it
    import io
    import os

    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "ERROR")
    held, stderr = io.StringIO(), sys.stderr
    sys.stderr = held
    try:
        code = _run(args)
    finally:
        sys.stderr = stderr
    if code != 0:
        sys.stderr.write(held.getvalue())
    return code


def _run(args) -> int:
    from envq.errors import InputError, NoDataError, UsageError

    try:
        return int(args.func(args) or 0)
    except InputError as exc:
        print(f"envq: bad input: {exc}", file=sys.stderr)
        return EXIT_USER
    except UsageError as exc:
        print(f"envq: {exc}", file=sys.stderr)
        return EXIT_USER
    except NoDataError as exc:
        print(f"envq: no data: {exc}", file=sys.stderr)
        return EXIT_USER
    except OSError as exc:  # a file or folder that cannot be read or written: what, which, what to do
        from envq.errors import describe_os_error

        print(f"envq: {describe_os_error(exc)}", file=sys.stderr)
        return EXIT_USER
    except Exception as exc:  # a defect of envq, never dressed up as the user's mistake
        if getattr(args, "verbose", False):
            import traceback

            traceback.print_exc()
        print(f"envq: internal error: {type(exc).__name__}: {exc}"
              + ("" if getattr(args, "verbose", False) else " (run with --verbose for the traceback)"),
              file=sys.stderr)
        return EXIT_INTERNAL

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
