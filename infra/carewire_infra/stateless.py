"""The stateless stack: the Chalice app (every Lambda and its event sources), its roles and alarms.

``chalice.cdk.Chalice`` runs ``chalice package`` at synth and includes the SAM
template; this stack then adds what Chalice's config cannot express: partial
batch responses, bisect-on-error and an on-failure queue for the stream, API
Gateway throttling, access logs and problem+json gateway responses, the edge
(Cognito authorizer, AWS WAF, usage plan), encrypted log groups and
environments, fixed function names and one least-privilege role per function;
and the console's CloudFront distribution in front of the stage (console.py),
whose origin the API handler is told.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, CfnResource, Duration, Fn, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sam as sam
from aws_cdk import aws_wafv2 as wafv2
from aws_cdk import custom_resources as cr
from constructs import Construct

from chalicelib import resources
from chalicelib.api.problems import PROBLEM_JSON, problem_body
from infra.carewire_infra.console import EDGE_HEADER, ConsoleEdge, ConsoleOptions, edge_secret
from infra.carewire_infra.firewall import firewall_logging
from infra.carewire_infra.nag import acknowledge
from infra.carewire_infra.stateful import StatefulStack

ROOT = Path(__file__).resolve().parents[2]
API_STAGE = "api"
FUNCTIONS = (
    "api_handler",
    "on_table_change",
    "deliver_messages",
    "run_due_work",
    "receive_sms",
    "delivery_events",
    "sms_delivery_logs",
    "tick",
)
LOGICAL = {
    "api_handler": "APIHandler",
    "on_table_change": "OnTableChange",
    "deliver_messages": "DeliverMessages",
    "run_due_work": "RunDueWork",
    "receive_sms": "ReceiveSms",
    "delivery_events": "DeliveryEvents",
    "sms_delivery_logs": "SmsDeliveryLogs",
    "tick": "Tick",
}
# What became of a sent message (issue 19): SES events and push failures on the delivery-events topic,
# SNS's SMS delivery status logs through a subscription filter.  Both update a message's status, mark an
# address unreachable on a profile, remove a dead push device and enqueue the fallback on the next channel.
DELIVERY_RECEIVERS = ("delivery_events", "sms_delivery_logs")
# IAM has no action for a transaction: TransactWriteItems is authorised item by item as PutItem, UpdateItem,
# DeleteItem and, for a ConditionCheck, ConditionCheckItem (DynamoDB "Using IAM with transactions").
DELIVERY_TABLE_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:Query",
)
# What the table writers' grants give them on the data key (CDK's grantReadWriteData on a CMK table).
DATA_KEY_USE = ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*")
# SNS writes SMS delivery status logs into these groups, named per account and region, once the account's
# SMS attributes name a role for it (docs/deploy.md "Delivery events").
SMS_STATUS_LOGS = ("DirectPublishToPhoneNumber", "DirectPublishToPhoneNumber/Failure")
# Email bounce and complaint rates (per cent, over a day) at which ops hears of it: AWS reviews an account
# at 5 % bounces and 0.1 % complaints; SES's own reputation metrics (fractions) alarm a little later.
EMAIL_BOUNCE_RATE_PERCENT = 2.0
EMAIL_COMPLAINT_RATE_PERCENT = 0.05
SES_REPUTATION_BOUNCE_RATE = 0.04
SES_REPUTATION_COMPLAINT_RATE = 0.0008
AUDIT_WRITERS = ("api_handler", "on_table_change", "receive_sms", "run_due_work")
AUDIT_DENIED = {
    "dynamodb:DeleteItem",
    "dynamodb:UpdateItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:PartiQLDelete",
    "dynamodb:PartiQLUpdate",
}
# Routes anyone may call: API Gateway's Cognito authorizer guards every other one (the app still checks
# the token itself).  A route added to this list is public at the edge; one missing from it is refused there.
PUBLIC_PATHS = ("/health", "/openapi.json")
# The console's pages authenticate by their session cookie (chalicelib/console/web.py); a browser sends no
# bearer token, so the gateway's authorizer would refuse every page.  The app authenticates each of them.
COOKIE_PATHS = "/console"


def public_at_the_gateway(path: str) -> bool:
    return path in PUBLIC_PATHS or path == COOKIE_PATHS or path.startswith(COOKIE_PATHS + "/")


# API Gateway's Cognito authorizer takes an ID token unless the method names OAuth scopes; with scopes it
# takes an access token carrying one of them.  Tokens from the user-pool sign-in APIs (SRP, the app's flow)
# carry exactly this scope, and the app accepts access tokens only.
ACCESS_TOKEN_SCOPES = ["aws.cognito.signin.user.admin"]
COGNITO_AUTHORIZER = "CognitoUserPools"
# AWS managed rule groups in front of the API, in evaluation order after the per-IP rate rule.
MANAGED_RULE_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
)

# What API Gateway answers itself, before the app runs, in the app's problem+json shape (problems.py):
# response type -> (status, slug, title, detail).  Every type AWS documents has its own entry and a fixed
# status, because a template cannot read the status ($context.status is an access-log variable) and a
# status set on DEFAULT_4XX/5XX becomes the status of every type left to fall back on them.  The bodies
# are constants: nothing from the request (API Gateway's own message may echo the Authorization header).
NOT_FOUND = (404, "not-found", "Not found", "No such resource.")
GATEWAY_PROBLEMS: dict[str, tuple[int, str, str, str]] = {
    # An unknown path, or a method a path does not have: API Gateway's "403 Missing Authentication Token".
    "MISSING_AUTHENTICATION_TOKEN": NOT_FOUND,
    "RESOURCE_NOT_FOUND": NOT_FOUND,
    "UNAUTHORIZED": (401, "unauthenticated", "Unauthenticated", "The request is not authenticated."),
    "ACCESS_DENIED": (403, "forbidden", "Forbidden", "The request is not allowed."),
    "EXPIRED_TOKEN": (403, "forbidden", "Forbidden", "The request is not allowed."),
    "INVALID_API_KEY": (403, "forbidden", "Forbidden", "The request is not allowed."),
    "INVALID_SIGNATURE": (403, "forbidden", "Forbidden", "The request is not allowed."),
    "WAF_FILTERED": (403, "forbidden", "Forbidden", "The request is not allowed."),
    "BAD_REQUEST_PARAMETERS": (400, "bad-request", "Bad request", "The request is malformed."),
    "BAD_REQUEST_BODY": (400, "bad-request", "Bad request", "The request is malformed."),
    "REQUEST_TOO_LARGE": (413, "payload-too-large", "Payload too large", "The request body is too large."),
    "UNSUPPORTED_MEDIA_TYPE": (415, "unsupported-media-type", "Unsupported media type", "Send application/json."),
    "THROTTLED": (429, "too-many-requests", "Too many requests", "Slow down and retry."),
    "QUOTA_EXCEEDED": (429, "too-many-requests", "Too many requests", "Slow down and retry."),
    "INTEGRATION_TIMEOUT": (504, "gateway-timeout", "Gateway timeout", "The request took too long; retry it."),
    "INTEGRATION_FAILURE": (504, "gateway-timeout", "Gateway timeout", "The request could not be completed."),
    "API_CONFIGURATION_ERROR": (500, "internal", "Internal error", "An internal error occurred."),
    "AUTHORIZER_CONFIGURATION_ERROR": (500, "internal", "Internal error", "An internal error occurred."),
    "AUTHORIZER_FAILURE": (500, "internal", "Internal error", "An internal error occurred."),
    # Only a type AWS adds later falls back here.
    "DEFAULT_4XX": (400, "bad-request", "Bad request", "The request cannot be served."),
    "DEFAULT_5XX": (500, "internal", "Internal error", "An internal error occurred."),
}


def push_endpoints(applications: tuple[str, ...]) -> list[str]:
    """The endpoint ARNs of platform applications: …:app/APNS/name -> …:endpoint/APNS/name/*."""
    return [arn.replace(":app/", ":endpoint/", 1) + "/*" for arn in applications]


def gateway_responses() -> dict[str, dict[str, Any]]:
    """The SAM Api's GatewayResponses: SAM writes them into the API definition, so a change redeploys the stage."""
    responses = {}
    for response_type, (status, slug, title, detail) in GATEWAY_PROBLEMS.items():
        body = json.dumps(problem_body(status, slug, title, detail))
        responses[response_type] = {
            "StatusCode": str(status),
            "ResponseParameters": {"Headers": {"Content-Type": f"'{PROBLEM_JSON}'"}},
            # Keyed by what a client may Accept; either way the body and Content-Type are problem+json.
            "ResponseTemplates": {PROBLEM_JSON: body, "application/json": body},
        }
    return responses


@dataclass(frozen=True)
class Channels:
    """What the operator configures per stage (cdk.json context or ``-c``)."""

    email_sender: str = "care@clinic.example"
    sms_origination_number: str | None = None
    sms_sender_id: str | None = None
    voice_origination_identity: str | None = None
    # Calling codes SMS and voice may reach ("+1,+351"); every other number is refused (docs/api.md "Trust rules").
    sms_countries: str = "+1"
    # SNS's SMS delivery status logs are per account and region: "own" creates their log groups, the role
    # SNS writes with and the account's SMS attributes; "shared" only subscribes to the groups another
    # stage in the same account and region owns (-c sms_delivery_logs=shared, deployed after that stage).
    sms_delivery_logs: str = "own"
    platform_application_arns: tuple[str, ...] = field(default_factory=tuple)
    clinic_name: str = "Carewire Clinic"
    # The clinic's support phone, named in every patient safety message (docs/clinical.md "Safety net" rule 11).
    support_contact: str = "your care team"
    # Where a page's opaque alert link points (the clinician console); unset: the console on the
    # distribution's origin (console.py), https://<domain>/console.
    console_url: str | None = None
    # SMS sending is throttled per account (MPS); deliveries run at most this many at once.
    deliver_concurrency: int = 5
    api_rate_per_second: int = 100
    api_burst: int = 200
    # AWS WAF: requests one client IP may make in any 5 minutes before it is blocked (a clinic behind
    # one NAT address shares it: raise it with -c waf_requests_per_ip=…).
    waf_requests_per_ip: int = 1000
    # Years a discharged patient's record is kept whole before it is de-identified (docs/api.md "Retention").
    retention_years: int = 6


class StatelessStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        data: StatefulStack,
        channels: Channels,
        console: ConsoleOptions | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        from chalice.cdk import Chalice

        prefix = f"carewire-{stage}"
        names = {fn: f"{prefix}-{fn.replace('_', '-')}" for fn in FUNCTIONS}
        self.function_names = names
        self.roles = {fn: self._role(fn, names[fn], data) for fn in FUNCTIONS}
        self._grant(data, channels)

        environment = {
            "CAREWIRE_STAGE": stage if stage in ("dev", "prod") else "dev",
            "CAREWIRE_TABLE": data.table.table_name,
            "CAREWIRE_AUDIT_TABLE": data.audit_table.table_name,
            "CAREWIRE_USER_POOL_ID": data.users.user_pool_id,
            "CAREWIRE_APP_CLIENT_IDS": data.app_client.user_pool_client_id,
            "CAREWIRE_STAFF_USER_POOL_ID": data.staff.user_pool_id,
            "CAREWIRE_STAFF_APP_CLIENT_IDS": data.staff_client.user_pool_client_id,
            # The ARN, not the value (F8): the API reads the secret from Secrets Manager at first use.
            "CAREWIRE_CURSOR_SECRET_ARN": data.cursor_secret.secret_arn,
            # Plain physical names (chalice puts them inside Fn::Sub, where a token cannot go);
            # the stateful stack gives its queues and topics exactly these names.
            "CAREWIRE_OUTBOUND_QUEUE": f"{prefix}-outbound",
            "CAREWIRE_DUE_WORK_QUEUE": f"{prefix}-due-work",
            "CAREWIRE_INBOUND_SMS_TOPIC": f"{prefix}-inbound-sms",
            "CAREWIRE_DELIVERY_EVENTS_TOPIC": f"{prefix}-delivery-events",
            "CAREWIRE_EMAIL_SENDER": channels.email_sender,
            "CAREWIRE_SES_CONFIGURATION_SET": data.email.configuration_set_name,
            "CAREWIRE_CLINIC_NAME": channels.clinic_name,
            "CAREWIRE_SUPPORT_CONTACT": channels.support_contact,
            "CAREWIRE_SMS_COUNTRIES": channels.sms_countries,
            "CAREWIRE_RETENTION_YEARS": str(channels.retention_years),
            "POWERTOOLS_SERVICE_NAME": "carewire",
            "POWERTOOLS_METRICS_NAMESPACE": "Carewire",
        }
        optional = {
            "CAREWIRE_CONSOLE_URL": channels.console_url,
            "CAREWIRE_SMS_ORIGINATION_NUMBER": channels.sms_origination_number,
            "CAREWIRE_SMS_SENDER_ID": channels.sms_sender_id,
            "CAREWIRE_VOICE_ORIGINATION_IDENTITY": channels.voice_origination_identity,
        }
        environment.update({k: v for k, v in optional.items() if v})
        # app.py reads the stream ARN and queue/topic names at import; chalice package imports it here.
        os.environ.update(
            {
                "CAREWIRE_TABLE_STREAM_ARN": data.table.table_stream_arn or "",
                "CAREWIRE_OUTBOUND_QUEUE": environment["CAREWIRE_OUTBOUND_QUEUE"],
                "CAREWIRE_DUE_WORK_QUEUE": environment["CAREWIRE_DUE_WORK_QUEUE"],
                "CAREWIRE_INBOUND_SMS_TOPIC": environment["CAREWIRE_INBOUND_SMS_TOPIC"],
                "CAREWIRE_DELIVERY_EVENTS_TOPIC": environment["CAREWIRE_DELIVERY_EVENTS_TOPIC"],
                "CAREWIRE_STAGE": environment["CAREWIRE_STAGE"],
            }
        )
        self.app = Chalice(
            self,
            "App",
            source_dir=str(ROOT),
            stage_config={
                "api_gateway_stage": API_STAGE,
                # Our own CloudFront distribution is the edge (console.py): no second, API Gateway-managed one.
                "api_gateway_endpoint_type": "REGIONAL",
                "manage_iam_role": False,
                "iam_role_arn": self.roles["api_handler"].role_arn,
                "environment_variables": environment,
                "lambda_memory_size": 512,
                "lambda_timeout": 30,
                "xray": True,
            },
        )
        self._customise(names, data, channels)
        self._delivery_events(prefix, data, channels)
        self._invoke_by_name(names["api_handler"])
        self.console = ConsoleEdge(
            self,
            "Console",
            prefix=prefix,
            rest_api_id=self.app.get_resource("RestAPI").ref,
            api_stage=API_STAGE,
            key_arn=data.key.key_arn,
            audit_table_arn=self.audit_table.table_arn,
            audit_denied=sorted(AUDIT_DENIED),
            options=console or ConsoleOptions(requests_per_ip=channels.waf_requests_per_ip),
        )
        self._tell_the_console_origin(channels)
        self._guard_the_edge(prefix, data, channels)
        self._alarms(names, data)
        self._acknowledge(names, data, channels)

    def _acknowledge(self, names: dict[str, str], data: StatefulStack, channels: Channels) -> None:
        def arn(service: str, rest: str) -> str:
            return f"arn:<AWS::Partition>:{service}:<AWS::Region>:<AWS::AccountId>:{rest}"

        table, audit = (f"table/carewire-{data.stage}", f"table/carewire-{data.stage}-audit")
        for fn, role in self.roles.items():
            logs_arn = arn("logs", f"log-group:/aws/lambda/{names[fn]}")
            acknowledge(
                role,
                {
                    "HIPAA.Security-IAMNoInlinePolicy": (
                        "One role per function; its policy is attached to that role alone, so a managed policy"
                        " would only add an object to keep in step"
                    ),
                    "AwsSolutions-IAM5[Resource::*]": (
                        "Only where AWS has no resource ARN: xray:PutTraceSegments/PutTelemetryRecords,"
                        " dynamodb:ListStreams"
                    ),
                    **{
                        f"AwsSolutions-IAM5[Resource::{endpoint}]": "The endpoints of one configured platform app"
                        for endpoint in push_endpoints(channels.platform_application_arns)
                    },
                    "AwsSolutions-IAM5[Action::kms:ReEncrypt*]": "CDK's grant on the one data key, no other key",
                    "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]": "CDK's grant on the one data key, no other key",
                    f"AwsSolutions-IAM5[Resource::{logs_arn}:*]": ("Log streams inside this function's own log group"),
                    f"AwsSolutions-IAM5[Resource::{arn('dynamodb', table)}/index/*]": (
                        "The table's own indexes (resources.py), which Query reads"
                    ),
                    f"AwsSolutions-IAM5[Resource::{arn('dynamodb', audit)}/index/*]": (
                        "The audit table's own indexes (by actor, by day)"
                    ),
                },
            )

    # -- roles ---------------------------------------------------------------------------

    def _role(self, fn: str, name: str, data: StatefulStack) -> iam.Role:
        role = iam.Role(
            self,
            f"{LOGICAL[fn]}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Carewire {fn}: least privilege",
        )
        log_group = f"arn:{self.partition}:logs:{self.region}:{self.account}:log-group:/aws/lambda/{name}"
        role.add_to_policy(
            iam.PolicyStatement(actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[f"{log_group}:*"])
        )
        role.add_to_policy(
            # X-Ray has no resource-level permissions: AWS requires "*".
            iam.PolicyStatement(actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"], resources=["*"])
        )
        return role

    def _tables(self, data: StatefulStack) -> tuple[dynamodb.ITable, dynamodb.ITable]:
        """The tables by name (ARNs the policies and cdk-nag can read), indexes from the one definition."""

        def imported(construct_id: str, name: str, definition: dict[str, Any], stream: str | None) -> dynamodb.ITable:
            return dynamodb.Table.from_table_attributes(
                self,
                construct_id,
                table_name=name,
                table_stream_arn=stream,
                encryption_key=data.key,
                local_indexes=[i["IndexName"] for i in definition.get("LocalSecondaryIndexes", [])],
                global_indexes=[i["IndexName"] for i in definition.get("GlobalSecondaryIndexes", [])],
            )

        prefix = f"carewire-{data.stage}"
        return (
            imported("Table", prefix, resources.MAIN_TABLE, data.table.table_stream_arn),
            imported("AuditTable", f"{prefix}-audit", resources.AUDIT_TABLE, None),
        )

    def _grant(self, data: StatefulStack, channels: Channels) -> None:
        r = self.roles
        table, audit = self._tables(data)
        self.audit_table = audit
        outbound, due_work = data.queues["outbound"], data.queues["due-work"]
        for fn in ("api_handler", "on_table_change", "deliver_messages", "run_due_work", "receive_sms"):
            table.grant_read_write_data(r[fn])
            outbound.grant_send_messages(r[fn])
        # The audit trail is append-only (F4): its writers may PutItem (a transaction's Put counts as one)
        # and nothing else; only the API reads it (GET /audit); every role is explicitly denied what
        # could change or remove a record, BatchWriteItem included (IAM cannot tell its puts from its
        # deletes).  The data key's grants come with the main table.
        for fn in AUDIT_WRITERS:
            r[fn].add_to_policy(iam.PolicyStatement(actions=["dynamodb:PutItem"], resources=[audit.table_arn]))
        r["api_handler"].add_to_policy(
            iam.PolicyStatement(actions=["dynamodb:Query"], resources=[audit.table_arn, f"{audit.table_arn}/index/*"])
        )
        for role in r.values():
            role.add_to_policy(
                iam.PolicyStatement(effect=iam.Effect.DENY, actions=sorted(AUDIT_DENIED), resources=[audit.table_arn])
            )
        table.grant_read_data(r["tick"])
        table.grant_stream_read(r["on_table_change"])
        data.stream_failures.grant_send_messages(r["on_table_change"])
        outbound.grant_consume_messages(r["deliver_messages"])
        due_work.grant_consume_messages(r["run_due_work"])
        # Retention deletes a de-identified patient's sign-in (docs/design.md "Retention"): that one action,
        # on the patients' pool only.
        r["run_due_work"].add_to_policy(
            iam.PolicyStatement(actions=["cognito-idp:AdminDeleteUser"], resources=[data.users.user_pool_arn])
        )
        due_work.grant_send_messages(r["tick"])
        data.topics["inbound-sms"].grant_subscribe(r["receive_sms"])
        # The delivery receivers: the item actions they use on the main table (no Scan, no batch writes),
        # the data key as the table's writers have it, the outbound queue for the fallback's intent, and
        # their on-failure queue.  Neither writes the audit trail nor publishes anything.
        for fn in DELIVERY_RECEIVERS:
            table.grant(r[fn], *DELIVERY_TABLE_ACTIONS)
            data.key.grant(r[fn], *DATA_KEY_USE)
            outbound.grant_send_messages(r[fn])
            data.delivery_event_failures.grant_send_messages(r[fn])
        # Only list pages sign cursors, and only the API serves them: the one reader of the secret.
        r["api_handler"].add_to_policy(
            iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"], resources=[data.cursor_secret.secret_arn])
        )
        data.key.grant_decrypt(r["api_handler"])

        # SMS to a phone number has no resource ARN, so it cannot be granted on one.  Granting "*" would
        # also reach every topic (F10: a forged inbound SMS on the inbound-sms topic), so the grant is
        # "anything that is not an SNS ARN": phone numbers only.  Push goes to the endpoints of the
        # configured platform applications.  On top, explicit Denies: receive_sms pushes nothing and is
        # denied every SNS ARN; the deliverer must reach endpoints (arn:…:endpoint/…), which no Resource
        # pattern can leave out of "every topic", and a NotResource Deny would deny ARN-less SMS too, so
        # it is denied Carewire's topics by name.
        sms = iam.PolicyStatement(actions=["sns:Publish"], not_resources=["arn:*:sns:*:*:*"])
        for fn in ("deliver_messages", "receive_sms"):
            r[fn].add_to_policy(sms)
        if channels.platform_application_arns:
            r["deliver_messages"].add_to_policy(
                iam.PolicyStatement(
                    actions=["sns:Publish"], resources=push_endpoints(channels.platform_application_arns)
                )
            )
        r["receive_sms"].add_to_policy(
            iam.PolicyStatement(effect=iam.Effect.DENY, actions=["sns:Publish"], resources=["arn:*:sns:*:*:*"])
        )
        r["deliver_messages"].add_to_policy(
            iam.PolicyStatement(effect=iam.Effect.DENY, actions=["sns:Publish"], resources=["arn:*:sns:*:*:carewire-*"])
        )
        r["deliver_messages"].add_to_policy(
            iam.PolicyStatement(
                actions=["ses:SendEmail"],
                resources=[
                    f"arn:{self.partition}:ses:{self.region}:{self.account}:identity/{channels.email_sender.split('@')[-1]}",
                    f"arn:{self.partition}:ses:{self.region}:{self.account}:configuration-set/"
                    f"{data.email.configuration_set_name}",
                ],
            )
        )
        if channels.voice_origination_identity:
            r["deliver_messages"].add_to_policy(
                iam.PolicyStatement(
                    actions=["sms-voice:SendVoiceMessage"], resources=[channels.voice_origination_identity]
                )
            )
        if channels.platform_application_arns:
            # Retention deletes a de-identified patient's push endpoints (their token and patient id).
            r["run_due_work"].add_to_policy(
                iam.PolicyStatement(
                    actions=["sns:DeleteEndpoint"], resources=push_endpoints(channels.platform_application_arns)
                )
            )
            r["api_handler"].add_to_policy(
                iam.PolicyStatement(
                    actions=["sns:CreatePlatformEndpoint", "sns:SetEndpointAttributes", "sns:GetEndpointAttributes"],
                    resources=list(channels.platform_application_arns),
                )
            )

    # -- what chalice's config cannot say ------------------------------------------------

    def _customise(self, names: dict[str, str], data: StatefulStack, channels: Channels) -> None:
        # Chalice reads per-function settings only from .chalice/config.json, not from stage_config:
        # each function's role, name, timeout and the deliverer's concurrency are set here.
        for fn, logical in LOGICAL.items():
            function = self.app.get_resource(logical)
            function.add_override("Properties.FunctionName", names[fn])
            function.add_override("Properties.Role", self.roles[fn].role_arn)
            # The environment encrypted with the data key, not the AWS-managed Lambda key (F8).
            function.add_override("Properties.KmsKeyArn", data.key.key_arn)
            if fn in ("on_table_change", "tick", "run_due_work"):
                function.add_override("Properties.Timeout", 60)
            # Our own log groups (chalice's log_retention_in_days misnames the API handler's):
            # encrypted with the data key, kept a year.
            group = logs.LogGroup(
                self,
                f"{logical}Logs",
                log_group_name=f"/aws/lambda/{names[fn]}",
                encryption_key=data.key,
                retention=logs.RetentionDays.ONE_YEAR,
            )
            # Before the function, or its first invocation creates an unencrypted group of the same name.
            function.add_resource_dependency(group.node.default_child)
        # SMS throughput is limited per account: at most this many deliveries at once.
        self.app.get_resource("DeliverMessages").add_override(
            "Properties.ReservedConcurrentExecutions", channels.deliver_concurrency
        )
        events = "Properties.Events"
        stream = self.app.get_resource("OnTableChange")
        for key, value in {
            "BisectBatchOnFunctionError": True,
            "MaximumRetryAttempts": 10,
            "MaximumRecordAgeInSeconds": 86400,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "DestinationConfig": {"OnFailure": {"Type": "SQS", "Destination": data.stream_failures.queue_arn}},
        }.items():
            stream.add_override(f"{events}.OnTableChangeDynamodbEventSource.Properties.{key}", value)
        for logical in ("DeliverMessages", "RunDueWork"):
            self.app.get_resource(logical).add_override(
                f"{events}.{logical}SqsEventSource.Properties.FunctionResponseTypes", ["ReportBatchItemFailures"]
            )
        # SNS and CloudWatch Logs invoke the delivery receivers asynchronously: what still fails after
        # Lambda's two retries goes to their dead-letter queue (alarmed) instead of being dropped.
        for fn in DELIVERY_RECEIVERS:
            self.app.get_resource(LOGICAL[fn]).add_override(
                "Properties.EventInvokeConfig",
                {
                    "MaximumRetryAttempts": 2,
                    "DestinationConfig": {
                        "OnFailure": {"Type": "SQS", "Destination": data.delivery_event_failures.queue_arn}
                    },
                },
            )
        access = logs.LogGroup(self, "ApiAccessLogs", encryption_key=data.key, retention=logs.RetentionDays.ONE_YEAR)
        api = self.app.get_resource("RestAPI")
        api.add_override(
            "Properties.MethodSettings",
            [
                {
                    "ResourcePath": "/*",
                    "HttpMethod": "*",
                    "ThrottlingRateLimit": channels.api_rate_per_second,
                    "ThrottlingBurstLimit": channels.api_burst,
                    "MetricsEnabled": True,
                }
            ],
        )
        api.add_override("Properties.TracingEnabled", True)
        api.add_override("Properties.GatewayResponses", gateway_responses())
        api.add_override(
            "Properties.AccessLogSetting",
            {
                "DestinationArn": access.log_group_arn,
                # Route templates only, no query strings or bodies: nothing a patient typed.
                "Format": (
                    '{"requestId":"$context.requestId","time":"$context.requestTime",'
                    '"route":"$context.resourcePath","method":"$context.httpMethod",'
                    '"status":"$context.status","latencyMs":"$context.responseLatency"}'
                ),
            },
        )

    # -- delivery events: SMS delivery status logs, push failures ------------------------------------

    def _delivery_events(self, prefix: str, data: StatefulStack, channels: Channels) -> None:
        """Where a sent SMS's and push's fate comes from (email's: the configuration set, stateful.py).

        delivery_events is subscribed to the delivery-events topic by chalice (its SAM SNS event, the
        topic named by CAREWIRE_DELIVERY_EVENTS_TOPIC at package time).  Here: SNS's SMS delivery status
        logs -> a subscription filter -> sms_delivery_logs, and each push platform application's
        EventDeliveryFailure -> the delivery-events topic.
        """
        if channels.sms_delivery_logs not in ("own", "shared"):
            raise ValueError(f"sms_delivery_logs must be 'own' or 'shared', not {channels.sms_delivery_logs!r}")
        group_names = [f"sns/{self.region}/{self.account}/{name}" for name in SMS_STATUS_LOGS]
        self.sms_status_groups: list[logs.ILogGroup] = []
        self.provider_resources: list[cr.AwsCustomResource] = []
        owner = channels.sms_delivery_logs == "own"
        if owner:
            # Created here, not by SNS at the first SMS, so the subscription filter can attach before it;
            # KMS-encrypted (the entries carry phone numbers) and kept a year like every other group.
            for construct_id, name in zip(("SmsStatusLogs", "SmsStatusFailureLogs"), group_names, strict=True):
                self.sms_status_groups.append(
                    logs.LogGroup(
                        self,
                        construct_id,
                        log_group_name=name,
                        encryption_key=data.key,
                        retention=logs.RetentionDays.ONE_YEAR,
                    )
                )
            self.sms_status_role = iam.Role(
                self,
                "SmsDeliveryStatusRole",
                # SMS delivery status carries no source ARN to condition on; a role can only be named in an
                # account's SMS attributes by a caller of this account allowed to pass it.
                assumed_by=iam.ServicePrincipal("sns.amazonaws.com"),
                description="Carewire: SNS writes SMS delivery status logs into the two groups it names",
            )
            self._deny_audit_changes(self.sms_status_role)
            self.sms_status_role.add_to_policy(
                iam.PolicyStatement(
                    actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[
                        arn
                        for group in self.sms_status_groups
                        for arn in (self._log_group_arn(group.log_group_name), group.log_group_arn)
                    ],
                )
            )
            # ACCOUNT-WIDE: SMS attributes belong to the account and region, not to this stack; another stage
            # deploying in the same account and region with "own" would take them over (use "shared" there).
            # Nothing undoes them on delete: the role then no longer exists and SNS stops logging.
            set_sms = cr.AwsSdkCall(
                service="SNS",
                action="setSMSAttributes",
                parameters={
                    "attributes": {
                        "DeliveryStatusIAMRole": self.sms_status_role.role_arn,
                        "DeliveryStatusSuccessSamplingRate": "100",
                    }
                },
                physical_resource_id=cr.PhysicalResourceId.of(f"{prefix}-sms-delivery-status"),
            )
            self.provider_resources.append(
                cr.AwsCustomResource(
                    self,
                    "SmsDeliveryStatus",
                    resource_type="Custom::SmsDeliveryStatus",
                    on_create=set_sms,
                    on_update=set_sms,
                    install_latest_aws_sdk=False,
                    log_group=self._provider_logs(data),
                    role=self._provider_role(data),
                    policy=cr.AwsCustomResourcePolicy.from_statements(
                        [
                            # SetSMSAttributes has no resource type: AWS requires "*".
                            iam.PolicyStatement(actions=["sns:SetSMSAttributes"], resources=["*"]),
                            iam.PolicyStatement(
                                actions=["iam:PassRole"],
                                resources=[self.sms_status_role.role_arn],
                                conditions={"StringEquals": {"iam:PassedToService": "sns.amazonaws.com"}},
                            ),
                        ]
                    ),
                )
            )
            self.provider_resources[-1].node.add_dependency(*self.sms_status_groups)
        else:
            self.sms_status_groups = [
                logs.LogGroup.from_log_group_name(self, construct_id, name)
                for construct_id, name in zip(("SmsStatusLogs", "SmsStatusFailureLogs"), group_names, strict=True)
            ]

        receiver = self.app.get_resource(LOGICAL["sms_delivery_logs"])
        for group, construct_id in zip(self.sms_status_groups, ("SmsStatus", "SmsStatusFailure"), strict=True):
            invoke = lambda_.CfnPermission(
                self,
                f"{construct_id}LogsInvoke",
                action="lambda:InvokeFunction",
                function_name=receiver.get_att("Arn").to_string(),
                principal="logs.amazonaws.com",
                source_arn=self._log_group_arn(group.log_group_name) + ":*",
                source_account=self.account,
            )
            subscription = logs.CfnSubscriptionFilter(
                self,
                f"{construct_id}Subscription",
                log_group_name=group.log_group_name,
                filter_name=f"{prefix}-sms-delivery-logs",
                filter_pattern="",  # every entry: delivered and failed alike
                destination_arn=receiver.get_att("Arn").to_string(),
            )
            subscription.add_resource_dependency(invoke)

        # Push: SNS reports an endpoint it could not deliver to (disabled, invalid token) on the topic.
        for index, application in enumerate(channels.platform_application_arns):
            set_push = cr.AwsSdkCall(
                service="SNS",
                action="setPlatformApplicationAttributes",
                parameters={
                    "PlatformApplicationArn": application,
                    "Attributes": {"EventDeliveryFailure": data.topics["delivery-events"].topic_arn},
                },
                physical_resource_id=cr.PhysicalResourceId.of(f"{prefix}-push-delivery-failures-{index}"),
            )
            self.provider_resources.append(
                cr.AwsCustomResource(
                    self,
                    f"PushDeliveryFailures{index}",
                    resource_type="Custom::PushDeliveryFailures",
                    on_create=set_push,
                    on_update=set_push,
                    install_latest_aws_sdk=False,
                    log_group=self._provider_logs(data),
                    role=self._provider_role(data),
                    policy=cr.AwsCustomResourcePolicy.from_statements(
                        [iam.PolicyStatement(actions=["sns:SetPlatformApplicationAttributes"], resources=[application])]
                    ),
                )
            )
        self._acknowledge_providers()

    def _acknowledge_providers(self) -> None:
        inline = "One role, one policy, for this one AWS service or SDK call; attached to that role alone"
        if hasattr(self, "sms_status_role"):
            acknowledge(self.sms_status_role, {"HIPAA.Security-IAMNoInlinePolicy": inline})
        provider_role = self.node.try_find_child("AwsCustomResourceRole")
        if provider_role is not None:
            acknowledge(provider_role, {"HIPAA.Security-IAMNoInlinePolicy": inline})
        for resource in self.provider_resources:
            rules = {"HIPAA.Security-IAMNoInlinePolicy": inline}
            if resource.node.id == "SmsDeliveryStatus":
                rules["AwsSolutions-IAM5[Resource::*]"] = "sns:SetSMSAttributes has no resource type: AWS requires *"
            acknowledge(resource, rules)
        # CDK's singleton AwsCustomResource function lives at the stack's root, named after a fixed UUID.
        for child in self.node.children:
            if child.node.id.startswith("AWS679f53fac002430cb0da5b7982bd2287"):
                # CDK makes the function depend on its role as well as reading the role's ARN (cfn-lint W3005).
                function = child.node.default_child
                if isinstance(function, CfnResource):
                    function.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})
                acknowledge(
                    child,
                    {
                        "HIPAA.Security-LambdaConcurrency": (
                            "Runs only when CloudFormation deploys the stack, one invocation per SDK call"
                        ),
                        "HIPAA.Security-LambdaDLQ": (
                            "Invoked synchronously by CloudFormation, which fails (and rolls back) the deploy"
                            " when it fails: nothing to redrive"
                        ),
                        "HIPAA.Security-LambdaInsideVPC": (
                            "Sets SNS account and platform-application attributes at deploy; reaches no PHI and"
                            " no private network"
                        ),
                    },
                )

    def _provider_logs(self, data: StatefulStack) -> logs.LogGroup:
        """One encrypted log group for CDK's AwsCustomResource function (a singleton in the stack)."""
        existing = self.node.try_find_child("AwsCustomResourceLogs")
        if isinstance(existing, logs.LogGroup):
            return existing
        return logs.LogGroup(
            self,
            "AwsCustomResourceLogs",
            encryption_key=data.key,
            retention=logs.RetentionDays.ONE_YEAR,
        )

    def _provider_role(self, data: StatefulStack) -> iam.Role:
        """The AwsCustomResource function's own role: its log group, and each call's policy added by CDK."""
        existing = self.node.try_find_child("AwsCustomResourceRole")
        if isinstance(existing, iam.Role):
            return existing
        role = iam.Role(
            self,
            "AwsCustomResourceRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Carewire: sets SNS account and platform-application attributes at deploy",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self._provider_logs(data).log_group_arn],
            )
        )
        self._deny_audit_changes(role)
        return role

    def _deny_audit_changes(self, role: iam.Role) -> None:
        """Like every role in this stack: no change or delete in the audit trail (F4)."""
        role.add_to_policy(
            iam.PolicyStatement(
                effect=iam.Effect.DENY, actions=sorted(AUDIT_DENIED), resources=[self.audit_table.table_arn]
            )
        )

    def _log_group_arn(self, name: str) -> str:
        return f"arn:{self.partition}:logs:{self.region}:{self.account}:log-group:{name}"

    # -- the console's distribution ---------------------------------------------------------------

    def _invoke_by_name(self, function_name: str) -> None:
        """Chalice's integrations invoke ``${APIHandler.Arn}``; the same function by its fixed name instead.

        The handler's environment names the distribution, whose origin is this API: with the ARN the API
        would depend on the handler and CloudFormation would refuse the cycle (console.py says more).
        """
        api = self.app.get_resource("RestAPI")
        if not isinstance(api, sam.CfnApi):
            raise TypeError("chalice.cdk no longer includes RestAPI as a SAM Api")
        by_name = f"arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:${{AWS::AccountId}}:function:{function_name}"
        body = dict(api.definition_body)  # type: ignore[arg-type]
        rewritten = 0
        for methods in body["paths"].values():
            for operation in methods.values():
                integration = operation.get("x-amazon-apigateway-integration") if isinstance(operation, dict) else None
                if not integration or "uri" not in integration:
                    continue
                uri = self.resolve(integration["uri"])
                if not (isinstance(uri, dict) and "${APIHandler.Arn}" in str(uri.get("Fn::Sub"))):
                    raise ValueError(f"an integration chalice wrote no longer invokes ${{APIHandler.Arn}}: {uri}")
                integration["uri"] = {"Fn::Sub": uri["Fn::Sub"].replace("${APIHandler.Arn}", by_name)}
                rewritten += 1
        if not rewritten:
            raise ValueError("chalice's API definition has no Lambda integration")
        api.definition_body = body

    def _tell_the_console_origin(self, channels: Channels) -> None:
        """The API handler checks every console POST's Origin against this; pages link to the console."""
        origin = self.console.origin
        self.app.get_resource("APIHandler").add_override(
            "Properties.Environment.Variables.CAREWIRE_CONSOLE_ORIGIN", origin
        )
        if not channels.console_url:
            for logical in LOGICAL.values():
                self.app.get_resource(logical).add_override(
                    "Properties.Environment.Variables.CAREWIRE_CONSOLE_URL", f"{origin}/console"
                )
        CfnOutput(self, "ConsoleURL", value=f"{origin}/console/", description="The clinician console")

    # -- the edge: Cognito authorizer, usage plan, AWS WAF --------------------------------------

    def _guard_the_edge(self, prefix: str, data: StatefulStack, channels: Channels) -> None:
        """What API Gateway refuses before a Lambda runs (F7).

        The authorizer is written into chalice's OpenAPI definition of the SAM Api: one Cognito authorizer
        trusting both user pools (SAM's own Auth property takes one pool ARN) on every method but the
        public paths' and the console's (signed in by session cookie, checked by the app).  cdk-nag cannot
        see SAM resources; tests/infra holds all of this.  The usage plan meters
        clients that send an API key: none of today's clients can keep one secret (a key shipped in an
        app is public, and its quota would then be everyone's), so it is bound to the stage for keyed
        integrations; per-client limiting today is the WAF's per-IP rule.
        """
        api = self.app.get_resource("RestAPI")
        if not isinstance(api, sam.CfnApi):
            raise TypeError("chalice.cdk no longer includes RestAPI as a SAM Api")
        body = dict(api.definition_body)  # type: ignore[arg-type]
        body["securityDefinitions"] = {
            COGNITO_AUTHORIZER: {
                "type": "apiKey",
                "name": "Authorization",
                "in": "header",
                "x-amazon-apigateway-authtype": "cognito_user_pools",
                "x-amazon-apigateway-authorizer": {
                    "type": "cognito_user_pools",
                    "providerARNs": [pool.user_pool_arn for pool in data.user_pools],
                },
            }
        }
        for path, methods in body["paths"].items():
            for method, operation in methods.items():
                if method == "options" or not isinstance(operation, dict):
                    continue  # CORS preflight carries no token
                operation["security"] = (
                    [] if public_at_the_gateway(path) else [{COGNITO_AUTHORIZER: ACCESS_TOKEN_SCOPES}]
                )
        api.definition_body = body
        # SAM's usage plan, bound to the stage SAM creates.
        api.add_override(
            "Properties.Auth",
            {
                "UsagePlan": {
                    "CreateUsagePlan": "PER_API",
                    "Description": "Carewire: per-key throttle and daily quota for keyed integrations",
                    "Throttle": {"RateLimit": channels.api_rate_per_second // 2, "BurstLimit": channels.api_burst // 2},
                    "Quota": {"Limit": 100_000, "Period": "DAY"},
                }
            },
        )

        acl = wafv2.CfnWebACL(
            self,
            "ApiFirewall",
            name=f"{prefix}-api",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=self._waf_metrics(f"{prefix}-api"),
            rules=[
                wafv2.CfnWebACL.RuleProperty(
                    name="RequestsPerIp",
                    priority=0,
                    action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                            limit=channels.waf_requests_per_ip,
                            aggregate_key_type="IP",
                            evaluation_window_sec=300,
                            # Through the distribution the source address is CloudFront's, shared by many
                            # viewers: those requests are limited per viewer by the edge web ACL instead.
                            scope_down_statement=wafv2.CfnWebACL.StatementProperty(
                                not_statement=wafv2.CfnWebACL.NotStatementProperty(
                                    statement=wafv2.CfnWebACL.StatementProperty(
                                        byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
                                            field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(
                                                single_header={"Name": EDGE_HEADER}
                                            ),
                                            positional_constraint="EXACTLY",
                                            search_string=edge_secret(),
                                            text_transformations=[
                                                wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")
                                            ],
                                        )
                                    )
                                )
                            ),
                        )
                    ),
                    visibility_config=self._waf_metrics("RequestsPerIp"),
                ),
                *(
                    wafv2.CfnWebACL.RuleProperty(
                        name=group,
                        priority=priority,
                        override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                        statement=wafv2.CfnWebACL.StatementProperty(
                            managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                                vendor_name="AWS",
                                name=group,
                                # A batch of readings may exceed the common set's 8 KB body limit; the app
                                # bounds bodies itself (256 KB, 413).
                                rule_action_overrides=[
                                    wafv2.CfnWebACL.RuleActionOverrideProperty(
                                        name="SizeRestrictions_BODY",
                                        action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={}),
                                    )
                                ]
                                if group == "AWSManagedRulesCommonRuleSet"
                                else None,
                            )
                        ),
                        visibility_config=self._waf_metrics(group),
                    )
                    for priority, group in enumerate(MANAGED_RULE_GROUPS, start=1)
                ),
            ],
        )
        # The stage's ARN; "RestAPI.Stage" is SAM's reference to the stage it creates, which also
        # orders the association after the stage.
        stage_arn = Fn.join(
            "",
            [
                f"arn:{self.partition}:apigateway:{self.region}::/restapis/",
                api.ref,
                "/stages/",
                Fn.ref("RestAPI.Stage"),
            ],
        )
        association = wafv2.CfnWebACLAssociation(
            self, "ApiFirewallAssociation", resource_arn=stage_arn, web_acl_arn=acl.attr_arn
        )
        acknowledge(
            association,
            {"CloudFormation-Validate::F1020": "SAM's reference to the stage it creates (RestAPI.Stage)"},
        )
        # Only what the firewall blocked or counted, without the token or the query string.
        firewall_logging(self, "Api", f"aws-waf-logs-{prefix}-api", data.key, acl.attr_arn, keep=("BLOCK", "COUNT"))

    @staticmethod
    def _waf_metrics(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
        return wafv2.CfnWebACL.VisibilityConfigProperty(
            cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
        )

    # -- alarms ----------------------------------------------------------------------------

    def _alarms(self, names: dict[str, str], data: StatefulStack) -> None:
        notify = actions.SnsAction(data.topics["alerts-ops"])
        self.alarms: list[cloudwatch.Alarm] = []

        def alarm(
            construct_id: str,
            metric: cloudwatch.IMetric,
            description: str,
            threshold: float = 1,
            periods: int | None = None,
        ) -> None:
            created = metric.create_alarm(
                self,
                construct_id,
                alarm_description=description,
                threshold=threshold,
                evaluation_periods=periods or (3 if threshold > 1 else 1),
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            created.add_alarm_action(notify)
            self.alarms.append(created)

        def lambda_metric(name: str, function: str, statistic: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace="AWS/Lambda",
                metric_name=name,
                dimensions_map={"FunctionName": function},
                statistic=statistic,
                period=Duration.minutes(1 if name == "IteratorAge" else 5),
            )

        for name, queue in data.dead_letters.items():
            alarm(
                f"DeadLetters{name.title().replace('-', '')}",
                queue.metric_approximate_number_of_messages_visible(period=Duration.minutes(1)),
                f"Messages the {name} consumer gave up on: inspect and redrive",
            )
        for fn, logical in LOGICAL.items():
            alarm(f"{logical}Errors", lambda_metric("Errors", names[fn], "Sum"), f"{names[fn]} raised errors")
        alarm(
            "StreamIteratorAge",
            lambda_metric("IteratorAge", names["on_table_change"], "Maximum"),
            "The table stream is more than a minute behind: alerts are late",
            threshold=60_000,
        )

        def carewire_metric(name: str, minutes: int) -> cloudwatch.Metric:
            # Powertools' metrics carry the service as their one dimension.
            return cloudwatch.Metric(
                namespace="Carewire",
                metric_name=name,
                dimensions_map={"service": "carewire"},
                statistic="Sum",
                period=Duration.minutes(minutes),
            )

        alarm(
            "RecipientDailyCapReached",
            carewire_metric("RecipientDailyCapReached", 60),
            "A recipient reached 20 non-safety messages today: look for SMS pumping or a runaway reminder (F3)",
        )
        alarm(
            "CriticalAlertsNobodyToPage",
            carewire_metric("CriticalAlertsNobodyToPage", 5),
            "A critical alert had nobody to page (no care team, no on-call): page by hand and fix the roster",
        )
        alarm(
            "EscalationsNobodyToPage",
            carewire_metric("EscalationsNobodyToPage", 5),
            "An escalation had nobody to page: page by hand and fix the escalation contacts and on-call",
        )
        alarm(
            "EscalationFailures",
            cloudwatch.Metric(
                namespace="Carewire",
                metric_name="EscalationFailures",
                dimensions_map={"service": "carewire"},
                statistic="Sum",
                period=Duration.minutes(1),
            ),
            "A critical alert escalation failed: page the on-call by hand",
        )

        # Email reputation (issue 19).  The app counts every message's outcome as <Channel><Status>
        # (EmailSent, EmailBounced, EmailComplained…): the rates over a day, in per cent.  A day with no
        # email sent, or with no bounce, has no data point: not breaching.
        def email_rate(outcome: str) -> cloudwatch.MathExpression:
            return cloudwatch.MathExpression(
                expression=f"IF(sent > 0, 100 * FILL({outcome.lower()}, 0) / sent, 0)",
                using_metrics={
                    "sent": carewire_metric("EmailSent", 24 * 60),
                    outcome.lower(): carewire_metric(f"Email{outcome}", 24 * 60),
                },
                label=f"Email {outcome.lower()} rate (%)",
                period=Duration.days(1),
            )

        alarm(
            "EmailBounceRate",
            email_rate("Bounced"),
            f"Email bounce rate over a day >= {EMAIL_BOUNCE_RATE_PERCENT:g} % (AWS reviews the account at 5 %):"
            " look for a bad address list or an import",
            threshold=EMAIL_BOUNCE_RATE_PERCENT,
            periods=1,
        )
        alarm(
            "EmailComplaintRate",
            email_rate("Complained"),
            f"Email complaint rate over a day >= {EMAIL_COMPLAINT_RATE_PERCENT:g} % (AWS reviews the account at"
            " 0.1 %): look at what was sent and to whom",
            threshold=EMAIL_COMPLAINT_RATE_PERCENT,
            periods=1,
        )

        def reputation(name: str) -> cloudwatch.Metric:
            # SES publishes these for a configuration set with reputation metrics on, as fractions.
            return cloudwatch.Metric(
                namespace="AWS/SES",
                metric_name=f"Reputation.{name}",
                dimensions_map={"ses:configuration-set": data.email.configuration_set_name},
                statistic="Maximum",
                period=Duration.hours(1),
            )

        alarm(
            "SesReputationBounceRate",
            reputation("BounceRate"),
            "SES's bounce rate for the configuration set >= 4 % (AWS reviews the account at 5 %)",
            threshold=SES_REPUTATION_BOUNCE_RATE,
            periods=1,
        )
        alarm(
            "SesReputationComplaintRate",
            reputation("ComplaintRate"),
            "SES's complaint rate for the configuration set >= 0.08 % (AWS reviews the account at 0.1 %)",
            threshold=SES_REPUTATION_COMPLAINT_RATE,
            periods=1,
        )
