"""The locked-store message speaks to a command-line user (issue 12, item 11): it gave the Python
argument ``wait_s=``; it now gives ``--wait MINUTES`` and ``[store] wait_minutes``."""

import pytest

from envq.store import Store, StoreLockedError


def test_the_locked_store_message_gives_the_command_line_option(tmp_path):
    with Store(tmp_path / "s").lock(run_id="nightly-2026-07-20"):
        with pytest.raises(StoreLockedError) as info:
            with Store(tmp_path / "s").lock(run_id="me"):
                pass
    msg = str(info.value)
    assert "run 'nightly-2026-07-20'" in msg
    assert "envq run|backfill --wait MINUTES (or [store] wait_minutes in envq.toml)" in msg
    assert "wait_s" not in msg
