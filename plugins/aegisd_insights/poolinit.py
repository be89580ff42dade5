"""Preloaded by the insights worker's forkserver when that pool starts it first: the server
exits with the daemon (see `aegisd_codemap.poolinit`). Imported only there, never in the
daemon."""

from aegisd.workers import die_with_daemon

die_with_daemon()
