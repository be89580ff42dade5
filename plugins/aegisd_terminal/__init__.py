"""aegisd_terminal: PTY sessions over the WebSocket, shared by viewers, recorded and audited.

`terminal.open` starts a program (the user's login shell by default) in a pseudo-terminal in
a trusted workspace; its output is pushed as `terminal.output {id, seq, data}` to every
WebSocket attached to it and kept in a scrollback ring, so `terminal.attach {since_seq}`
replays what a viewer missed. Sessions outlive their viewers and end with the daemon.

Where things are: `hooks` (wiring only), `rpc` (params, results, handlers), `service` (the
per-daemon sessions, caps, shutdown, retention), `session` (one PTY: reading, coalescing,
fan-out to viewers, exit), `spawn` (starting a program on a new PTY), `group` (hanging up
every process of a session), `ring` (scrollback), `recording` (asciicast v2 files), `marks`
(OSC 133 shell integration), `shellrc` (the bash rc installing it), `auditlink` (commands as
audit events), `page` and `static/` (`GET /dashboard/terminal`, xterm.js vendored).
"""
