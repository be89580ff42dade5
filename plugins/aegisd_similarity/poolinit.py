"""Preloaded by the analysis pool's forkserver: imports the tokenizers and grammars once, and
makes that server process exit with the daemon.

Imported only in the forkserver (never in the daemon), so the side effect below applies to it
alone; workers forked from it ask the same for themselves (`aegisd.workers.background_worker`).
"""

from aegisd.workers import die_with_daemon

die_with_daemon()
