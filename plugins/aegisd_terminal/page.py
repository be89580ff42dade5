"""`GET /dashboard/terminal`: a terminal page on xterm.js (vendored in `static/`, never a CDN).

The page lists sessions, opens one, attaches to an existing one and resizes with the window.
Its Content-Security-Policy admits scripts and styles from the daemon only; the style
elements xterm.js creates carry a nonce made per response (`static/terminal.js` adds it), and
connections go to the daemon's own origin. Over TCP the page is `/dashboard/terminal?token=...`:
its files are fetched with the same query, and its WebSocket offers the token as a
subprotocol (`aegisd.token.<token>`), never in a URL.
"""

from __future__ import annotations

import html
import re
import secrets
from pathlib import Path
from urllib.parse import quote

from aiohttp import web

from aegisd.rpc.registry import Page

STATIC = Path(__file__).parent / "static"
FILES = {
    "xterm.js": "text/javascript",
    "xterm.css": "text/css",
    "addon-fit.js": "text/javascript",
    "terminal.js": "text/javascript",
    "terminal.css": "text/css",
}
_HOST = re.compile(r"[A-Za-z0-9.\-:\[\]]+")
PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>aegisd terminal</title>
<link rel="stylesheet" href="terminal/xterm.css{query}">
<link rel="stylesheet" href="terminal/terminal.css{query}">
</head>
<body data-status="loading">
<header>
<h1>aegisd terminal</h1>
<label>workspace <select id="workspace"></select></label>
<button id="new" type="button">New terminal</button>
<label>sessions <select id="sessions"></select></label>
<button id="attach" type="button">Attach</button>
<span id="status">loading</span>
</header>
<div id="term"></div>
<script src="terminal/xterm.js{query}"></script>
<script src="terminal/addon-fit.js{query}"></script>
<script src="terminal/terminal.js{query}" nonce="{nonce}"></script>
</body>
</html>
"""
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


def policy(nonce: str, host: str) -> str:
    sockets = f" ws://{host} wss://{host}" if _HOST.fullmatch(host) else ""
    return (
        f"default-src 'none'; script-src 'self'; style-src 'self' 'nonce-{nonce}'; "
        f"connect-src 'self'{sockets}; img-src data:; font-src 'self'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    )


async def serve(request: web.Request) -> web.StreamResponse:
    name = request.match_info.get("file", "")
    if name:
        if name not in FILES:
            raise web.HTTPNotFound(text="no such file")
        headers = {**HEADERS, "Content-Type": FILES[name], "Cache-Control": "private, max-age=300"}
        return web.FileResponse(STATIC / name, headers=headers)
    nonce = secrets.token_urlsafe(18)
    token = request.query.get("token")
    query = html.escape(f"?token={quote(token, safe='')}") if token else ""
    body = PAGE.format(query=query, nonce=nonce)
    headers = {**HEADERS, "Content-Security-Policy": policy(nonce, request.host)}
    return web.Response(text=body, content_type="text/html", charset="utf-8", headers=headers)


def pages() -> list[Page]:
    return [Page("terminal", serve, "A terminal on xterm.js: open, attach, resize")]
