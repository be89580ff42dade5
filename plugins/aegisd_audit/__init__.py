"""aegisd_audit: the audit trail of what AI agents (and people) did in a workspace.

A run is one agent session; its events (commands and their results, tool calls, file changes with
diffs, notes, phase changes) arrive through `audit.*` RPC methods, through `aegisd audit exec`
(which records a command and its outcome), through `aegisd audit hook` (the bridge for coding
agents' hook payloads, spooled to the state dir while no daemon answers) and from the daemon's own
file watching. Everything passes through `redact` (secrets become ``[REDACTED]``) and `limits`
(sizes are capped with a ``truncated`` flag, never cut silently) before it is stored. The modules
used by the short-lived hook process (`hookbridge`, `spool`, `redact`, `events`, `limits`) import
only the standard library so that the hook starts fast.
"""
