"""The web firewalls' logs, one way for both (the API's regional ACL and the console's edge ACL).

Only what a firewall blocked (or, for the API, counted) is kept, in a KMS-encrypted log group kept a year,
and never a credential: the ``authorization`` header, the console's session ``cookie`` and the query
string are redacted.
"""

from __future__ import annotations

from aws_cdk import Aws
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct


def firewall_logging(
    scope: Construct, name: str, log_group_name: str, key: kms.IKey, acl_arn: str, keep: tuple[str, ...]
) -> tuple[logs.LogGroup, wafv2.CfnLoggingConfiguration]:
    """``<name>FirewallLogs`` (WAF needs the ``aws-waf-logs-`` prefix) and ``<name>FirewallLogging``."""
    group = logs.LogGroup(
        scope,
        f"{name}FirewallLogs",
        log_group_name=log_group_name,
        encryption_key=key,
        retention=logs.RetentionDays.ONE_YEAR,
    )
    logging = wafv2.CfnLoggingConfiguration(
        scope,
        f"{name}FirewallLogging",
        resource_arn=acl_arn,
        log_destination_configs=[
            f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:{group.log_group_name}"
        ],
        redacted_fields=[
            wafv2.CfnLoggingConfiguration.FieldToMatchProperty(single_header={"Name": "authorization"}),
            wafv2.CfnLoggingConfiguration.FieldToMatchProperty(single_header={"Name": "cookie"}),
            wafv2.CfnLoggingConfiguration.FieldToMatchProperty(query_string={}),
        ],
        logging_filter={
            "DefaultBehavior": "DROP",
            "Filters": [
                {
                    "Behavior": "KEEP",
                    "Requirement": "MEETS_ANY",
                    "Conditions": [{"ActionCondition": {"Action": action}} for action in keep],
                }
            ],
        },
    )
    return group, logging
