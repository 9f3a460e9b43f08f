"""One module per sender: its payload, checked, becomes a Plan of lead actions (no I/O here)."""
