"""Create every resource of ``chalicelib.resources`` on the local emulators.

Idempotent: tables that exist (DynamoDB Local persists them) are kept; moto
resources are recreated each start because moto keeps them in memory.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import boto3

from chalicelib import resources

REGION = "us-east-1"
KEYS = {"aws_access_key_id": "local", "aws_secret_access_key": "local", "region_name": REGION}
TABLE_NAME = "carewire"
AUDIT_TABLE_NAME = "carewire-audit"


def create_tables(dynamodb: Any) -> None:
    existing = set(dynamodb.list_tables()["TableNames"])
    for name, definition in ((TABLE_NAME, resources.MAIN_TABLE), (AUDIT_TABLE_NAME, resources.AUDIT_TABLE)):
        if name not in existing:
            dynamodb.create_table(TableName=name, **copy.deepcopy(definition))
        dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})


def create_resources(dynamodb_url: str, aws_url: str) -> dict[str, str]:
    create_tables(boto3.client("dynamodb", endpoint_url=dynamodb_url, **KEYS))

    sqs = boto3.client("sqs", endpoint_url=aws_url, **KEYS)
    for name, spec in resources.QUEUES.items():
        dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sqs.create_queue(
            QueueName=name,
            Attributes={
                "VisibilityTimeout": str(spec["visibility_timeout"]),
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(spec["max_receive_count"])}
                ),
            },
        )
    sns = boto3.client("sns", endpoint_url=aws_url, **KEYS)
    for topic in resources.TOPICS:
        sns.create_topic(Name=topic)
    apns = sns.create_platform_application(
        Name="carewire-apns", Platform="APNS", Attributes={"PlatformCredential": "local", "PlatformPrincipal": "local"}
    )["PlatformApplicationArn"]
    fcm = sns.create_platform_application(
        Name="carewire-fcm", Platform="GCM", Attributes={"PlatformCredential": "local"}
    )["PlatformApplicationArn"]
    boto3.client("sesv2", endpoint_url=aws_url, **KEYS).create_email_identity(EmailIdentity="clinic.example")

    cognito = boto3.client("cognito-idp", endpoint_url=aws_url, **KEYS)
    # Two pools, as deployed: patients and staff.  The staff pool's MFA (required in AWS) stays off
    # here: /_local/token signs in with a password alone.
    pools: dict[str, str] = {}
    for kind, groups in resources.USER_POOLS.items():
        pool = cognito.create_user_pool(PoolName=f"carewire-local-{kind}")["UserPool"]["Id"]
        for group in groups:
            cognito.create_group(GroupName=group, UserPoolId=pool)
        pools[f"{kind}_pool"] = pool
        pools[f"{kind}_client"] = cognito.create_user_pool_client(
            UserPoolId=pool,
            ClientName=f"carewire-{kind}",
            # The console signs in with SRP (and renews with the refresh token); /_local/token with a password.
            ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        )["UserPoolClient"]["ClientId"]
    return {
        "user_pool_id": pools["patients_pool"],
        "app_client_id": pools["patients_client"],
        "staff_user_pool_id": pools["staff_pool"],
        "staff_app_client_id": pools["staff_client"],
        "apns_platform_arn": apns,
        "fcm_platform_arn": fcm,
    }
