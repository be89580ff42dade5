"""Search ranks what a user looks for first, on a tree shaped like django's."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from tests.conftest import REPO, DaemonProcess
from tests.e2e.test_codemap import wait_indexed


def test_ranking_on_a_django_like_tree(daemon_factory: Any, tmp_path: Path) -> None:
    root = tmp_path / "djangoish"
    shutil.copytree(REPO / "tests/fixtures/codemap/djangoish", root)
    d: DaemonProcess = daemon_factory("--root", str(root))
    wait_indexed(d)

    def ranked(query: str, match: str | None = None) -> list[str]:
        hits = d.call("index.search", {"query": query})["hits"]
        return [f"{h['path']}:{h['qualname']}" for h in hits if match in (None, h["match"])]

    # Initials of a whole name first, then of its first words, then from the middle; test
    # definitions after the rest.
    assert ranked("gfs", "word") == [
        "django/db/backends/base/features.py:BaseDatabaseFeatures.get_fallback_sql",
        "django/db/backends/sqlite3/introspection.py:get_field_size",
        "django/db/backends/sqlite3/introspection.py:get_first_selected",
        "django/utils/js.py:set_gfs_flag",
        "tests/backends/tests.py:test_get_fallback_sql",
        "tests/backends/tests.py:test_get_field_size",
    ]
    assert ranked("jr", "word") == [
        "django/http/response.py:JsonResponse",
        "django/utils/js.py:make_json_reader",
        "django/utils/js.py:to_jr",
        "tests/views.py:test_json_redirect",
        "tests/views.py:test_json_response",
    ]
    # Five test doubles of get_object come after the library's.
    assert ranked("get_object")[:2] == [
        "django/views/generic/detail.py:SingleObjectMixin.get_object",
        "tests/views.py:ObjectDetail.get_object",
    ]
    # Module-qualified names: a module path, then a qualified name in it.
    assert ranked("django.shortcuts.render") == ["django/shortcuts.py:render"]
    assert ranked("shortcuts.get_obj") == ["django/shortcuts.py:get_object_or_404"]
    assert ranked("django.views.generic.detail.SingleObjectMixin.get_object") == [
        "django/views/generic/detail.py:SingleObjectMixin.get_object"
    ]
    # What a dotted query names may be a member's parent: its members are found with it.
    assert ranked("detail.SingleObj") == [
        "django/views/generic/detail.py:SingleObjectMixin",
        "django/views/generic/detail.py:SingleObjectMixin.get_context_object_name",
        "django/views/generic/detail.py:SingleObjectMixin.get_object",
    ]
    # A name a package re-exports from one of its modules.
    assert ranked("django.http.JsonResponse") == ["django/http/response.py:JsonResponse"]
    # An implementation before its typing.overload signatures.
    lazy = d.call("index.search", {"query": "lazy"})["hits"]
    assert [h["line"] for h in lazy] == [8, 5, 7]
