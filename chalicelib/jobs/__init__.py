"""Non-HTTP edges: stream, queue, schedule and inbound handlers."""
