"""The `aegisd` command: the daemon, its clients, and the commands plugins add.

serve | call | status | stop | mcp | lsp | trust | install-service are the core's; plugins add theirs
through the `aegisd_cli_commands` hook (`audit`).

Heavy imports (aiohttp, pydantic, peewee) happen only in the commands that need them, so the
client commands start fast. The core imports no plugin: the modules contributing commands are
named by dotted path (`CLI_PLUGINS`) or found under the `aegisd.cli` entry point group.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, cast

EXIT_OK, EXIT_ERROR, EXIT_UNAVAILABLE, EXIT_USAGE = 0, 1, 2, 64
EXIT_CODES = """exit codes:
  0   done
  1   the daemon answered with an error (printed to stderr as JSON)
  2   no daemon answers on the socket (or, for serve, an invalid configuration)
  64  usage error: bad arguments, or PARAMS_JSON is not JSON"""
START_HINT = "start one with `aegisd serve`, or `aegisd install-service` for a systemd user unit"
#: built-in modules contributing subcommands (`aegisd_cli_commands`), by dotted path
CLI_PLUGINS: tuple[str, ...] = ("aegisd_audit.commands",)
CLI_ENTRY_POINT_GROUP = "aegisd.cli"
Handler = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    """Usage errors exit 64 (EX_USAGE), apart from 2, which says no daemon answers."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _add_socket(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--socket", help="daemon socket (default: AEGISD_SOCKET, then XDG path)")


def build_parser(
    argv: Sequence[str] | None = None, plugins: Sequence[object] | None = None
) -> argparse.ArgumentParser:
    """The core's commands, then the plugins' (`plugins`: modules or objects implementing
    `aegisd_cli_commands`; default: `CLI_PLUGINS`, and the `aegisd.cli` entry points when
    `argv` names no command known by then)."""
    parser = _Parser(
        prog="aegisd",
        description=__doc__.splitlines()[0],
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    # Every subcommand's parser is a _Parser (exit 64 on usage errors); plugins see the base type.
    sub = cast(
        "argparse._SubParsersAction[argparse.ArgumentParser]",
        parser.add_subparsers(dest="command", parser_class=_Parser),
    )
    _core_commands(sub)
    if plugins is None:
        _add_commands(sub, [_imported(name) for name in CLI_PLUGINS])
        if _command_of(argv) not in sub.choices:
            _add_commands(sub, _entry_point_plugins())
    else:
        _add_commands(sub, list(plugins))
    return parser


def _core_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = sub.add_parser("serve", help="run the daemon in the foreground")
    serve.add_argument(
        "--root",
        action="append",
        default=[],
        help="open DIR (relative to the current directory) as a trusted workspace; repeatable",
    )
    _add_socket(serve)
    serve.add_argument("--data-dir", help="state directory (database, spool, token)")
    serve.add_argument("--config", help="user config file (TOML)")
    serve.add_argument("--tcp", help="also listen on HOST:PORT (loopback only, token required)")
    serve.add_argument("--log-format", choices=["text", "json"])
    serve.add_argument("--log-level")

    call = sub.add_parser(
        "call",
        help="call a JSON-RPC method and print its result",
        description="Call METHOD and print its result as JSON. A mistyped METHOD gets the "
        "closest names; relative directories in `root` (workspace.open) and `workspace` are "
        "taken from the current directory. The methods: docs/api.md, or `aegisd call "
        "rpc.discover --fields methods`.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    call.add_argument("method")
    call.add_argument("params", nargs="?", help="params as a JSON object or array")
    _add_socket(call)
    call.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        help="seconds to wait for the answer (default: %(default)s)",
    )
    call.add_argument(
        "--fields",
        type=lambda text: [f for f in text.split(",") if f],
        help="print only these keys of the result, comma-separated; dotted for nested ones "
        "(e.g. summary.status,runs)",
    )
    call.add_argument(
        "--summary",
        action="store_true",
        help="print the result's shape: long lists and deep objects as counts",
    )
    call.add_argument(
        "--full",
        action="store_true",
        help="print a huge result whole on a terminal too (it is summarized past 256 KiB)",
    )
    call.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="draw a progress bar on stderr (default: when stderr is a terminal)",
    )

    for name, text in (("status", "summary of the running daemon"), ("stop", "stop the daemon")):
        _add_socket(sub.add_parser(name, help=text))

    mcp = sub.add_parser("mcp", help="an MCP server on stdio backed by the daemon")
    _add_socket(mcp)

    lsp = sub.add_parser("lsp", help="a Language Server on stdio backed by the daemon")
    _add_socket(lsp)

    trust = sub.add_parser(
        "trust",
        help="trust DIR (and what is under it): tools that run its code, such as pytest, may run",
    )
    trust.add_argument("dir", nargs="?", default=".", help="default: the current directory")
    trust.add_argument("--revoke", action="store_true", help="stop trusting it")
    _add_socket(trust)

    install = sub.add_parser("install-service", help="write the systemd user units")
    install.add_argument("--unit-dir", help="default: ~/.config/systemd/user")
    handlers: dict[str, Handler] = {
        "serve": _serve,
        "call": _call,
        "status": _status,
        "stop": _stop,
        "mcp": _mcp,
        "lsp": _lsp,
        "trust": _trust,
        "install-service": _install_service,
    }
    for name, handler in handlers.items():
        sub.choices[name].set_defaults(handler=handler)


def _command_of(argv: Sequence[str] | None) -> str | None:
    """The subcommand `argv` names (its first word that is not an option), if any."""
    words = sys.argv[1:] if argv is None else argv
    return next((word for word in words if not word.startswith("-")), None)


def _imported(dotted: str) -> object:
    try:
        return importlib.import_module(dotted)
    except Exception as exc:
        print(f"aegisd: the commands of {dotted} are unavailable: {exc}", file=sys.stderr)
        return None


def _entry_point_plugins() -> list[object]:
    from importlib.metadata import entry_points

    found = []
    for entry in entry_points(group=CLI_ENTRY_POINT_GROUP):
        try:
            found.append(entry.load())
        except Exception as exc:
            print(f"aegisd: the commands of {entry.name} are unavailable: {exc}", file=sys.stderr)
    return found


def _add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], plugins: Sequence[object]
) -> None:
    """Let each plugin add its commands; one that fails is reported and left out."""
    import pluggy

    from aegisd import PROJECT_NAME, hookspecs

    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    for plugin in plugins:
        if plugin is not None and pm.get_name(plugin) is None:
            pm.register(plugin)
    for impl in reversed(pm.hook.aegisd_cli_commands.get_hookimpls()):
        try:
            impl.function(subparsers=sub)
        except Exception as exc:
            name = pm.get_name(impl.plugin)
            print(f"aegisd: the commands of {name} are unavailable: {exc}", file=sys.stderr)


def main(argv: Sequence[str] | None = None, plugins: Sequence[object] | None = None) -> int:
    parser = build_parser(argv, plugins)
    args = parser.parse_args(argv)
    if args.version:
        from aegisd import __version__

        print(__version__)
        return EXIT_OK
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    return handler(args)


def _serve(args: argparse.Namespace) -> int:
    import asyncio

    from aegisd.castore import import_aiohttp
    from aegisd.config import ConfigError, load_config
    from aegisd.log import configure_logging

    import_aiohttp()  # first, and without reading the CA store: see aegisd.castore
    from aegisd.server import ServeError, serve

    flags = {
        "socket": args.socket,
        "data_dir": args.data_dir,
        "tcp": args.tcp,
        "log_format": args.log_format,
        "log_level": args.log_level,
        # Relative to where the user runs this, as a shell user expects of a path argument.
        "roots": [os.path.abspath(os.path.expanduser(root)) for root in args.root] or None,
    }
    try:
        config = load_config(flags, config_file=args.config)
    except ConfigError as exc:
        print(f"aegisd: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    configure_logging(config.log_format, config.log_level)
    try:
        return asyncio.run(serve(config))
    except ServeError as exc:
        print(f"aegisd: {exc}", file=sys.stderr)
        return exc.exit_code


def _client(args: argparse.Namespace, timeout: float = 30.0) -> Any:
    from aegisd.client import default_client

    return default_client(args.socket, timeout=timeout)


def _call(args: argparse.Namespace) -> int:
    from aegisd.cli_call import absolute_dirs, render
    from aegisd.client import DaemonUnavailable, RpcCallError

    params = None
    if args.params is not None:
        try:
            params = json.loads(args.params)
        except ValueError as exc:
            print(f"aegisd: PARAMS_JSON is not valid JSON: {exc}", file=sys.stderr)
            return EXIT_USAGE
    params = absolute_dirs(args.method, params)
    show_progress = args.progress if args.progress is not None else sys.stderr.isatty()
    try:
        if show_progress:
            result = _call_with_progress(args, params)
        else:
            result = _client(args, timeout=args.timeout).call(args.method, params)
    except RpcCallError as exc:
        print(json.dumps(exc.error, indent=2), file=sys.stderr)
        suggestions = exc.error.get("data", {}).get("suggestions")
        if suggestions:
            print(f"aegisd: did you mean {' or '.join(suggestions)}?", file=sys.stderr)
        return EXIT_ERROR
    except DaemonUnavailable as exc:
        _unavailable(exc)
        return EXIT_UNAVAILABLE
    terminal = sys.stdout.isatty() and not args.full
    text, note = render(result, args.fields, args.summary, terminal)
    print(text)
    if note:
        print(note, file=sys.stderr)
    return EXIT_OK


def _unavailable(exc: Exception) -> None:
    from aegisd.client import NoDaemon

    print(f"aegisd: {exc}", file=sys.stderr)
    if isinstance(exc, NoDaemon):
        print(f"aegisd: {START_HINT}", file=sys.stderr)


def _call_with_progress(args: argparse.Namespace, params: Any) -> Any:
    import asyncio

    import aiohttp

    from aegisd.client import NoDaemon, RpcCallError
    from aegisd.paths import resolve_socket
    from aegisd.progress_client import call_with_progress

    socket = resolve_socket(args.socket)
    try:
        answer = asyncio.run(call_with_progress(socket, args.method, params, args.timeout))
    except (aiohttp.ClientConnectionError, ConnectionError, FileNotFoundError) as exc:
        raise NoDaemon(f"no aegisd answers on {socket}: {exc}") from exc
    if "error" in answer:
        raise RpcCallError(answer["error"])
    return answer.get("result")


def _status(args: argparse.Namespace) -> int:
    from aegisd.client import DaemonUnavailable, RpcCallError

    try:
        status = _client(args).call("daemon.status")
    except (DaemonUnavailable, RpcCallError) as exc:
        _unavailable(exc)
        return EXIT_UNAVAILABLE
    health = status["health"]
    print(f"aegisd {status['version']} (pid {status['pid']}) — {health['status']}")
    print(f"  socket   {status['socket']}")
    print(f"  uptime   {status['uptime_s']:.0f} s, {status['requests']['total']} requests")
    for reason in health["reasons"]:
        print(f"  ! {reason}")
    print(f"  workspaces ({len(status['workspaces'])}):")
    for ws in status["workspaces"]:
        state = "degraded" if ws["degraded"] else "pending" if ws["pending"] else "fresh"
        trust = "trusted" if ws.get("trusted") else "not trusted"
        print(f"    {ws['id']}  {ws['root']}  clock {ws['clock']}  {state}, {trust}")
    active = [p["name"] for p in status["plugins"] if p["status"] == "active"]
    print(f"  plugins: {', '.join(active)}")
    loading = [p["name"] for p in status["plugins"] if p["status"] == "loading"]
    if loading:
        print(f"  loading: {', '.join(loading)}")
    for plugin in status["plugins"]:
        if plugin["status"] == "blocked":
            print(f"  ! plugin {plugin['name']} blocked: {plugin['error']}")
    return EXIT_OK


def _stop(args: argparse.Namespace) -> int:
    from aegisd.client import DaemonUnavailable, RpcCallError

    try:
        _client(args).call("daemon.shutdown")
    except (DaemonUnavailable, RpcCallError) as exc:
        _unavailable(exc)
        return EXIT_UNAVAILABLE
    print("aegisd: stopping")
    return EXIT_OK


def _mcp(args: argparse.Namespace) -> int:
    from aegisd.mcp import run_mcp

    return run_mcp(args.socket)


def _lsp(args: argparse.Namespace) -> int:
    from aegisd.lsp.server import run_lsp

    return run_lsp(args.socket)


def _trust(args: argparse.Namespace) -> int:
    from aegisd.client import DaemonUnavailable, RpcCallError

    root = os.path.abspath(args.dir)
    try:
        answer = _client(args).call(
            "workspace.trust", {"workspace": root, "trusted": not args.revoke}
        )
    except RpcCallError as exc:
        print(f"aegisd: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except DaemonUnavailable as exc:
        print(f"aegisd: {exc} (start it with `aegisd serve`)", file=sys.stderr)
        return EXIT_UNAVAILABLE
    state = "trusted" if answer["trusted"] else "not trusted"
    print(f"{answer['root']}: {state}")
    for ws in answer["workspaces"]:
        print(f"  open workspace {ws['id']}  {ws['root']}")
    return EXIT_OK


def _install_service(args: argparse.Namespace) -> int:
    from aegisd.service import install_units

    return install_units(args.unit_dir)


if __name__ == "__main__":
    sys.exit(main())
