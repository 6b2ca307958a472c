"""Pure rules and models: no boto3, no chalice, no environment."""
