"""The cyclic garbage collector paused while a binder runs.

A binder allocates a few container objects per node and per site (stack entries, sites,
scopes' sets); each 700 of them start a collection that scans them, and every tenth of those
the file's whole tree, in vain: nothing a binder builds is part of a cycle (scopes point to
their parents only), reference counting frees all of it when the file is done. Measured on
the standard library, the collections paid for a fifth of what binding adds (about 1 s of 5).
A cycle made meanwhile by anyone is collected by the first collection after the pause.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Collections off inside the block, back on after it if they were on before it (a block
    running in a thread beside another: whichever ends last leaves them as they were)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
