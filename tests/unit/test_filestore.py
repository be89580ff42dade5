"""File state rows: what a batch settles is stored with its clock and loaded back as it was,
names that are not UTF-8 and skipped files included, for a first index's thousands of files."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from aegisd.filestate import Settled, SkipState
from aegisd.filestore import load_file_state, store_file_state
from aegisd.store import core_models
from aegisd.store.core_models import WorkspaceRow
from aegisd.store.database import Store
from aegisd.store.migrations import run_migrations

ODD = "bad\udcff.py"  # a name that is not UTF-8, as os.fsdecode gives it


@pytest_asyncio.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = Store(tmp_path / "aegisd.db")
    await store.open(core_models.MODELS)
    await store.run(run_migrations, store.db, list(core_models.MIGRATIONS))
    await store.run(
        lambda: WorkspaceRow.create(id="w", root="/w", created_at="t", clock=0, last_opened_at="t")
    )
    yield store
    await store.close()


def _clock() -> int:
    return int(WorkspaceRow.get_by_id("w").clock)


async def test_a_first_index_is_stored_and_loaded_back_whole(store: Store) -> None:
    first = Settled()
    first.updates = {f"pkg{n % 7}/m{n}.py": (n, 10**18 + n, f"{n:032x}") for n in range(5000)}
    first.updates[ODD] = (1, 2, "h")
    first.skipped = {"big.bin": SkipState(9, 9, "too_large", "over 4 MiB")}
    await store.urgent(store_file_state, "w", 1, first)
    known, skipped = await store.run(load_file_state, "w")
    assert known == first.updates and skipped == first.skipped
    assert await store.run(_clock) == 1

    edit = Settled()
    edit.updates = {"pkg0/m0.py": (7, 7, "new"), "big.bin": (9, 10, "now text")}
    edit.unskipped = ["big.bin"]
    edit.removed = ["pkg1/m1.py", ODD, "pkg2/m2.py"]
    edit.skipped = {"pkg2/m2.py": SkipState(3, 3, "binary", "NUL bytes")}
    await store.urgent(store_file_state, "w", 2, edit)
    known, skipped = await store.run(load_file_state, "w")
    expected = {k: v for k, v in first.updates.items() if k not in edit.removed} | edit.updates
    assert known == expected
    assert skipped == {"pkg2/m2.py": SkipState(3, 3, "binary", "NUL bytes")}
    assert await store.run(_clock) == 2
