"""`aegisd lsp` driven by pytest-lsp's client (pygls), against a real daemon on a real socket."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from aegisd.lsp.folders import path_to_uri
from tests.conftest import TESTS, DaemonProcess, isolated_env
from tests.e2e.test_mcp import shut_down

FIXTURE = TESTS / "fixtures" / "lsp" / "project"
WAIT_S = 60.0


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(FIXTURE, root)
    return root


@asynccontextmanager
async def lsp_client(
    tmp_path: Path, socket: Path, folders: Sequence[Path], client: str = "neovim"
) -> AsyncIterator[LanguageClient]:
    config = ClientServerConfig(
        server_command=[sys.executable, "-m", "aegisd", "lsp", "--socket", str(socket)],
        server_env=isolated_env(tmp_path),
    )
    session: Any = await config.start()
    try:
        await session.initialize_session(
            lsp.InitializeParams(
                capabilities=client_capabilities(client),
                workspace_folders=[
                    lsp.WorkspaceFolder(uri=path_to_uri(str(f)), name=f.name) for f in folders
                ],
            )
        )
        yield session
        await session.shutdown_session()
    finally:
        await _end(session)


async def _end(session: Any) -> None:
    """Stop the client; a server still running (a test failed mid-session) sees its stdin
    close, and is killed if that does not end it."""
    server = session._server
    if server is not None and server.returncode is None:
        server.stdin.close()
        try:
            await asyncio.wait_for(server.wait(), 10)
        except TimeoutError:
            server.kill()
    await session.stop()


def open_file(client: LanguageClient, path: Path, text: str | None = None) -> str:
    uri = path_to_uri(str(path))
    client.text_document_did_open(
        lsp.DidOpenTextDocumentParams(
            text_document=lsp.TextDocumentItem(
                uri=uri,
                language_id="python",
                version=1,
                text=path.read_text() if text is None else text,
            )
        )
    )
    return uri


async def until(check: Callable[[], Any], what: str) -> Any:
    """Wait for `check()` to be truthy (the daemon lints in the background)."""
    deadline = asyncio.get_running_loop().time() + WAIT_S
    while asyncio.get_running_loop().time() < deadline:
        value = check()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class Recorded(dict[str, Any]):
    """client.diagnostics that keeps every publication, not only the last."""

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[Any]] = {}

    def __setitem__(self, uri: str, diagnostics: Any) -> None:
        self.history.setdefault(uri, []).append(diagnostics)
        super().__setitem__(uri, diagnostics)


def by_code(client: LanguageClient, uri: str) -> dict[str, lsp.Diagnostic]:
    return {str(d.code): d for d in client.diagnostics.get(uri, [])}


async def test_diagnostics_carry_tool_code_range_and_severity(
    daemon_factory: Any, project: Path, tmp_path: Path
) -> None:
    daemon: DaemonProcess = daemon_factory()
    async with lsp_client(tmp_path, daemon.socket, [project]) as client:
        uri = open_file(client, project / "pkg" / "app.py")
        found = await until(
            lambda: (d := by_code(client, uri)) and {"F401", "assignment"} <= set(d) and d,
            "ruff and mypy diagnostics",
        )
        unused = found["F401"]
        assert unused.source == "ruff"
        assert unused.range == lsp.Range(
            start=lsp.Position(line=0, character=7), end=lsp.Position(line=0, character=9)
        )
        assert unused.severity == lsp.DiagnosticSeverity.Warning  # medium
        assert unused.code_description is not None
        assert unused.code_description.href.startswith("https://docs.astral.sh/ruff/rules/")
        wrong = found["assignment"]
        assert wrong.source == "mypy"
        assert wrong.range.start == lsp.Position(line=15, character=21)
        assert wrong.code_description is not None
        assert "mypy.readthedocs.io" in wrong.code_description.href
        # pulled diagnostics agree with the pushed ones
        report = await client.text_document_diagnostic_async(
            lsp.DocumentDiagnosticParams(text_document=lsp.TextDocumentIdentifier(uri=uri))
        )
        assert {str(d.code) for d in report.items} >= {"F401", "assignment"}
        # the workspace was opened without trusting it
        listed = daemon.call("workspace.list")["workspaces"]
        assert [(w["root"], w["trusted"]) for w in listed] == [(str(project), False)]


@pytest.mark.parametrize(
    ("client", "start"),
    [
        ("visual-studio-code", 17),  # UTF-16 only: the emoji is 2 code units
        ("neovim", 19),  # offers UTF-8 first: the emoji is 4 bytes
    ],
)
async def test_columns_in_the_negotiated_encoding(
    daemon_factory: Any, project: Path, tmp_path: Path, client: str, start: int
) -> None:
    (project / "pkg" / "wide.py").write_text('s = "\U0001f600"; import sys\n')
    daemon: DaemonProcess = daemon_factory()
    async with lsp_client(tmp_path, daemon.socket, [project], client) as session:
        uri = open_file(session, project / "pkg" / "wide.py")
        found = await until(lambda: by_code(session, uri).get("F401"), "F401 after an emoji")
        # `sys` is the 17th character (1-based), after 's = "', the emoji and '"; import '
        assert found.range.start == lsp.Position(line=0, character=start)
        assert found.range.end == lsp.Position(line=0, character=start + 3)


async def test_an_edit_on_disk_updates_the_diagnostics(
    daemon_factory: Any, project: Path, tmp_path: Path
) -> None:
    daemon: DaemonProcess = daemon_factory()
    path = project / "pkg" / "app.py"
    async with lsp_client(tmp_path, daemon.socket, [project]) as client:
        uri = open_file(client, path)
        await until(lambda: "F401" in by_code(client, uri), "F401")
        client.diagnostics = published = Recorded()
        fixed = path.read_text().replace("import os\n", "")
        client.text_document_did_change(
            lsp.DidChangeTextDocumentParams(
                text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
                content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=fixed)],
            )
        )
        path.write_text(fixed)  # the editor saves its buffer
        client.text_document_did_save(
            lsp.DidSaveTextDocumentParams(text_document=lsp.TextDocumentIdentifier(uri=uri))
        )
        found = await until(
            lambda: (d := by_code(client, uri)) and "F401" not in d and "assignment" in d and d,
            "F401 gone, the mypy error moved up a line",
        )
        assert found["assignment"].range.start.line == 14
        # once the edited buffer's results are shown, never again a finding of the text before
        # it: until the daemon has linted the saved file, its report leaves the file's old
        # findings out; a publication begun before the edit may land first
        shown = [{str(d.code): d.range.start.line for d in ds} for ds in published.history[uri]]
        first = next(n for n, codes in enumerate(shown) if "F401" not in codes)
        shown = shown[first:]
        assert all("F401" not in codes for codes in shown), shown
        assert all(codes.get("assignment", 14) == 14 for codes in shown), shown


async def test_document_and_workspace_symbols_and_hover(
    daemon_factory: Any, project: Path, tmp_path: Path
) -> None:
    daemon: DaemonProcess = daemon_factory()
    async with lsp_client(tmp_path, daemon.socket, [project]) as client:
        settings = {"include_docstrings": True}  # off by default: hover then shows none
        daemon.call("settings.update", {"workspace": str(project), "settings": settings})
        daemon.call("index.rebuild", {"workspace": str(project)})
        uri = open_file(client, project / "pkg" / "app.py")

        async def outline() -> list[Any]:
            answer = await client.text_document_document_symbol_async(
                lsp.DocumentSymbolParams(text_document=lsp.TextDocumentIdentifier(uri=uri))
            )
            return list(answer or [])

        symbols: list[Any] = []
        deadline = asyncio.get_running_loop().time() + WAIT_S
        while not symbols and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
            symbols = await outline()
        assert [(s.name, s.kind) for s in symbols] == [
            ("add", lsp.SymbolKind.Function),
            ("Greeter", lsp.SymbolKind.Class),
        ]
        greeter = symbols[1]
        assert [(c.name, c.kind) for c in greeter.children] == [("hello", lsp.SymbolKind.Method)]
        assert greeter.range.start == lsp.Position(line=11, character=0)
        assert greeter.selection_range.start == lsp.Position(line=11, character=6)
        assert symbols[0].detail == "(a: int, b: int) -> int"

        hits = await client.workspace_symbol_async(lsp.WorkspaceSymbolParams(query="hello"))
        assert [(h.name, h.container_name, h.location.uri) for h in hits or []] == [
            ("hello", "Greeter", uri)
        ]
        assert hits[0].location.range.start.line == 12  # type: ignore[index, union-attr]

        async def hover() -> str:
            answer = await client.text_document_hover_async(
                lsp.HoverParams(
                    text_document=lsp.TextDocumentIdentifier(uri=uri),
                    position=lsp.Position(line=8, character=11),
                )
            )
            assert answer is not None
            return str(answer.contents.value)  # type: ignore[union-attr]

        text = await hover()
        while "Add two numbers." not in text and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
            text = await hover()  # the docstring arrives with the re-index the setting causes
        assert "def add(a: int, b: int) -> int" in text
        assert "Add two numbers." in text
        assert "second line" not in text
        assert "complexity 1" in text


async def test_ruff_quick_fix_applies(daemon_factory: Any, project: Path, tmp_path: Path) -> None:
    daemon: DaemonProcess = daemon_factory()
    path = project / "pkg" / "app.py"
    async with lsp_client(tmp_path, daemon.socket, [project]) as client:
        uri = open_file(client, path)
        unused = await until(lambda: by_code(client, uri).get("F401"), "F401")
        actions = await client.text_document_code_action_async(
            lsp.CodeActionParams(
                text_document=lsp.TextDocumentIdentifier(uri=uri),
                range=unused.range,
                context=lsp.CodeActionContext(diagnostics=[unused]),
            )
        )
        fixes = [a for a in actions or [] if isinstance(a, lsp.CodeAction) and a.edit]
        assert [a.kind for a in fixes] == [lsp.CodeActionKind.QuickFix]
        edits = fixes[0].edit.changes[uri]  # type: ignore[union-attr, index]
        assert _apply(path.read_text(), edits) == path.read_text().replace("import os\n", "")


async def test_shutdown_leaves_the_daemon_up(
    daemon_factory: Any, project: Path, tmp_path: Path
) -> None:
    daemon: DaemonProcess = daemon_factory()
    async with lsp_client(tmp_path, daemon.socket, [project]):
        pass
    assert daemon.proc.poll() is None
    assert daemon.call("daemon.health")["status"] in ("ok", "degraded")
    assert [w["root"] for w in daemon.call("workspace.list")["workspaces"]] == [str(project)]


async def test_a_gone_daemon_is_an_error_then_the_next_request_reconnects(
    daemon_factory: Any, project: Path, tmp_path: Path
) -> None:
    daemon: DaemonProcess = daemon_factory()
    async with lsp_client(tmp_path, daemon.socket, [project]) as client:
        uri = open_file(client, project / "pkg" / "app.py")
        params = lsp.DocumentSymbolParams(text_document=lsp.TextDocumentIdentifier(uri=uri))
        await client.text_document_document_symbol_async(params)
        daemon.stop()
        try:
            with pytest.raises(Exception, match="aegisd"):
                await client.text_document_document_symbol_async(params)
            # the next request starts a daemon on the same socket (as `aegisd mcp` does) and
            # reopens the folder there
            symbols = await client.text_document_document_symbol_async(params)
            deadline = asyncio.get_running_loop().time() + WAIT_S
            while not symbols and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.05)
                symbols = await client.text_document_document_symbol_async(params)
            assert [s.name for s in symbols or []] == ["add", "Greeter"]
        finally:
            shut_down(daemon.socket)


async def test_bad_documents_get_empty_answers(
    daemon_factory: Any, project: Path, tmp_path: Path
) -> None:
    daemon: DaemonProcess = daemon_factory()
    outside = tmp_path / "elsewhere.py"
    outside.write_text("import os\n")
    odd_name = os.fsdecode(b"caf\xe9.py")
    (project / odd_name).write_bytes(b"import os\n")
    async with lsp_client(tmp_path, daemon.socket, [project]) as client:
        for uri in (
            path_to_uri(str(outside)),  # outside every folder
            "untitled:Untitled-1",  # not a file
            path_to_uri(os.path.join(str(project), odd_name)),  # a non-UTF-8 name
        ):
            params = lsp.DocumentDiagnosticParams(text_document=lsp.TextDocumentIdentifier(uri=uri))
            report = await client.text_document_diagnostic_async(params)
            assert report.kind == "full" and list(report.items) == []
            symbols = await client.text_document_document_symbol_async(
                lsp.DocumentSymbolParams(text_document=lsp.TextDocumentIdentifier(uri=uri))
            )
            assert symbols in (None, [])
            hover = await client.text_document_hover_async(
                lsp.HoverParams(
                    text_document=lsp.TextDocumentIdentifier(uri=uri),
                    position=lsp.Position(line=0, character=0),
                )
            )
            assert hover is None


def _apply(text: str, edits: Sequence[lsp.TextEdit]) -> str:
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))

    def offset(position: lsp.Position) -> int:
        return offsets[min(position.line, len(lines))] + position.character

    for edit in sorted(edits, key=lambda e: offset(e.range.start), reverse=True):
        text = text[: offset(edit.range.start)] + edit.new_text + text[offset(edit.range.end) :]
    return text


def change(client: LanguageClient, uri: str, version: int, text: str) -> None:
    client.text_document_did_change(
        lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


async def test_an_unsaved_buffer_gets_its_own_diagnostics_and_outline(
    daemon_factory: Any, project: Path, tmp_path: Path
) -> None:
    daemon: DaemonProcess = daemon_factory()
    path = project / "pkg" / "app.py"
    on_disk = path.read_text()
    async with lsp_client(tmp_path, daemon.socket, [project]) as client:
        uri = open_file(client, path)
        await until(lambda: {"F401", "assignment"} <= set(by_code(client, uri)), "disk results")
        # the buffer drops `import os` and adds an unused import of its own, two lines down
        buffer = on_disk.replace("import os\n", "\n\ndef fresh():\n    import json\n")
        change(client, uri, 2, buffer)
        found = await until(
            lambda: (d := by_code(client, uri)) and "F401" in d and "assignment" not in d and d,
            "the buffer's diagnostics",
        )
        assert found["F401"].message == "`json` imported but unused"
        assert found["F401"].range.start == lsp.Position(line=3, character=11)
        # mypy checked the disk, not this text: left out rather than shown on the wrong lines
        assert {d.source for d in client.diagnostics[uri]} == {"ruff"}
        symbols = await client.text_document_document_symbol_async(
            lsp.DocumentSymbolParams(text_document=lsp.TextDocumentIdentifier(uri=uri))
        )
        assert [s.name for s in symbols or []] == ["fresh", "add", "Greeter"]
        assert path.read_text() == on_disk  # nothing was written
        # other clients still see the disk
        report = daemon.call("lint.report", {"path": "pkg/app.py"})
        assert "F401" in {i["code"] for f in report["files"] for i in f["issues"]}
        assert report["overlay"] is False
        # back to the disk's text: the overlay goes, the disk's results come back
        change(client, uri, 3, on_disk)
        await until(
            lambda: {"F401", "assignment"} <= set(by_code(client, uri)), "disk results again"
        )


async def test_a_huge_buffer_shows_nothing_rather_than_stale_results(
    daemon_factory: Any, project: Path, tmp_path: Path
) -> None:
    daemon: DaemonProcess = daemon_factory()
    path = project / "pkg" / "app.py"
    async with lsp_client(tmp_path, daemon.socket, [project]) as client:
        daemon.call(
            "settings.update", {"workspace": str(project), "settings": {"max_file_bytes": 4096}}
        )
        uri = open_file(client, path)
        await until(lambda: "F401" in by_code(client, uri), "disk results")
        change(client, uri, 2, path.read_text() + "#" * 10_000 + "\n")
        await until(lambda: not client.diagnostics[uri], "no diagnostics for the huge buffer")
        report = await client.text_document_diagnostic_async(
            lsp.DocumentDiagnosticParams(text_document=lsp.TextDocumentIdentifier(uri=uri))
        )
        assert list(report.items) == []


async def test_indexing_reports_work_done_progress(daemon_factory: Any, tmp_path: Path) -> None:
    root = tmp_path / "big"
    (root / "pkg").mkdir(parents=True)
    for n in range(120):  # the code map reports progress for batches over 50 files
        (root / "pkg" / f"m{n}.py").write_text(f"def f{n}(x: int) -> int:\n    return x + {n}\n")
    daemon: DaemonProcess = daemon_factory()
    async with lsp_client(tmp_path, daemon.socket, [root]) as client:
        reports = await until(
            lambda: [
                values
                for token, values in client.progress_reports.items()
                if str(token).startswith("aegisd-")
                and values
                and isinstance(values[-1], lsp.WorkDoneProgressEnd)
            ],
            "an indexing progress that ended",
        )
        begin = reports[0][0]
        assert isinstance(begin, lsp.WorkDoneProgressBegin)
        assert begin.title.startswith("aegisd: ") and "big" in begin.title


async def test_clones_are_hints_with_a_show_duplicate_action(
    daemon_factory: Any, project: Path, tmp_path: Path
) -> None:
    body = "".join(f"    total = total + values[{n}] * {n} - offset\n" for n in range(12))
    for name in ("first", "second"):
        (project / "pkg" / f"{name}.py").write_text(
            f"def {name}(values: list[int], offset: int) -> int:\n    total = 0\n{body}"
            "    return total\n"
        )
    daemon: DaemonProcess = daemon_factory()
    async with lsp_client(tmp_path, daemon.socket, [project]) as client:
        uri = open_file(client, project / "pkg" / "second.py")
        hint = await until(
            lambda: next(
                (d for d in client.diagnostics.get(uri, []) if d.source == "similarity"), None
            ),
            "a clone hint",
        )
        assert hint.severity == lsp.DiagnosticSeverity.Hint
        assert "pkg/first.py:1-" in hint.message
        actions = await client.text_document_code_action_async(
            lsp.CodeActionParams(
                text_document=lsp.TextDocumentIdentifier(uri=uri),
                range=hint.range,
                context=lsp.CodeActionContext(diagnostics=[hint]),
            )
        )
        [show] = [a for a in actions or [] if isinstance(a, lsp.Command)]
        assert show.title.startswith("Show duplicate: pkg/first.py:1-")
        await client.workspace_execute_command_async(
            lsp.ExecuteCommandParams(command=show.command, arguments=show.arguments)
        )
        [shown] = client.shown_documents
        assert shown.uri == path_to_uri(str(project / "pkg" / "first.py"))
        assert shown.selection is not None and shown.selection.start.line == 0


async def test_added_folders_are_opened_as_workspaces(
    daemon_factory: Any, project: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    shutil.copytree(project, other)
    daemon: DaemonProcess = daemon_factory()
    async with lsp_client(tmp_path, daemon.socket, [project]) as client:
        client.workspace_did_change_workspace_folders(
            lsp.DidChangeWorkspaceFoldersParams(
                event=lsp.WorkspaceFoldersChangeEvent(
                    added=[lsp.WorkspaceFolder(uri=path_to_uri(str(other)), name="other")],
                    removed=[],
                )
            )
        )
        uri = open_file(client, other / "pkg" / "app.py")
        await until(lambda: "F401" in by_code(client, uri), "diagnostics in the added folder")
    roots = {(w["root"], w["trusted"]) for w in daemon.call("workspace.list")["workspaces"]}
    assert roots == {(str(project), False), (str(other), False)}


async def test_navigation_is_empty_on_a_daemon_without_it(
    daemon_factory: Any, project: Path, tmp_path: Path
) -> None:
    daemon: DaemonProcess = daemon_factory()
    methods = {m["name"] for m in daemon.call("rpc.discover")["methods"]}
    if {"index.definition", "index.references"} & methods:
        pytest.skip("this daemon has navigation: test_lsp's navigation tests cover it")
    async with lsp_client(tmp_path, daemon.socket, [project]) as client:
        uri = open_file(client, project / "pkg" / "app.py")
        at = lsp.Position(line=8, character=11)
        document = lsp.TextDocumentIdentifier(uri=uri)
        found = await client.text_document_definition_async(
            lsp.DefinitionParams(text_document=document, position=at)
        )
        refs = await client.text_document_references_async(
            lsp.ReferenceParams(
                text_document=document,
                position=at,
                context=lsp.ReferenceContext(include_declaration=True),
            )
        )
        assert (list(found or []), list(refs or [])) == ([], [])
        [item] = await client.text_document_prepare_call_hierarchy_async(
            lsp.CallHierarchyPrepareParams(text_document=document, position=at)
        ) or [None]
        assert item is not None and item.name == "add"
        incoming = await client.call_hierarchy_incoming_calls_async(
            lsp.CallHierarchyIncomingCallsParams(item=item)
        )
        outgoing = await client.call_hierarchy_outgoing_calls_async(
            lsp.CallHierarchyOutgoingCallsParams(item=item)
        )
        assert (list(incoming or []), list(outgoing or [])) == ([], [])


async def test_definition_references_and_call_hierarchy(
    daemon_factory: Any, tmp_path: Path
) -> None:
    root = tmp_path / "calls"
    shutil.copytree(TESTS / "fixtures" / "lsp" / "calls", root)
    daemon: DaemonProcess = daemon_factory()
    methods = {m["name"] for m in daemon.call("rpc.discover")["methods"]}
    if not {"index.definition", "index.references", "graph.calls"} <= methods:
        pytest.skip("this daemon has no navigation (issue 18): empty answers are tested above")
    core, use = root / "pkg" / "core.py", root / "pkg" / "use.py"
    async with lsp_client(tmp_path, daemon.socket, [root]) as client:
        uri = open_file(client, core)
        document = lsp.TextDocumentIdentifier(uri=uri)
        at_call = lsp.Position(line=5, character=12)  # `helper(1)` in main
        found: Any = None
        deadline = asyncio.get_running_loop().time() + WAIT_S
        while not found and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
            found = await client.text_document_definition_async(
                lsp.DefinitionParams(text_document=document, position=at_call)
            )
        assert [(f.uri, f.range.start, f.range.end) for f in found] == [
            (uri, lsp.Position(line=0, character=4), lsp.Position(line=0, character=10))
        ]
        refs = await client.text_document_references_async(
            lsp.ReferenceParams(
                text_document=document,
                position=lsp.Position(line=0, character=5),
                context=lsp.ReferenceContext(include_declaration=True),
            )
        )
        assert sorted((r.uri, r.range.start.line) for r in refs or []) == sorted(
            [(uri, 5), (uri, 5), (path_to_uri(str(use)), 0), (path_to_uri(str(use)), 4)]
        )
        [helper] = await client.text_document_prepare_call_hierarchy_async(
            lsp.CallHierarchyPrepareParams(text_document=document, position=lsp.Position(0, 5))
        ) or [None]
        callers = await client.call_hierarchy_incoming_calls_async(
            lsp.CallHierarchyIncomingCallsParams(item=helper)
        )
        assert sorted((c.from_.name, len(c.from_ranges)) for c in callers or []) == [
            ("main", 2),
            ("other", 1),
        ]
        [main] = await client.text_document_prepare_call_hierarchy_async(
            lsp.CallHierarchyPrepareParams(text_document=document, position=lsp.Position(5, 5))
        ) or [None]
        callees = await client.call_hierarchy_outgoing_calls_async(
            lsp.CallHierarchyOutgoingCallsParams(item=main)
        )
        assert [(c.to.name, len(c.from_ranges)) for c in callees or []] == [("helper", 2)]
