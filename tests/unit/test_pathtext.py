"""Paths in SQLite TEXT: any surrogateescape name round-trips; other names are unchanged."""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing

from hypothesis import given
from hypothesis import strategies as st

from aegisd.store.pathtext import display, from_db, in_list, to_db

names = st.binary(min_size=1, max_size=40).filter(lambda b: b"\0" not in b).map(os.fsdecode)


@given(names)
def test_every_file_name_round_trips_through_sqlite(name: str) -> None:
    with closing(sqlite3.connect(":memory:")) as db:
        db.execute("CREATE TABLE t (path TEXT PRIMARY KEY)")
        db.execute("INSERT INTO t VALUES (?)", (to_db(name),))
        [(stored,)] = db.execute("SELECT path FROM t WHERE path = ?", (to_db(name),)).fetchall()
    assert from_db(stored) == name
    assert os.fsencode(from_db(stored)) == os.fsencode(name)


@given(st.text())
def test_valid_text_is_stored_as_it_is(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return  # lone surrogates: covered above
    assert to_db(text) == text


def test_display_shows_the_json_escape() -> None:
    assert display("bad\udcff.py") == "bad\\udcff.py" and display("é.py") == "é.py"


@given(st.lists(names, max_size=6), names)
def test_in_list_matches_exactly_the_listed_names(listed: list[str], other: str) -> None:
    # json_each stops at a NUL: an escaped name sent through it would match nothing.
    with closing(sqlite3.connect(":memory:")) as db:
        db.execute("CREATE TABLE t (path TEXT PRIMARY KEY)")
        rows = {to_db(n) for n in [*listed, other]}
        db.executemany("INSERT INTO t VALUES (?)", [(r,) for r in rows])
        sql, args = in_list("path", [to_db(n) for n in listed])
        inside = {r for (r,) in db.execute(f"SELECT path FROM t WHERE {sql}", args)}
        outside = {r for (r,) in db.execute(f"SELECT path FROM t WHERE NOT {sql}", args)}
    assert inside == {to_db(n) for n in listed} and outside == rows - inside
