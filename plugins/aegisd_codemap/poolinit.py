"""Preloaded by the parser pool's forkserver: that server process exits with the daemon.

Imported only in the forkserver (never in the daemon), so the side effect below applies to it
alone; workers forked from it ask the same for themselves (`aegisd.workers.background_worker`). Without
this a daemon killed with SIGKILL would leave its forkserver and workers running.
"""

from aegisd.workers import die_with_daemon

die_with_daemon()
