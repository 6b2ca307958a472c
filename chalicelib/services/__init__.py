"""Use cases: take ports, return domain models."""
