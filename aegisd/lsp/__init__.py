"""`aegisd lsp`: the Language Server (pygls) every editor can attach to, backed by the daemon.

`server` registers the LSP methods; `session` holds one editor's folders and its `link` to the
daemon; `diagnostics`, `navigation` and `progress` are the features; `convert` turns the
daemon's shapes into LSP types. Nothing here runs plugin code: the daemon does the work.
"""
