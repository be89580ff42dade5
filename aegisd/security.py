"""Who may talk to the daemon: same-uid peers on the Unix socket, token holders over TCP.

The Unix socket is already 0600 in a 0700 directory; SO_PEERCRED is checked as well, so a
socket passed around (or a loosened directory) still admits only this user. TCP is loopback
only and needs `Authorization: Bearer <token>`, the token living 0600 in the state dir.
"""

from __future__ import annotations

import hmac
import os
import secrets
import socket
import struct
import weakref
from pathlib import Path
from typing import Any

from aegisd.dirs import make_private_dirs

TOKEN_FILE = "token"
_UCRED = struct.Struct("3i")


def load_or_create_token(data_dir: Path) -> str:
    """The TCP bearer token: created on first use, file mode 0600."""
    path = data_dir / TOKEN_FILE
    make_private_dirs(data_dir)
    try:
        token = path.read_text().strip()
        if token:
            os.chmod(path, 0o600)
            return token
    except FileNotFoundError:
        pass
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")
    return token


def bearer_ok(header: str | None, token: str) -> bool:
    if not header or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header[len("Bearer ") :].strip().encode(), token.encode())


class PeerCheck:
    """Remembers per connection whether its peer runs as this user."""

    def __init__(self, uid: int | None = None) -> None:
        self.uid = os.getuid() if uid is None else uid
        self._verdicts: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()

    def allowed(self, transport: Any) -> bool:
        verdict = self._verdicts.get(transport)
        if verdict is None:
            verdict = self._verdicts[transport] = self._check(transport)
        return verdict

    def _check(self, transport: Any) -> bool:
        sock = transport.get_extra_info("socket") if transport is not None else None
        if sock is None or sock.family != socket.AF_UNIX:
            return True  # TCP is guarded by the token instead
        try:
            raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
        except OSError:
            return False
        _pid, uid, _gid = _UCRED.unpack(raw)
        return bool(uid == self.uid)
