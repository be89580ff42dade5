"""`aegisd audit hook` and `aegisd audit exec`, added through the `aegisd_cli_commands` hook.

Only argparse here: every `aegisd` command loads this module, so the handlers import
`aegisd_audit.cli` (the client side of the audit trail) when they run.
"""

from __future__ import annotations

import argparse
import sys

from aegisd import hookimpl


def _hook(args: argparse.Namespace) -> int:
    from aegisd_audit import cli

    return cli.hook_command(args.socket, args.data_dir, sys.stdin.read())


def _exec(args: argparse.Namespace) -> int:
    from aegisd_audit import cli

    return cli.exec_command(args.socket, args.run, args.argv, args.actor)


@hookimpl
def aegisd_cli_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`aegisd audit hook` (an agent hook payload on stdin) and `aegisd audit exec`."""
    audit = subparsers.add_parser(
        "audit", help="agent audit trail: record a command or an agent hook"
    )
    commands = audit.add_subparsers(dest="audit_command", required=True)
    socket_help = "daemon socket (default: AEGISD_SOCKET, then XDG path)"
    hook = commands.add_parser("hook", help="record one agent hook payload read on stdin")
    hook.add_argument("--socket", help=socket_help)
    hook.add_argument("--data-dir", help="state directory (where the spool is kept)")
    hook.set_defaults(handler=_hook)
    run = commands.add_parser(
        "exec", help="run CMD and record it: aegisd audit exec --run ID -- CMD"
    )
    run.add_argument("--run", type=int, required=True, help="the run to record in")
    run.add_argument("--actor", choices=["agent", "human", "system"], default="agent")
    run.add_argument("--socket", help=socket_help)
    run.add_argument("argv", nargs=argparse.REMAINDER, help="-- CMD ARGS...")
    run.set_defaults(handler=_exec)
