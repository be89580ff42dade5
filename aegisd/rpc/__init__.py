"""JSON-RPC 2.0: envelope parsing, the method registry, dispatch, the error table and transports."""
