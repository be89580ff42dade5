"""aegisd: a per-user daemon serving a live model of each open codebase.

Nothing runs on import: this module only holds the version and the pluggy markers that plugins
(built-in and third-party alike) use to declare hook implementations.
"""

import pluggy

__version__ = "0.1.0"

PROJECT_NAME = "aegisd"

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
hookspec = pluggy.HookspecMarker(PROJECT_NAME)

__all__ = ["PROJECT_NAME", "__version__", "hookimpl", "hookspec"]
