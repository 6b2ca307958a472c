"""Developer tooling: the local stack (not packaged into the Lambda)."""
