"""The core's own methods, contributed through the same hooks as any plugin."""
