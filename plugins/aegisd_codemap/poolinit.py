"""Preloaded by the parser pool's forkserver: that server process exits with the daemon.

Imported only in the forkserver (never in the daemon), so the side effect below applies to it
alone; workers forked from it ask the same for themselves (`parsing.die_with_parent`). Without
this a daemon killed with SIGKILL would leave its forkserver and workers running.
"""

from aegisd_codemap.parsing import die_with_parent

die_with_parent()
