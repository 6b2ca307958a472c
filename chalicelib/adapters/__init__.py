"""The only place boto3 is imported: repositories, identity, channels."""
