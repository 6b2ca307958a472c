"""HTTP edge: one Blueprint per resource; parse, call one service, serialize."""
