"""The `aegisd` command: serve | call | status | stop | mcp | audit | install-service.

Heavy imports (aiohttp, pydantic, peewee) happen only in the commands that need them, so the
client commands start fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

EXIT_OK, EXIT_ERROR, EXIT_UNAVAILABLE = 0, 1, 2


def _add_socket(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--socket", help="daemon socket (default: AEGISD_SOCKET, then XDG path)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aegisd", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command")

    serve = sub.add_parser("serve", help="run the daemon in the foreground")
    serve.add_argument("--root", action="append", default=[], help="open DIR as a workspace")
    _add_socket(serve)
    serve.add_argument("--data-dir", help="state directory (database, spool, token)")
    serve.add_argument("--config", help="user config file (TOML)")
    serve.add_argument("--tcp", help="also listen on HOST:PORT (loopback only, token required)")
    serve.add_argument("--log-format", choices=["text", "json"])
    serve.add_argument("--log-level")

    call = sub.add_parser("call", help="call a JSON-RPC method and print its result")
    call.add_argument("method")
    call.add_argument("params", nargs="?", help="params as a JSON object or array")
    _add_socket(call)
    call.add_argument("--timeout", type=float, default=600.0)
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

    audit = sub.add_parser("audit", help="agent audit trail: record a command or an agent hook")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    hook = audit_sub.add_parser("hook", help="record one agent hook payload read on stdin")
    _add_socket(hook)
    hook.add_argument("--data-dir", help="state directory (where the spool is kept)")
    run = audit_sub.add_parser(
        "exec", help="run CMD and record it: aegisd audit exec --run ID -- CMD"
    )
    run.add_argument("--run", type=int, required=True, help="the run to record in")
    run.add_argument("--actor", choices=["agent", "human", "system"], default="agent")
    _add_socket(run)
    run.add_argument("argv", nargs=argparse.REMAINDER, help="-- CMD ARGS...")

    install = sub.add_parser("install-service", help="write the systemd user units")
    install.add_argument("--unit-dir", help="default: ~/.config/systemd/user")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from aegisd import __version__

        print(__version__)
        return EXIT_OK
    handlers = {
        "serve": _serve,
        "call": _call,
        "status": _status,
        "stop": _stop,
        "mcp": _mcp,
        "audit": _audit,
        "install-service": _install_service,
    }
    if args.command not in handlers:
        parser.print_help()
        return EXIT_UNAVAILABLE
    return handlers[args.command](args)


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
        "roots": args.root or None,
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
    from aegisd.client import DaemonUnavailable, RpcCallError

    params = None
    if args.params is not None:
        try:
            params = json.loads(args.params)
        except ValueError as exc:
            print(f"aegisd: PARAMS_JSON is not valid JSON: {exc}", file=sys.stderr)
            return EXIT_UNAVAILABLE
    show_progress = args.progress if args.progress is not None else sys.stderr.isatty()
    try:
        if show_progress:
            result = _call_with_progress(args, params)
        else:
            result = _client(args, timeout=args.timeout).call(args.method, params)
    except RpcCallError as exc:
        print(json.dumps(exc.error, indent=2), file=sys.stderr)
        return EXIT_ERROR
    except DaemonUnavailable as exc:
        print(f"aegisd: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    print(json.dumps(result, indent=2))
    return EXIT_OK


def _call_with_progress(args: argparse.Namespace, params: Any) -> Any:
    import asyncio

    import aiohttp

    from aegisd.client import DaemonUnavailable, RpcCallError
    from aegisd.paths import resolve_socket
    from aegisd.progress_client import call_with_progress

    socket = resolve_socket(args.socket)
    try:
        answer = asyncio.run(call_with_progress(socket, args.method, params, args.timeout))
    except (aiohttp.ClientConnectionError, ConnectionError, FileNotFoundError) as exc:
        raise DaemonUnavailable(f"no aegisd answers on {socket}: {exc}") from exc
    if "error" in answer:
        raise RpcCallError(answer["error"])
    return answer.get("result")


def _status(args: argparse.Namespace) -> int:
    from aegisd.client import DaemonUnavailable, RpcCallError

    try:
        status = _client(args).call("daemon.status")
    except (DaemonUnavailable, RpcCallError) as exc:
        print(f"aegisd: {exc}", file=sys.stderr)
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
        print(f"    {ws['id']}  {ws['root']}  clock {ws['clock']}  {state}")
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
        print(f"aegisd: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    print("aegisd: stopping")
    return EXIT_OK


def _mcp(args: argparse.Namespace) -> int:
    from aegisd.mcp import run_mcp

    return run_mcp(args.socket)


def _audit(args: argparse.Namespace) -> int:
    from aegisd_audit import cli as audit_cli  # the built-in audit plugin's client side

    if args.audit_command == "hook":
        return audit_cli.hook_command(args.socket, args.data_dir, sys.stdin.read())
    return audit_cli.exec_command(args.socket, args.run, args.argv, args.actor)


def _install_service(args: argparse.Namespace) -> int:
    from aegisd.service import install_units

    return install_units(args.unit_dir)


if __name__ == "__main__":
    sys.exit(main())
