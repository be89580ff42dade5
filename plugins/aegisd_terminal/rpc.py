"""`terminal.*` methods: params, results and handlers side by side."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator

from aegisd.rpc.context import RpcContext
from aegisd.rpc.errors import Conflict, TooLarge, Unavailable, Unsupported
from aegisd.rpc.registry import FreshResult, Params, PathText, Result, RpcMethod, WorkspaceParams
from aegisd_terminal import service
from aegisd_terminal.session import VIEWER_MAX_QUEUED, Session

SessionId = Annotated[
    str, Field(min_length=1, max_length=64, description="A session id, as terminal.open returned")
]
Cols = Annotated[int, Field(ge=2, le=1000, description="Columns")]
Rows = Annotated[int, Field(ge=1, le=1000, description="Rows")]
RECORDING_MAX_BYTES = 32 * 1024 * 1024


class OpenParams(WorkspaceParams):
    cwd: PathText | None = Field(
        None, description="Directory inside the workspace (default: its root)"
    )
    argv: list[Annotated[str, Field(min_length=1, max_length=4096)]] | None = Field(
        None,
        min_length=1,
        max_length=256,
        description="Program and arguments (default: the user's login shell)",
    )
    cols: Cols = 80
    rows: Rows = 24
    env: dict[str, Annotated[str, Field(max_length=32768)]] = Field(
        default_factory=dict, max_length=256, description="Extra environment variables"
    )
    run: int | None = Field(
        None, ge=1, description="Audit run to log into (default: a new run named after argv)"
    )

    @field_validator("argv")
    @classmethod
    def _no_nul(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and any("\0" in arg for arg in value):
            raise ValueError("an argument contains a NUL character")
        return value


class OpenResult(FreshResult):
    id: str
    pid: int = Field(description="The program's pid (leader of its own session)")
    run: int | None = Field(description="The audit run the session logs into (none: no audit)")


async def open_terminal(params: OpenParams, ctx: RpcContext) -> OpenResult:
    session = await service.get(ctx.daemon).open(
        ctx.workspace, cwd=params.cwd, argv=params.argv, cols=params.cols, rows=params.rows,
        env=params.env, run=params.run, viewer=ctx.caller.subscriber,
    )  # fmt: skip
    return OpenResult(id=session.id, pid=session.info.pid, run=session.info.run)


class SessionParams(Params):
    id: SessionId


class InputParams(Params):
    id: SessionId
    data: str = Field(description="Keystrokes: UTF-8 text and escape sequences")


class InputResult(Result):
    id: str
    waiting: int = Field(description="Bytes the program has not read yet")


async def input_terminal(params: InputParams, ctx: RpcContext) -> InputResult:
    terminals = service.get(ctx.daemon)
    limit = terminals.config.max_input_bytes
    data = params.data.encode("utf-8", "surrogateescape")
    if len(data) > limit:
        raise TooLarge(f"input of {len(data)} bytes is over {limit} (terminal.max_input_bytes)")
    session = _running(terminals.get(params.id))
    try:
        waiting = session.write(data, 4 * limit)
    except BufferError as exc:
        raise Unavailable(f"terminal {params.id}: {exc}", retry_after_ms=100) from None
    return InputResult(id=params.id, waiting=waiting)


class ResizeParams(Params):
    id: SessionId
    cols: Cols
    rows: Rows


class ResizeResult(Result):
    id: str
    cols: int
    rows: int


async def resize_terminal(params: ResizeParams, ctx: RpcContext) -> ResizeResult:
    session = _running(service.get(ctx.daemon).get(params.id))
    session.resize(params.cols, params.rows)
    return ResizeResult(id=params.id, cols=params.cols, rows=params.rows)


class AttachParams(Params):
    id: SessionId
    since_seq: int | None = Field(
        None, ge=0, description="The last seq seen: later output is replayed (omitted: all kept)"
    )


class AttachResult(Result):
    id: str
    seq: int = Field(description="The last seq sent to this viewer (replayed frames included)")
    lost: int = Field(description="Frames after since_seq no longer in the scrollback")
    running: bool


async def attach_terminal(params: AttachParams, ctx: RpcContext) -> AttachResult:
    subscriber = ctx.caller.subscriber
    if subscriber is None:
        raise Unsupported("terminal.attach needs the WebSocket (GET /rpc/ws): output is pushed")
    session = service.get(ctx.daemon).get(params.id)
    if subscriber.queued >= VIEWER_MAX_QUEUED:  # a replay on top would grow without bound
        raise Unavailable(
            f"this WebSocket has {subscriber.queued} messages waiting: read them, then attach",
            retry_after_ms=100,
        )
    seq, lost = session.attach(subscriber, params.since_seq)
    return AttachResult(id=session.id, seq=seq, lost=lost, running=session.running)


class ExitResult(Result):
    id: str
    code: int | None = Field(description="Exit code (none when ended by a signal)")
    signal: str | None = Field(description="The signal that ended it, e.g. SIGHUP")


async def close_terminal(params: SessionParams, ctx: RpcContext) -> ExitResult:
    session = await service.get(ctx.daemon).close(params.id)
    return ExitResult(**session.exit_params())


class SessionOut(Result):
    id: str
    pid: int
    argv: list[str]
    cwd: str
    workspace: str
    run: int | None
    cols: int
    rows: int
    created_at: str
    running: bool
    code: int | None
    signal: str | None
    seq: int = Field(description="The latest output frame's seq")
    bytes: int = Field(description="Output read from the PTY so far")
    viewers: int
    shell_integration: bool


class ListResult(Result):
    sessions: list[SessionOut]


class ListParams(Params):
    pass


async def list_terminals(params: ListParams, ctx: RpcContext) -> ListResult:
    sessions = service.get(ctx.daemon).sessions.values()
    return ListResult(sessions=[_out(s) for s in sessions])


def _out(session: Session) -> SessionOut:
    info = session.info
    return SessionOut(
        id=info.id, pid=info.pid, argv=info.argv, cwd=info.cwd, workspace=info.workspace,
        run=info.run, cols=info.cols, rows=info.rows, created_at=info.created_at,
        running=session.running, code=session.exit_code, signal=session.exit_signal,
        seq=session.seq, bytes=session.bytes_read, viewers=len(session.viewers), shell_integration=info.integration,
    )  # fmt: skip


class RecordingResult(Result):
    id: str
    path: str = Field(description="The .cast file in the state dir (`asciinema play` it)")
    cast: str = Field(description="The asciicast v2 recording so far")


async def recording_terminal(params: SessionParams, ctx: RpcContext) -> RecordingResult:
    terminals = service.get(ctx.daemon)
    try:
        path, text = await terminals.recording_text(params.id, RECORDING_MAX_BYTES)
    except service.TooLargeRecording as exc:
        raise TooLarge(
            f"the recording is {exc.size} bytes (over {exc.limit}): read {exc.path}",
            path=str(exc.path),
        ) from None
    return RecordingResult(id=params.id, path=str(path), cast=text)


def _running(session: Session) -> Session:
    if not session.running:
        raise Conflict(f"terminal {session.id} has exited", id=session.id)
    return session


def methods() -> list[RpcMethod]:
    return [
        RpcMethod("terminal.open", OpenParams, open_terminal, cost="write",
                  summary="Start a program (default: your login shell) on a PTY in a trusted "
                  "workspace; a WebSocket caller is attached at once",
                  errors=("CONFLICT", "INVALID_PATH", "NOT_FOUND", "UNAVAILABLE")),
        RpcMethod("terminal.input", InputParams, input_terminal, instant=True,
                  summary="Write keystrokes to a session", errors=("NOT_FOUND", "TOO_LARGE")),
        RpcMethod("terminal.resize", ResizeParams, resize_terminal, instant=True,
                  summary="Set a session's size (the program gets SIGWINCH)",
                  errors=("NOT_FOUND",)),
        RpcMethod("terminal.attach", AttachParams, attach_terminal, instant=True,
                  summary="Replay a session's scrollback after since_seq to this WebSocket, "
                  "then push its output live",
                  errors=("NOT_FOUND", "UNAVAILABLE", "UNSUPPORTED")),
        RpcMethod("terminal.close", SessionParams, close_terminal, cost="write",
                  summary="Hang up a session's processes (SIGHUP, then SIGKILL) and forget it",
                  errors=("NOT_FOUND",)),
        RpcMethod("terminal.list", ListParams, list_terminals, instant=True,
                  summary="Sessions, running and recently exited"),
        RpcMethod("terminal.recording", SessionParams, recording_terminal,
                  summary="A session's asciicast v2 recording",
                  errors=("NOT_FOUND", "TOO_LARGE")),
    ]  # fmt: skip
