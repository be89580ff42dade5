"""aegisd_audit: the audit trail of what AI agents (and people) did in a workspace.

A run is one agent session; its events (commands and their results, tool calls, file changes with
diffs, notes, phase changes) arrive through `audit.*` RPC methods, through `aegisd audit exec`
(which records a command and its outcome), through `aegisd audit hook` (the bridge for coding
agents' hook payloads, spooled to the state dir while no daemon answers) and from the daemon's own
file watching. Everything passes through `redact` (secrets become ``[REDACTED]``) and `limits`
(sizes are capped with a ``truncated`` flag, never cut silently) before it is stored.

Where things are: `hooks` (wiring only), `rpc` (params, results, handlers), `service` (the
per-daemon state: runs, capture, retention), `writer` (group commit), `store` (tables and
queries), `capture` / `diffing` (file changes and their diffs), `replay` / `spool` (the hook's
spool), `lintlink` / `rundiff` (`audit.diff`), `commands` / `cli` / `hookbridge` / `execcmd`
(the client commands). The modules the short-lived hook process uses (`commands`, `cli`,
`hookbridge`, `spool`, `redact`, `limits`) import only the standard library and aegisd's light
client, so that the hook starts fast.
"""
