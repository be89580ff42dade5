"""Binders run with the cyclic collector paused and leave it as they found it."""

from __future__ import annotations

import gc

import pytest
from aegisd_codemap.extract import extract_file
from aegisd_codemap.gcpause import gc_paused


def test_collections_resume_after_a_binder_even_when_it_fails() -> None:
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RecursionError), gc_paused():
        raise RecursionError
    assert gc.isenabled()


def test_a_pause_inside_a_pause_leaves_collections_off_until_the_outer_one_ends() -> None:
    with gc_paused():
        with gc_paused():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()


def test_extracting_files_of_every_binder_leaves_collections_on() -> None:
    sources = {
        "a.py": b"import os\nclass A:\n    def f(self):\n        return os.path.join(self.x)\n",
        "b.ts": b"import { f } from './a';\nexport class B { g() { return f(this); } }\n",
        "c.c": b'#include <stdio.h>\nint main(void) { return printf("x"); }\n',
    }
    for name, data in sources.items():
        extract_file(name, data, False)
        assert gc.isenabled(), name
