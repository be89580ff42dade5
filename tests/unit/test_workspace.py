"""The change log behind `workspace.changes`: batches kept as they are, coalesced on reading,
forgotten oldest first beyond a limit in paths."""

from __future__ import annotations

from pathlib import Path

from aegisd.settings import CoreSettings
from aegisd.workspace import Workspace


def test_the_change_log_coalesces_batches_and_forgets_whole_old_ones() -> None:
    ws = Workspace("w", Path("/nowhere"), CoreSettings(), changelog_limit=4)
    first = {"a.py": "created", "b.py": "created"}
    ws.record_changes(1, first)
    ws.record_changes(2, {"a.py": "modified", "c.py": "created"})
    ws.clock = 2
    assert ws.changelog[0] == (1, first)  # the batch's own dict: nothing copied per path
    assert ws.changes_since(0) == {"a.py": "created", "b.py": "created", "c.py": "created"}
    assert ws.changes_since(1) == {"a.py": "modified", "c.py": "created"}
    ws.record_changes(3, {"b.py": "deleted"})
    ws.clock = 3
    # Five paths logged, four kept at most: the oldest batch goes, and with it clock 1.
    assert ws.changes_since(0) is None and ws.retained_from == 1
    assert ws.changes_since(1) == {"a.py": "modified", "c.py": "created", "b.py": "deleted"}
    ws.record_changes(4, {"c.py": "deleted"})
    ws.clock = 4
    assert ws.changes_since(2) == {"b.py": "deleted", "c.py": "deleted"}
    assert ws.changes_since(5) is None  # ahead of the clock
