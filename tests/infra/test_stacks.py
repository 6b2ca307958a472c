"""The infra tier: synth both stacks (cdk-nag included), check what must hold, cfn-lint the templates.

Synth runs once, in a subprocess (``python -m infra.synth``), exactly as
``make package`` runs it.  The checks are plain functions over the template
JSON, so each test also proves its check can fail: it removes the property
(encryption, PITR, a DLQ, an alarm…) from a copy and expects a finding.
"""

from __future__ import annotations

import copy
import fnmatch
import hashlib
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
Template = dict[str, Any]
# Actions AWS gives no resource type: X-Ray, ListStreams, and the account's SMS attributes (delivery status logs).
WILDCARD_ALLOWED = {"xray:PutTraceSegments", "xray:PutTelemetryRecords", "dynamodb:ListStreams", "sns:SetSMSAttributes"}
# A push platform application configured, so the deliverer's grant to its endpoints is synthesized too.
PUSH_APP = "arn:aws:sns:us-east-1:123456789012:app/APNS/carewire-test"
A_TOPIC = "arn:aws:sns:us-east-1:123456789012:carewire-test-inbound-sms"
PUSH_CONTEXT = ("-c", f"platform_application_arns={PUSH_APP}", "-c", "ops_emails=oncall@clinic.example")
AN_ENDPOINT = "arn:aws:sns:us-east-1:123456789012:endpoint/APNS/carewire-test/0f1e2d3c"
# Every gateway response type AWS documents (supported-gateway-response-types): a type without its own
# response falls back on DEFAULT_4XX/5XX, whose fixed status would replace its own.
GATEWAY_RESPONSE_TYPES = {
    "ACCESS_DENIED", "API_CONFIGURATION_ERROR", "AUTHORIZER_CONFIGURATION_ERROR", "AUTHORIZER_FAILURE",
    "BAD_REQUEST_BODY", "BAD_REQUEST_PARAMETERS", "DEFAULT_4XX", "DEFAULT_5XX", "EXPIRED_TOKEN",
    "INTEGRATION_FAILURE", "INTEGRATION_TIMEOUT", "INVALID_API_KEY", "INVALID_SIGNATURE",
    "MISSING_AUTHENTICATION_TOKEN", "QUOTA_EXCEEDED", "REQUEST_TOO_LARGE", "RESOURCE_NOT_FOUND", "THROTTLED",
    "UNAUTHORIZED", "UNSUPPORTED_MEDIA_TYPE", "WAF_FILTERED",
}  # fmt: skip


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    outdir = tmp_path_factory.mktemp("cdk.out")
    done = subprocess.run(
        [sys.executable, "-m", "infra.synth", "--stage", "test", "--outdir", str(outdir), *PUSH_CONTEXT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = json.loads(done.stdout[done.stdout.index("{") :])
    summary["outdir"] = outdir
    return summary


@pytest.fixture(scope="module")
def stateful(synth: dict[str, Any]) -> Template:
    return json.loads((synth["outdir"] / "carewire-test-stateful.template.json").read_text())


@pytest.fixture(scope="module")
def stateless(synth: dict[str, Any]) -> Template:
    return json.loads((synth["outdir"] / "carewire-test-stateless.template.json").read_text())


def of_type(template: Template, kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, resource in template["Resources"].items():
        if resource["Type"] == kind:
            yield name, resource.get("Properties", {})


# -- checks: each returns its findings ------------------------------------------------------


def unencrypted(template: Template) -> list[str]:
    found = []
    for name, p in of_type(template, "AWS::DynamoDB::Table"):
        sse = p.get("SSESpecification") or {}
        if not (sse.get("SSEEnabled") and sse.get("SSEType") == "KMS" and sse.get("KMSMasterKeyId")):
            found.append(f"table {name} without the customer-managed key")
    for kind, field in (
        ("AWS::SQS::Queue", "KmsMasterKeyId"),
        ("AWS::SNS::Topic", "KmsMasterKeyId"),
        ("AWS::Logs::LogGroup", "KmsKeyId"),
        ("AWS::SecretsManager::Secret", "KmsKeyId"),
        ("AWS::Backup::BackupVault", "EncryptionKeyArn"),
        ("AWS::S3::Bucket", "BucketEncryption"),
        ("AWS::KinesisFirehose::DeliveryStream", "DeliveryStreamEncryptionConfigurationInput"),
    ):
        found += [f"{kind} {name} unencrypted" for name, p in of_type(template, kind) if not p.get(field)]
    return found


def unprotected_tables(template: Template) -> list[str]:
    found = []
    for name, p in of_type(template, "AWS::DynamoDB::Table"):
        pitr = (p.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled")
        if not pitr:
            found.append(f"table {name} without point-in-time recovery")
        if not p.get("DeletionProtectionEnabled"):
            found.append(f"table {name} without deletion protection")
        if template["Resources"][name].get("DeletionPolicy") != "Retain":
            found.append(f"table {name} deleted with the stack")
    return found


def queues_without_dlq(template: Template) -> list[str]:
    names = {name: p.get("QueueName", "") for name, p in of_type(template, "AWS::SQS::Queue")}
    work = [n for n, q in names.items() if not q.endswith(("-dlq", "-stream-failures"))]
    return [
        f"queue {n} has no dead-letter queue"
        for n in work
        if not template["Resources"][n]["Properties"].get("RedrivePolicy")
    ]


def audit_trail_erasable_at_rest(template: Template) -> list[str]:
    """F4 at rest: no TTL on the audit table, its stream archived under Object Lock, backups Vault-Locked."""
    found = []
    (table, audit), *_ = [
        (n, p) for n, p in of_type(template, "AWS::DynamoDB::Table") if p["TableName"].endswith("-audit")
    ]
    if (audit.get("TimeToLiveSpecification") or {}).get("Enabled"):
        found.append("the audit table has a TTL: an update of one attribute deletes a record")
    if "NEW_IMAGE" not in json.dumps(audit.get("StreamSpecification")):
        found.append("the audit table has no stream of new images")
    firehoses = dict(of_type(template, "AWS::KinesisFirehose::DeliveryStream"))
    buckets = dict(of_type(template, "AWS::S3::Bucket"))
    locked = []
    for _, pipe in of_type(template, "AWS::Pipes::Pipe"):
        if table not in json.dumps(pipe.get("Source")):
            continue
        for firehose, delivery in firehoses.items():
            if firehose not in json.dumps(pipe.get("Target")):
                continue
            destination = json.dumps(delivery.get("ExtendedS3DestinationConfiguration"))
            for bucket, p in buckets.items():
                retention = ((p.get("ObjectLockConfiguration") or {}).get("Rule") or {}).get("DefaultRetention") or {}
                days = retention.get("Days", 0) + 365 * retention.get("Years", 0)
                if bucket in destination and p.get("ObjectLockEnabled") and retention.get("Mode") == "COMPLIANCE":
                    locked.append(days)
    if not any(days >= 6 * 365 for days in locked):
        found.append("the audit stream does not reach a bucket under Object Lock (compliance mode, >= 6 years)")
    for _, vault in of_type(template, "AWS::Backup::BackupVault"):
        lock = vault.get("LockConfiguration") or {}
        if lock.get("MinRetentionDays", 0) < 35 or not lock.get("ChangeableForDays"):
            found.append(f"backup vault {vault['BackupVaultName']} without a compliance-mode Vault Lock")
    return found


def email_without_tls(template: Template) -> list[str]:
    """F11: SES may not fall back to plaintext SMTP."""
    return [
        f"configuration set {p.get('Name')} does not require TLS"
        for _, p in of_type(template, "AWS::SES::ConfigurationSet")
        if (p.get("DeliveryOptions") or {}).get("TlsPolicy") != "REQUIRE"
    ]


def missing_alarms(stateful: Template, stateless: Template) -> list[str]:
    alarms = [p for _, p in of_type(stateless, "AWS::CloudWatch::Alarm")]
    text = json.dumps(alarms)
    found = []
    dead_letters = [
        n for n, p in of_type(stateful, "AWS::SQS::Queue") if p["QueueName"].endswith(("-dlq", "-stream-failures"))
    ]
    for name in dead_letters:
        if name not in text:
            found.append(f"no alarm on dead letters in {name}")
    for fn in (
        "api-handler",
        "on-table-change",
        "deliver-messages",
        "run-due-work",
        "receive-sms",
        "delivery-events",
        "sms-delivery-logs",
        "tick",
    ):
        if not any(a.get("MetricName") == "Errors" and fn in json.dumps(a.get("Dimensions")) for a in alarms):
            found.append(f"no error alarm for {fn}")
    if not any(a.get("MetricName") == "IteratorAge" for a in alarms):
        found.append("no stream iterator-age alarm")
    if not any(a.get("MetricName") == "EscalationFailures" and a.get("Namespace") == "Carewire" for a in alarms):
        found.append("no escalation-failure alarm")
    for metric, period in (
        ("RecipientDailyCapReached", 3600),
        ("CriticalAlertsNobodyToPage", 300),
        ("EscalationsNobodyToPage", 300),
    ):
        if not any(
            a.get("MetricName") == metric
            and a.get("Namespace") == "Carewire"
            and a.get("Statistic") == "Sum"
            and a.get("Period") == period
            and a.get("Threshold") == 1
            and a.get("ComparisonOperator") == "GreaterThanOrEqualToThreshold"
            for a in alarms
        ):
            found.append(f"no alarm on {metric} (Sum >= 1 over {period // 60} min)")
    if any(not a.get("AlarmActions") for a in alarms):
        found.append("an alarm notifies nobody")
    return found


def wildcard_iam(template: Template) -> list[str]:
    found = []
    for name, p in of_type(template, "AWS::IAM::Policy"):
        for statement in p["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = statement.get("Resource", [])
            resources = resources if isinstance(resources, list) else [resources]
            if any(a == "*" or a.endswith(":*") for a in actions):
                found.append(f"{name}: wildcard action {actions}")
            if "*" in resources and not set(actions) <= WILDCARD_ALLOWED:
                found.append(f"{name}: Resource * for {sorted(set(actions) - WILDCARD_ALLOWED)}")
    return found


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role_statements(template: Template) -> dict[str, list[dict[str, Any]]]:
    """Each function role's logical id -> the statements of the policies attached to it."""
    roles: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in of_type(template, "AWS::IAM::Role")}
    for _, p in of_type(template, "AWS::IAM::Policy"):
        for role in p.get("Roles", []):
            roles[role["Ref"]] += p["PolicyDocument"]["Statement"]
    return roles


AUDIT_DENIED = {"dynamodb:DeleteItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem"}


def audit_trail_mutable(template: Template) -> list[str]:
    """F4 in IAM: writers may only PutItem, only the API Queries, every role is denied change and delete."""
    found = []
    for role, statements in role_statements(template).items():
        on_audit = [st for st in statements if "-audit" in json.dumps(st.get("Resource"))]
        denied = {a for st in on_audit if st["Effect"] == "Deny" for a in _listed(st["Action"])}
        allowed = {a for st in on_audit if st["Effect"] == "Allow" for a in _listed(st["Action"])}
        may = {"dynamodb:PutItem", "dynamodb:Query"} if role.startswith("APIHandler") else {"dynamodb:PutItem"}
        if allowed - may:
            found.append(f"{role} may {sorted(allowed - may)} on the audit table")
        if AUDIT_DENIED - denied:
            found.append(f"{role} is not denied {sorted(AUDIT_DENIED - denied)} on the audit table")
    return found


def sns_publish_reaches_topics(template: Template) -> list[str]:
    """F10: Publish may reach phone numbers and push endpoints, never a topic; topics are explicitly denied."""
    found = []
    for role, statements in role_statements(template).items():
        publish = [st for st in statements if "sns:Publish" in _listed(st["Action"])]
        allowed = [st for st in publish if st["Effect"] == "Allow"]
        denied = [r for st in publish if st["Effect"] == "Deny" for r in _listed(st.get("Resource", []))]
        if not allowed:
            continue
        for st in allowed:
            if any(r == "*" or fnmatch.fnmatchcase(A_TOPIC, str(r)) for r in _listed(st.get("Resource", []))):
                found.append(f"{role} may publish to topics")
        if not any(fnmatch.fnmatchcase(A_TOPIC, str(r)) for r in denied):
            found.append(f"{role} is not denied sns:Publish on topics")
        if any(fnmatch.fnmatchcase("*", str(r)) for r in denied):
            found.append(f"{role} is denied SMS")
        pushes = any(
            fnmatch.fnmatchcase(AN_ENDPOINT, str(r)) for st in allowed for r in _listed(st.get("Resource", []))
        )
        if pushes and any(fnmatch.fnmatchcase(AN_ENDPOINT, str(r)) for r in denied):
            found.append(f"{role} is denied the push endpoints it is granted")
    return found


def functions(template: Template) -> dict[str, dict[str, Any]]:
    return dict(of_type(template, "AWS::Serverless::Function"))


def secrets_in_the_environment(template: Template) -> list[str]:
    """F8: no secret in a function's environment, which is encrypted with the data key; only the API reads it."""
    found = []
    for name, fn in functions(template).items():
        variables = (fn.get("Environment") or {}).get("Variables") or {}
        if "CAREWIRE_CURSOR_SECRET" in variables or "resolve:secretsmanager" in json.dumps(variables):
            found.append(f"{name} carries the cursor secret in its environment")
        if "CAREWIRE_CURSOR_SECRET_ARN" not in variables:
            found.append(f"{name} is not told where the cursor secret is")
        if "DataKey" not in json.dumps(fn.get("KmsKeyArn")):
            found.append(f"{name}'s environment is not encrypted with the data key")
    for role, statements in role_statements(template).items():
        reads = [st for st in statements if st["Effect"] == "Allow" and "secretsmanager:GetSecretValue" in st["Action"]]
        if reads and not role.startswith("APIHandler"):
            found.append(f"{role} may read secrets")
        if any("*" in json.dumps(st["Resource"]) for st in reads):
            found.append(f"{role} may read more than the cursor secret")
    return found


def miswired(template: Template) -> list[str]:
    fns = functions(template)
    found = []
    stream = fns["OnTableChange"]["Events"]["OnTableChangeDynamodbEventSource"]["Properties"]
    if not stream.get("BisectBatchOnFunctionError"):
        found.append("stream without bisect-on-error")
    if "OnFailure" not in (stream.get("DestinationConfig") or {}):
        found.append("stream without an on-failure destination")
    if stream.get("FunctionResponseTypes") != ["ReportBatchItemFailures"]:
        found.append("stream without partial batch responses")
    if "StreamArn" not in json.dumps(stream["Stream"]):
        found.append("stream source is not the table's stream")
    for fn in ("DeliverMessages", "RunDueWork"):
        (event,) = fns[fn]["Events"].values()
        if event["Type"] != "SQS" or event["Properties"].get("FunctionResponseTypes") != ["ReportBatchItemFailures"]:
            found.append(f"{fn} without SQS partial batch responses")
    if fns["Tick"]["Events"]["TickEvent"]["Properties"]["Schedule"] != "rate(1 minute)":
        found.append("tick is not every minute")
    if (fns["ReceiveSms"]["Events"]["ReceiveSmsSnsSubscription"]["Type"]) != "SNS":
        found.append("inbound SMS is not subscribed to its topic")
    if not fns["DeliverMessages"].get("ReservedConcurrentExecutions"):
        found.append("deliveries have no reserved concurrency (SMS throughput)")
    roles = {json.dumps(p["Role"]) for p in fns.values()}
    if len(roles) != len(fns):
        found.append("functions share a role")
    (api,) = [p for _, p in of_type(template, "AWS::Serverless::Api")]
    settings = (api.get("MethodSettings") or [{}])[0]
    if not (settings.get("ThrottlingRateLimit") and settings.get("ThrottlingBurstLimit")):
        found.append("API Gateway without throttling")
    return found


PUBLIC_PATHS = {"/health", "/openapi.json"}
# The console's pages: signed in by session cookie, which the app checks (the gateway's authorizer cannot).
CONSOLE = "/console"
ACCESS_TOKEN_SCOPE = "aws.cognito.signin.user.admin"
MANAGED_RULE_GROUPS = {
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
}


def unauthenticated_routes(template: Template) -> list[str]:
    """F7: a Cognito user-pool authorizer taking our access tokens on every method but the public paths."""
    (api,) = [p for _, p in of_type(template, "AWS::Serverless::Api")]
    body = api["DefinitionBody"]
    cognito = {
        name
        for name, definition in (body.get("securityDefinitions") or {}).items()
        if (definition.get("x-amazon-apigateway-authorizer") or {}).get("type") == "cognito_user_pools"
        and definition["x-amazon-apigateway-authorizer"].get("providerARNs")
    }
    found = [] if cognito else ["no Cognito user-pool authorizer"]
    for path, methods in body["paths"].items():
        for method, operation in methods.items():
            route, security = f"{method.upper()} {path}", operation.get("security")
            if method == "options":
                continue
            if path in PUBLIC_PATHS:
                if security != []:
                    found.append(f"{route} is not public")
                continue
            if path == CONSOLE or path.startswith(CONSOLE + "/"):
                if security != []:
                    found.append(f"{route} is refused at the gateway: a browser sends its session cookie, no token")
                continue
            names = {name for requirement in security or [] for name in requirement}
            if not names or not names <= cognito:
                found.append(f"{route} reaches the Lambda unauthenticated")
            elif any(ACCESS_TOKEN_SCOPE not in scopes for requirement in security for scopes in requirement.values()):
                found.append(f"{route} takes ID tokens, not the app's access tokens")
    return found


def no_usage_plan(template: Template) -> list[str]:
    (api,) = [p for _, p in of_type(template, "AWS::Serverless::Api")]
    plan = (api.get("Auth") or {}).get("UsagePlan") or {}
    throttle, quota = plan.get("Throttle") or {}, plan.get("Quota") or {}
    if plan.get("CreateUsagePlan") not in ("PER_API", "SHARED"):
        return ["no usage plan bound to the stage"]
    if not (throttle.get("RateLimit") and throttle.get("BurstLimit") and quota.get("Limit") and quota.get("Period")):
        return ["the usage plan has no throttle or no quota"]
    return []


def no_firewall(template: Template) -> list[str]:
    """F7: a regional web ACL on the stage, a per-IP rate rule, AWS managed rules, metrics and redacted logs."""
    acls = {n: p for n, p in of_type(template, "AWS::WAFv2::WebACL") if p.get("Scope") != "CLOUDFRONT"}
    found = []
    for name, acl in acls.items():
        rules = acl.get("Rules") or []
        rate = [r["Statement"]["RateBasedStatement"] for r in rules if "RateBasedStatement" in r["Statement"]]
        if not any(r.get("AggregateKeyType") == "IP" and r.get("Limit", 10**9) <= 2000 for r in rate):
            found.append(f"{name} has no per-IP rate rule (<= 2,000 requests / 5 min)")
        groups = {r["Statement"].get("ManagedRuleGroupStatement", {}).get("Name") for r in rules}
        if MANAGED_RULE_GROUPS - groups:
            found.append(f"{name} lacks {sorted(MANAGED_RULE_GROUPS - groups)}")
        if acl.get("Scope") != "REGIONAL" or not acl["VisibilityConfig"].get("CloudWatchMetricsEnabled"):
            found.append(f"{name} is not a regional web ACL with metrics")
    associated = [
        acl
        for _, association in of_type(template, "AWS::WAFv2::WebACLAssociation")
        for acl in acls
        if acl in json.dumps(association["WebACLArn"])
        and "RestAPI" in json.dumps(association["ResourceArn"])
        and "/stages/" in json.dumps(association["ResourceArn"])
    ]
    if not associated:
        found.append("no web ACL is associated with the API stage")
    logged = [
        p
        for _, p in of_type(template, "AWS::WAFv2::LoggingConfiguration")
        if any(acl in json.dumps(p["ResourceArn"]) for acl in associated)
        and {"SingleHeader": {"Name": "authorization"}} in (p.get("RedactedFields") or [])
    ]
    if not logged:
        found.append("the API's web ACL is not logged, or its logs carry the Authorization header")
    elif not any({"SingleHeader": {"Name": "cookie"}} in p["RedactedFields"] for p in logged):
        found.append("the API's web ACL logs carry the console's session cookie")
    return found


def gateway_refusals_not_problems(template: Template) -> list[str]:
    """What API Gateway answers itself: problem+json whose status is the status line, unknown paths 404."""
    from chalicelib.api.problems import PROBLEM_JSON, TYPE_BASE

    (api,) = [p for _, p in of_type(template, "AWS::Serverless::Api")]
    responses = api.get("GatewayResponses") or {}
    found = [f"no gateway response for {kind}" for kind in sorted(GATEWAY_RESPONSE_TYPES - set(responses))]
    for kind, response in responses.items():
        status = response.get("StatusCode")
        if (response.get("ResponseParameters") or {}).get("Headers", {}).get("Content-Type") != f"'{PROBLEM_JSON}'":
            found.append(f"{kind} is not sent as {PROBLEM_JSON}")
        templates = response.get("ResponseTemplates") or {}
        if PROBLEM_JSON not in templates:
            found.append(f"{kind} has no {PROBLEM_JSON} template")
        for text in templates.values():
            if "$" in text:
                found.append(f"{kind} substitutes request or gateway data into its body")
                continue
            body = json.loads(text)
            if set(body) != {"type", "title", "status", "detail"} or not body["type"].startswith(TYPE_BASE):
                found.append(f"{kind} is not a problem document: {text}")
            elif str(body["status"]) != status:
                found.append(f"{kind} says status {body['status']} on a {status} response")
    if (responses.get("MISSING_AUTHENTICATION_TOKEN") or {}).get("StatusCode") != "404":
        found.append("an unknown path is not 404")
    return found


# -- the console's distribution (docs/console.md "Shape") -----------------------------------------------

# AWS managed CloudFront policies, by their fixed ids.
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
ALL_METHODS = {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}
STATIC_PATH = "/console/static/*"
IMMUTABLE = "public, max-age=31536000, immutable"
EDGE_HEADER = "x-carewire-edge"
CONSOLE_DOMAIN = "console.clinic.example"
CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"


def distribution(template: Template) -> tuple[str, dict[str, Any]]:
    (found,) = [(name, p["DistributionConfig"]) for name, p in of_type(template, "AWS::CloudFront::Distribution")]
    return found


def _behaviours(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        "default": config["DefaultCacheBehavior"],
        **{b["PathPattern"]: b for b in config.get("CacheBehaviors", [])},
    }


def _origin(config: dict[str, Any], behaviour: dict[str, Any]) -> dict[str, Any]:
    return next(o for o in config["Origins"] if o["Id"] == behaviour["TargetOriginId"])


def console_edge_miswired(template: Template) -> list[str]:
    """One origin for the console and the API: the stage behind the default behaviour, static files from S3."""
    _, config = distribution(template)
    behaviours = _behaviours(config)
    stage = _first(template, "AWS::Serverless::Api")["StageName"]
    found = []
    default = behaviours["default"]
    api = _origin(config, default)
    if not ('"RestAPI"' in json.dumps(api["DomainName"]) and ".execute-api." in json.dumps(api["DomainName"])):
        found.append("the default behaviour does not reach the API")
    if api.get("OriginPath") != f"/{stage}":
        found.append("the API origin's path is not the stage: links would need a stage prefix")
    if (api.get("CustomOriginConfig") or {}).get("OriginProtocolPolicy") != "https-only":
        found.append("CloudFront may reach the API over plain HTTP")
    if default.get("CachePolicyId") != CACHING_DISABLED:
        found.append("the API's responses may be cached")
    if default.get("OriginRequestPolicyId") != ALL_VIEWER_EXCEPT_HOST_HEADER:
        found.append("the API does not get every viewer header but Host, the query string and cookies")
    if set(default.get("AllowedMethods", [])) != ALL_METHODS:
        found.append("the API behaviour refuses some methods")
    static = behaviours.get(STATIC_PATH)
    if static is None:
        found.append(f"no {STATIC_PATH} behaviour")
    else:
        origin = _origin(config, static)
        controls = [
            name
            for name, p in of_type(template, "AWS::CloudFront::OriginAccessControl")
            if p["OriginAccessControlConfig"]["OriginAccessControlOriginType"] == "s3"
            and p["OriginAccessControlConfig"]["SigningBehavior"] == "always"
        ]
        if "S3OriginConfig" not in origin or not any(
            c in json.dumps(origin.get("OriginAccessControlId")) for c in controls
        ):
            found.append("static files are not read from S3 through Origin Access Control")
        if static.get("CachePolicyId") != CACHING_OPTIMIZED or not static.get("Compress"):
            found.append("static files are not cached long and compressed")
        if set(static.get("AllowedMethods", [])) != {"GET", "HEAD"}:
            found.append("static files take methods other than GET and HEAD")
    policies = dict(of_type(template, "AWS::CloudFront::ResponseHeadersPolicy"))
    for path, behaviour in behaviours.items():
        if behaviour.get("ViewerProtocolPolicy") not in ("redirect-to-https", "https-only"):
            found.append(f"{path} is served over plain HTTP")
        policy = policies.get((behaviour.get("ResponseHeadersPolicyId") or {}).get("Ref"), {})
        hsts = ((policy.get("ResponseHeadersPolicyConfig") or {}).get("SecurityHeadersConfig") or {}).get(
            "StrictTransportSecurity"
        ) or {}
        if hsts.get("AccessControlMaxAgeSec", 0) < 31536000 or not hsts.get("Override"):
            found.append(f"{path} responses carry no HSTS (a year or more)")
    logging = config.get("Logging") or {}
    if not logging.get("Bucket") or logging.get("IncludeCookies"):
        found.append("no access logs, or the session cookie in them")
    certificate = config.get("ViewerCertificate") or {}
    if certificate.get("AcmCertificateArn") and certificate.get("MinimumProtocolVersion") != "TLSv1.2_2021":
        found.append("the custom domain accepts TLS older than 1.2")
    return found


def static_bucket(template: Template) -> str:
    _, config = distribution(template)
    origin = _origin(config, _behaviours(config)[STATIC_PATH])
    return str(origin["DomainName"]["Fn::GetAtt"][0])


def static_bucket_exposed(template: Template) -> list[str]:
    """The static bucket: private (every public-access block on), TLS only, readable by the distribution alone."""
    bucket = static_bucket(template)
    name, _ = distribution(template)
    found = []
    block = template["Resources"][bucket]["Properties"].get("PublicAccessBlockConfiguration") or {}
    keys = ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
    if not all(block.get(k) for k in keys):
        found.append("the static bucket does not block public access")
    statements = [
        st for _, p in of_type(template, "AWS::S3::BucketPolicy") if p["Bucket"] == {"Ref": bucket}
        for st in p["PolicyDocument"]["Statement"]
    ]  # fmt: skip
    if not any(
        st["Effect"] == "Deny" and st.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        for st in statements
    ):
        found.append("the static bucket accepts requests without TLS")
    for st in statements:
        if st["Effect"] != "Allow":
            continue
        source = json.dumps((st.get("Condition") or {}).get("StringEquals", {}).get("AWS:SourceArn"))
        if st.get("Principal") != {"Service": "cloudfront.amazonaws.com"} or name not in source:
            found.append(
                f"the static bucket lets {json.dumps(st.get('Principal'))} read it, not the distribution alone"
            )
    return found


def static_uploads(template: Template, outdir: Path) -> dict[str, dict[str, str]]:
    """Every key the deployments upload into the static bucket -> its metadata, read from the staged assets."""
    bucket = static_bucket(template)
    uploads = {}
    for _, p in of_type(template, "Custom::CDKBucketDeployment"):
        if p["DestinationBucketName"] != {"Ref": bucket}:
            continue
        for key in p["SourceObjectKeys"]:
            for file in sorted((outdir / f"asset.{key.removesuffix('.zip')}").iterdir()):
                named_for_content = hashlib.sha256(file.read_bytes()).hexdigest()[:8] == file.name.split(".")[-2]
                uploads[p.get("DestinationBucketKeyPrefix", "") + file.name] = {
                    **(p.get("SystemMetadata") or {}),
                    "prune": str(p.get("Prune", True)).lower(),
                    "named for its content": "yes" if named_for_content else "no",
                }
    return uploads


def console_origin_untold(template: Template, origin: Any = None) -> list[str]:
    """The API handler knows the console's origin (Origin checks); the API invokes it by name (no cycle)."""
    name, _ = distribution(template)
    expected = origin or {"Fn::Join": ["", ["https://", {"Fn::GetAtt": [name, "DomainName"]}]]}
    variables = functions(template)["APIHandler"]["Environment"]["Variables"]
    found = []
    if variables.get("CAREWIRE_CONSOLE_ORIGIN") != expected:
        found.append(f"the API handler's CAREWIRE_CONSOLE_ORIGIN is {variables.get('CAREWIRE_CONSOLE_ORIGIN')}")
    body = json.dumps(_first(template, "AWS::Serverless::Api")["DefinitionBody"])
    if "APIHandler" in body:
        found.append("the API depends on the handler, whose environment depends on the distribution: a cycle")
    handler = functions(template)["APIHandler"]["FunctionName"]
    if f":function:{handler}/invocations" not in body:
        found.append("the API does not invoke the handler by its name")
    return found


def edge_unguarded(template: Template) -> list[str]:
    """Per-viewer limits: an edge web ACL on the distribution; the regional rule leaves it the edge's requests."""
    _, config = distribution(template)
    acls = dict(of_type(template, "AWS::WAFv2::WebACL"))
    edge = [n for n, p in acls.items() if p["Scope"] == "CLOUDFRONT" and n in json.dumps(config.get("WebACLId"))]
    found = []
    if not edge:
        found.append("the distribution has no web ACL of its own")
    for acl in edge:
        rules = acls[acl]["Rules"]
        rate = [r["Statement"]["RateBasedStatement"] for r in rules if "RateBasedStatement" in r["Statement"]]
        if not any(r.get("AggregateKeyType") == "IP" and r.get("Limit", 10**9) <= 2000 for r in rate):
            found.append(f"{acl} has no per-IP rate rule (<= 2,000 requests / 5 min)")
        logged = [
            p for _, p in of_type(template, "AWS::WAFv2::LoggingConfiguration") if acl in json.dumps(p["ResourceArn"])
        ]
        if not any({"SingleHeader": {"Name": "cookie"}} in (p.get("RedactedFields") or []) for p in logged):
            found.append(f"{acl} is not logged, or its logs carry the session cookie")
    api = _origin(config, config["DefaultCacheBehavior"])
    marks = [h["HeaderValue"] for h in api.get("OriginCustomHeaders", []) if h["HeaderName"] == EDGE_HEADER]
    exempt = {
        "NotStatement": {
            "Statement": {
                "ByteMatchStatement": {
                    "FieldToMatch": {"SingleHeader": {"Name": EDGE_HEADER}},
                    "PositionalConstraint": "EXACTLY",
                    "SearchString": marks[0] if marks else None,
                    "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
                }
            }
        }
    }
    for acl, p in acls.items():
        if p["Scope"] != "REGIONAL":
            continue
        for rule in p["Rules"]:
            rate = rule["Statement"].get("RateBasedStatement")
            if rate and rate.get("ScopeDownStatement") != exempt:
                found.append(f"{acl} counts the distribution's requests by CloudFront's address, or exempts others")
    return found


# -- delivery events (issue 19) ------------------------------------------------------------------

SMS_STATUS_GROUPS = ("DirectPublishToPhoneNumber", "DirectPublishToPhoneNumber/Failure")
DELIVERY_TABLE_ACTIONS = {
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:Query",
}


def _role_of(template: Template, function: str) -> str:
    return str(functions(template)[function]["Role"]["Fn::GetAtt"][0])


def _log_group_name(value: Any) -> str:
    """A log group name as synthesized: ``sns/<region>/<account>/…`` in an Fn::Join, or a plain string."""
    if isinstance(value, dict) and "Fn::Join" in value:
        return "".join(p if isinstance(p, str) else "<" + next(iter(p.values())) + ">" for p in value["Fn::Join"][1])
    return str(value)


def delivery_receivers_miswired(template: Template) -> list[str]:
    """delivery_events on the delivery-events topic, sms_delivery_logs behind the SMS status logs, least privilege."""
    fns = functions(template)
    found = []
    for fn in ("DeliveryEvents", "SmsDeliveryLogs"):
        if fn not in fns:
            found.append(f"no {fn} function")
    if found:
        return found
    events = fns["DeliveryEvents"].get("Events") or {}
    if not any(
        e["Type"] == "SNS" and json.dumps(e["Properties"]["Topic"]).endswith(':carewire-test-delivery-events"}')
        for e in events.values()
    ):
        found.append("delivery_events is not subscribed to the delivery-events topic")
    roles = role_statements(template)
    for fn, name in (("DeliveryEvents", "delivery-events"), ("SmsDeliveryLogs", "sms-delivery-logs")):
        if fns[fn].get("FunctionName") != f"carewire-test-{name}":
            found.append(f"{fn} has no fixed name")
        statements = [st for st in roles[_role_of(template, fn)] if st["Effect"] == "Allow"]
        on_table = {
            a
            for st in statements
            for a in _listed(st["Action"])
            if a.startswith("dynamodb:") and "AuditTable" not in json.dumps(st["Resource"])
        }
        if on_table != DELIVERY_TABLE_ACTIONS:
            found.append(f"{fn} may {sorted(on_table)} on the table, not {sorted(DELIVERY_TABLE_ACTIONS)}")
        sends = [st for st in statements if "sqs:SendMessage" in _listed(st["Action"])]
        if not any("Outbound" in json.dumps(st["Resource"]) for st in sends):
            found.append(f"{fn} cannot enqueue the fallback on the outbound queue")
        failure = ((fns[fn].get("EventInvokeConfig") or {}).get("DestinationConfig") or {}).get("OnFailure") or {}
        if failure.get("Type") != "SQS" or not any(
            json.dumps(failure.get("Destination")) in json.dumps(st["Resource"]) for st in sends
        ):
            found.append(f"{fn} drops what still fails after Lambda's retries")
        if any("sns:Publish" in _listed(st["Action"]) for st in statements):
            found.append(f"{fn} may publish")
    return found


def sms_status_unread(template: Template) -> list[str]:
    """SNS logs every SMS's delivery status (the account's SMS attributes name its role) to sms_delivery_logs."""
    found = []
    receiver = {"Fn::GetAtt": ["SmsDeliveryLogs", "Arn"]}
    groups = {
        _log_group_name(p["LogGroupName"]): name
        for name, p in of_type(template, "AWS::Logs::LogGroup")
        if _log_group_name(p.get("LogGroupName")).startswith("sns/")
    }
    filters = [p for _, p in of_type(template, "AWS::Logs::SubscriptionFilter")]
    permissions = [p for _, p in of_type(template, "AWS::Lambda::Permission")]
    for suffix in SMS_STATUS_GROUPS:
        name = f"sns/<AWS::Region>/<AWS::AccountId>/{suffix}"
        group = groups.get(name)
        if group is None:
            found.append(f"no log group {name}")
            continue
        if not template["Resources"][group]["Properties"].get("KmsKeyId"):
            found.append(f"{name} is not encrypted (it holds phone numbers)")
        subscribed = [f for f in filters if f["LogGroupName"] == {"Ref": group} and f["DestinationArn"] == receiver]
        if not subscribed:
            found.append(f"{name} does not reach sms_delivery_logs")
        if not any(
            p["Principal"] == "logs.amazonaws.com"
            and p["FunctionName"] == receiver
            and _log_group_name(p["SourceArn"]).endswith(f":log-group:<{group}>:*")
            for p in permissions
        ):
            found.append(f"CloudWatch Logs may not invoke sms_delivery_logs for {name}")
    calls = [p for _, p in of_type(template, "Custom::SmsDeliveryStatus")]
    text = json.dumps(calls)
    if not calls or "setSMSAttributes" not in text or '\\"DeliveryStatusSuccessSamplingRate\\":\\"100\\"' not in text:
        found.append("the account's SMS attributes do not log every SMS's delivery status")
    writers = [
        name
        for name, p in of_type(template, "AWS::IAM::Role")
        if p["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "sns.amazonaws.com"}
    ]
    if not writers or not all(w in text for w in writers):
        found.append("the SMS attributes do not name a role SNS assumes")
    return found


def push_failures_unreported(template: Template, applications: tuple[str, ...]) -> list[str]:
    calls = json.dumps([p for _, p in of_type(template, "Custom::PushDeliveryFailures")])
    return [
        f"{application} does not report failed deliveries on the delivery-events topic"
        for application in applications
        if application not in calls or "EventDeliveryFailure" not in calls or "DeliveryEvents" not in calls
    ]


def email_reputation_unwatched(template: Template) -> list[str]:
    """Bounce and complaint rates over a day (the app's counts) and SES's reputation metrics, to alerts-ops."""
    alarms = [p for _, p in of_type(template, "AWS::CloudWatch::Alarm")]
    found = []

    def rate_alarm(outcome: str, threshold: float) -> bool:
        for a in alarms:
            stats = [m["MetricStat"] for m in a.get("Metrics", []) if "MetricStat" in m]
            names = {s["Metric"]["MetricName"] for s in stats}
            expression = " ".join(m.get("Expression", "") for m in a.get("Metrics", []))
            if (
                names == {"EmailSent", f"Email{outcome}"}
                and all(s["Metric"]["Namespace"] == "Carewire" and s["Period"] == 86400 for s in stats)
                and "/" in expression
                and a["Threshold"] == threshold
                and a["EvaluationPeriods"] == 1
                and a["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
                and a.get("TreatMissingData") == "notBreaching"
                and "AlertsOps" in json.dumps(a.get("AlarmActions"))
            ):
                return True
        return False

    for outcome, threshold in (("Bounced", 2), ("Complained", 0.05)):
        if not rate_alarm(outcome, threshold):
            found.append(f"no alarm on Email{outcome} / EmailSent over a day >= {threshold} %")
    for metric, threshold in (("Reputation.BounceRate", 0.04), ("Reputation.ComplaintRate", 0.0008)):
        if not any(
            a.get("Namespace") == "AWS/SES"
            and a.get("MetricName") == metric
            and [d["Name"] for d in a.get("Dimensions", [])] == ["ses:configuration-set"]
            and a["Threshold"] == threshold
            and a["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
            and a.get("TreatMissingData") == "notBreaching"
            for a in alarms
        ):
            found.append(f"no alarm on SES {metric} >= {threshold}")
    return found


# -- the tests ---------------------------------------------------------------------------------


def _mutated(template: Template, change: Callable[[Template], None]) -> Template:
    copied = copy.deepcopy(template)
    change(copied)
    return copied


def _first(template: Template, kind: str) -> dict[str, Any]:
    return next(p for _, p in of_type(template, kind))


def test_synth_passes_cdk_nag_and_the_package_is_small(synth: dict[str, Any]) -> None:
    assert synth["stacks"] == ["carewire-test-stateful", "carewire-test-stateless"]
    assert synth["lambda_package_mb"] <= 15


def test_every_store_topic_queue_log_and_secret_is_encrypted(stateful: Template, stateless: Template) -> None:
    assert unencrypted(stateful) == [] and unencrypted(stateless) == []
    gone = _mutated(stateful, lambda t: _first(t, "AWS::DynamoDB::Table").pop("SSESpecification"))
    assert any("without the customer-managed key" in f for f in unencrypted(gone))
    gone = _mutated(stateful, lambda t: _first(t, "AWS::SNS::Topic").pop("KmsMasterKeyId"))
    assert any("AWS::SNS::Topic" in f for f in unencrypted(gone))
    assert len(list(of_type(stateful, "AWS::KMS::Key"))) == 1
    assert _first(stateful, "AWS::KMS::Key")["EnableKeyRotation"] is True


def test_tables_have_pitr_deletion_protection_and_the_shared_indexes(stateful: Template) -> None:
    assert unprotected_tables(stateful) == []
    gone = _mutated(stateful, lambda t: _first(t, "AWS::DynamoDB::Table").pop("PointInTimeRecoverySpecification"))
    assert any("point-in-time" in f for f in unprotected_tables(gone))
    from chalicelib.resources import AUDIT_TABLE, MAIN_TABLE

    tables = {p["TableName"]: p for _, p in of_type(stateful, "AWS::DynamoDB::Table")}
    main, audit = tables["carewire-test"], tables["carewire-test-audit"]
    assert main["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert main["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    for stored, definition in ((main, MAIN_TABLE), (audit, AUDIT_TABLE)):
        assert stored["KeySchema"] == definition["KeySchema"]
        assert {i["IndexName"]: i["KeySchema"] for i in stored.get("GlobalSecondaryIndexes", [])} == {
            i["IndexName"]: i["KeySchema"] for i in definition.get("GlobalSecondaryIndexes", [])
        }
        assert {i["IndexName"] for i in stored.get("LocalSecondaryIndexes", [])} == {
            i["IndexName"] for i in definition.get("LocalSecondaryIndexes", [])
        }
    backed_up = json.dumps(_first(stateful, "AWS::Backup::BackupSelection"))
    assert all(name in backed_up for name, _ in of_type(stateful, "AWS::DynamoDB::Table"))


def test_f4_the_audit_trail_cannot_expire_and_is_archived_under_object_lock(stateful: Template) -> None:
    assert audit_trail_erasable_at_rest(stateful) == []

    def audit(template: Template) -> dict[str, Any]:
        return next(p for _, p in of_type(template, "AWS::DynamoDB::Table") if p["TableName"].endswith("-audit"))

    expiring = _mutated(
        stateful,
        lambda t: audit(t).update({"TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True}}),
    )
    unlocked = _mutated(
        stateful, lambda t: [p.pop("ObjectLockConfiguration", None) for _, p in of_type(t, "AWS::S3::Bucket")]
    )
    vault_unlocked = _mutated(stateful, lambda t: _first(t, "AWS::Backup::BackupVault").pop("LockConfiguration"))

    assert audit_trail_erasable_at_rest(expiring) == [
        "the audit table has a TTL: an update of one attribute deletes a record"
    ]
    assert audit_trail_erasable_at_rest(unlocked) == [
        "the audit stream does not reach a bucket under Object Lock (compliance mode, >= 6 years)"
    ]
    assert audit_trail_erasable_at_rest(vault_unlocked) == [
        "backup vault carewire-test without a compliance-mode Vault Lock"
    ]


def test_every_work_queue_has_a_dead_letter_queue(stateful: Template) -> None:
    assert queues_without_dlq(stateful) == []
    gone = _mutated(stateful, lambda t: [p.pop("RedrivePolicy", None) for _, p in of_type(t, "AWS::SQS::Queue")])
    assert len(queues_without_dlq(gone)) == 2


def test_alarms_cover_dead_letters_errors_iterator_age_escalations_send_caps_and_nobody_to_page(
    stateful: Template, stateless: Template
) -> None:
    assert missing_alarms(stateful, stateless) == []
    without_iterator = _mutated(
        stateless,
        lambda t: [
            t["Resources"].pop(n)
            for n, p in list(of_type(t, "AWS::CloudWatch::Alarm"))
            if p.get("MetricName") == "IteratorAge"
        ],
    )
    assert missing_alarms(stateful, without_iterator) == ["no stream iterator-age alarm"]
    without_cap = _mutated(
        stateless,
        lambda t: [
            t["Resources"].pop(n)
            for n, p in list(of_type(t, "AWS::CloudWatch::Alarm"))
            if p.get("MetricName") == "RecipientDailyCapReached"
        ],
    )
    assert missing_alarms(stateful, without_cap) == ["no alarm on RecipientDailyCapReached (Sum >= 1 over 60 min)"]


def test_no_wildcard_iam_beyond_what_aws_requires(stateless: Template) -> None:
    assert wildcard_iam(stateless) == []
    widened = _mutated(
        stateless,
        lambda t: next(p for _, p in of_type(t, "AWS::IAM::Policy"))["PolicyDocument"]["Statement"].append(
            {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}
        ),
    )
    assert len(wildcard_iam(widened)) == 2


def test_f4_the_audit_trail_is_append_only_for_every_role(stateless: Template) -> None:
    assert audit_trail_mutable(stateless) == []
    writer = next(r for r in role_statements(stateless) if r.startswith("OnTableChange"))

    def statements(template: Template) -> list[dict[str, Any]]:
        policy = next(p for _, p in of_type(template, "AWS::IAM::Policy") if p["Roles"] == [{"Ref": writer}])
        return list(policy["PolicyDocument"]["Statement"])

    def widen(template: Template) -> None:
        next(st for st in statements(template) if "-audit" in json.dumps(st["Resource"]))["Action"] = [
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
        ]

    def undeny(template: Template) -> None:
        for st in statements(template):
            if st["Effect"] == "Deny":
                st["Action"] = []

    assert audit_trail_mutable(_mutated(stateless, widen)) == [
        f"{writer} may ['dynamodb:UpdateItem'] on the audit table"
    ]
    assert audit_trail_mutable(_mutated(stateless, undeny)) == [
        f"{writer} is not denied ['dynamodb:BatchWriteItem', 'dynamodb:DeleteItem', 'dynamodb:UpdateItem'] on the"
        " audit table"
    ]


def test_f10_sms_and_push_senders_cannot_publish_to_topics(stateless: Template) -> None:
    assert sns_publish_reaches_topics(stateless) == []
    deliverer = next(r for r in role_statements(stateless) if r.startswith("DeliverMessages"))

    def policy(template: Template) -> dict[str, Any]:
        return next(p for _, p in of_type(template, "AWS::IAM::Policy") if p["Roles"] == [{"Ref": deliverer}])

    def widen(template: Template) -> None:
        for st in policy(template)["PolicyDocument"]["Statement"]:
            if st.pop("NotResource", None):
                st["Resource"] = "*"

    def undeny(template: Template) -> None:
        statements = policy(template)["PolicyDocument"]["Statement"]
        statements[:] = [st for st in statements if not (st["Effect"] == "Deny" and st["Action"] == "sns:Publish")]

    assert sns_publish_reaches_topics(_mutated(stateless, widen)) == [f"{deliverer} may publish to topics"]
    assert sns_publish_reaches_topics(_mutated(stateless, undeny)) == [
        f"{deliverer} is not denied sns:Publish on topics"
    ]
    assert any(fnmatch.fnmatchcase(AN_ENDPOINT, str(r)) for st in policy(stateless)["PolicyDocument"]["Statement"]
               for r in _listed(st.get("Resource", [])) if st["Effect"] == "Allow")  # fmt: skip


def test_f8_the_cursor_secret_is_read_from_secrets_manager_not_the_environment(stateless: Template) -> None:
    assert secrets_in_the_environment(stateless) == []
    leaked = _mutated(
        stateless,
        lambda t: functions(t)["Tick"]["Environment"]["Variables"].update(
            {"CAREWIRE_CURSOR_SECRET": "{{resolve:secretsmanager:carewire-test/cursor-secret:SecretString:::}}"}
        ),
    )
    plain = _mutated(stateless, lambda t: functions(t)["Tick"].pop("KmsKeyArn"))

    assert secrets_in_the_environment(leaked) == ["Tick carries the cursor secret in its environment"]
    assert secrets_in_the_environment(plain) == ["Tick's environment is not encrypted with the data key"]


def test_f3_every_function_knows_the_countries_sms_and_voice_may_reach(stateless: Template) -> None:
    """The allow-list is the operator's (``-c sms_countries=+1,+351``), in every function's environment."""
    countries = {
        name: f["Environment"]["Variables"].get("CAREWIRE_SMS_COUNTRIES") for name, f in functions(stateless).items()
    }

    assert countries and set(countries.values()) == {"+1"}, countries


def test_f19_the_operators_addresses_are_subscribed_to_the_alarm_topic(stateful: Template) -> None:
    """Alarms publish to alerts-ops; without a subscription they would reach nobody."""
    topics = {name: p["TopicName"] for name, p in of_type(stateful, "AWS::SNS::Topic")}
    subscribed = [
        (p["Protocol"], p["Endpoint"], topics.get(p["TopicArn"]["Ref"]))
        for _, p in of_type(stateful, "AWS::SNS::Subscription")
    ]

    assert subscribed == [("email", "oncall@clinic.example", "carewire-test-alerts-ops")]


def test_event_sources_schedule_and_limits_are_wired(stateless: Template) -> None:
    assert miswired(stateless) == []
    unbisected = _mutated(
        stateless,
        lambda t: t["Resources"]["OnTableChange"]["Properties"]["Events"]["OnTableChangeDynamodbEventSource"][
            "Properties"
        ].pop("BisectBatchOnFunctionError"),
    )
    assert miswired(unbisected) == ["stream without bisect-on-error"]


def test_api_gateway_answers_unknown_paths_404_and_its_own_refusals_in_problem_json(stateless: Template) -> None:
    assert gateway_refusals_not_problems(stateless) == []
    api = next(name for name, _ in of_type(stateless, "AWS::Serverless::Api"))

    def responses(template: Template) -> dict[str, Any]:
        return template["Resources"][api]["Properties"]["GatewayResponses"]

    unmapped = _mutated(stateless, lambda t: responses(t).pop("MISSING_AUTHENTICATION_TOKEN"))
    echoing = _mutated(
        stateless,
        lambda t: responses(t)["DEFAULT_4XX"]["ResponseTemplates"].update(
            {"application/problem+json": '{"message": $context.error.messageString}'}
        ),
    )

    assert gateway_refusals_not_problems(unmapped) == [
        "no gateway response for MISSING_AUTHENTICATION_TOKEN",
        "an unknown path is not 404",
    ]
    assert gateway_refusals_not_problems(echoing) == ["DEFAULT_4XX substitutes request or gateway data into its body"]
    assert responses(stateless)["MISSING_AUTHENTICATION_TOKEN"]["StatusCode"] == "404"


def test_f7_api_gateway_authenticates_every_route_but_health_and_openapi(stateless: Template) -> None:
    assert unauthenticated_routes(stateless) == []

    def paths(template: Template) -> dict[str, Any]:
        return dict(_first(template, "AWS::Serverless::Api")["DefinitionBody"]["paths"])

    open_route = _mutated(stateless, lambda t: paths(t)["/patients"]["get"].pop("security"))
    id_tokens = _mutated(
        stateless, lambda t: paths(t)["/alerts"]["get"].update({"security": [{"CognitoUserPools": []}]})
    )

    assert unauthenticated_routes(open_route) == ["GET /patients reaches the Lambda unauthenticated"]
    assert unauthenticated_routes(id_tokens) == ["GET /alerts takes ID tokens, not the app's access tokens"]


def test_f7_a_web_acl_and_a_usage_plan_guard_the_api_stage(stateless: Template) -> None:
    assert no_firewall(stateless) == [] and no_usage_plan(stateless) == []
    acl = next(name for name, p in of_type(stateless, "AWS::WAFv2::WebACL") if p["Scope"] == "REGIONAL")

    def rules(template: Template) -> list[dict[str, Any]]:
        return list(template["Resources"][acl]["Properties"]["Rules"])

    unlimited = _mutated(
        stateless,
        lambda t: t["Resources"][acl]["Properties"].update(
            {"Rules": [r for r in rules(t) if "RateBasedStatement" not in r["Statement"]]}
        ),
    )
    detached = _mutated(
        stateless, lambda t: [t["Resources"].pop(n) for n, _ in list(of_type(t, "AWS::WAFv2::WebACLAssociation"))]
    )
    unquoted = _mutated(stateless, lambda t: _first(t, "AWS::Serverless::Api")["Auth"]["UsagePlan"].pop("Quota"))
    cookies = _mutated(
        stateless,
        lambda t: [
            p["RedactedFields"].remove({"SingleHeader": {"Name": "cookie"}})
            for _, p in of_type(t, "AWS::WAFv2::LoggingConfiguration")
        ],
    )

    assert no_firewall(unlimited) == [f"{acl} has no per-IP rate rule (<= 2,000 requests / 5 min)"]
    assert no_firewall(detached) == [
        "no web ACL is associated with the API stage",
        "the API's web ACL is not logged, or its logs carry the Authorization header",
    ]
    assert no_usage_plan(unquoted) == ["the usage plan has no throttle or no quota"]
    assert no_firewall(cookies) == ["the API's web ACL logs carry the console's session cookie"]


def staff_sign_in_weak(template: Template) -> list[str]:
    """F9, F15: the staff pool requires TOTP MFA and its app clients' access tokens live at most 15 minutes."""
    pools = {p["UserPoolName"]: (name, p) for name, p in of_type(template, "AWS::Cognito::UserPool")}
    staff, pool = pools.get("carewire-test-staff", (None, {}))
    found = []
    if pool.get("MfaConfiguration") != "ON" or "SOFTWARE_TOKEN_MFA" not in (pool.get("EnabledMfas") or []):
        found.append("the staff pool does not require TOTP MFA")
    minutes = {"seconds": 1 / 60, "minutes": 1, "hours": 60, "days": 1440}
    clients = [p for _, p in of_type(template, "AWS::Cognito::UserPoolClient") if staff and staff in json.dumps(p)]
    for client in clients or [{}]:
        unit = (client.get("TokenValidityUnits") or {}).get("AccessToken", "hours")
        if client.get("AccessTokenValidity", 60) * minutes[unit] > 15:
            found.append("a staff client's access tokens live longer than 15 minutes")
    return found


def test_f9_staff_sign_in_with_mfa_and_their_access_tokens_live_15_minutes(stateful: Template) -> None:
    assert staff_sign_in_weak(stateful) == []
    staff = next(n for n, p in of_type(stateful, "AWS::Cognito::UserPool") if p["UserPoolName"].endswith("-staff"))
    optional = _mutated(
        stateful, lambda t: t["Resources"][staff]["Properties"].update({"MfaConfiguration": "OPTIONAL"})
    )
    hour_long = _mutated(
        stateful,
        lambda t: [
            p.update({"AccessTokenValidity": 60})
            for _, p in of_type(t, "AWS::Cognito::UserPoolClient")
            if staff in json.dumps(p)
        ],
    )

    assert staff_sign_in_weak(optional) == ["the staff pool does not require TOTP MFA"]
    assert staff_sign_in_weak(hour_long) == ["a staff client's access tokens live longer than 15 minutes"]


def test_each_pool_holds_its_own_groups_with_strong_passwords(stateful: Template, stateless: Template) -> None:
    names = {n: p["UserPoolName"] for n, p in of_type(stateful, "AWS::Cognito::UserPool")}
    groups = {
        (names[p["UserPoolId"]["Ref"]], p["GroupName"]) for _, p in of_type(stateful, "AWS::Cognito::UserPoolGroup")
    }
    assert groups == {
        ("carewire-test-patients", "patients"),
        ("carewire-test-staff", "clinicians"),
        ("carewire-test-staff", "admins"),
    }
    for _, pool in of_type(stateful, "AWS::Cognito::UserPool"):
        policy = pool["Policies"]["PasswordPolicy"]
        assert policy["MinimumLength"] >= 12 and all(
            policy[k] for k in ("RequireLowercase", "RequireUppercase", "RequireNumbers", "RequireSymbols")
        )
        assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    # The gateway's authorizer trusts both pools, and the functions are told both.
    authorizer = _first(stateless, "AWS::Serverless::Api")["DefinitionBody"]["securityDefinitions"]
    assert len(authorizer["CognitoUserPools"]["x-amazon-apigateway-authorizer"]["providerARNs"]) == 2
    variables = functions(stateless)["APIHandler"]["Environment"]["Variables"]
    assert {"CAREWIRE_USER_POOL_ID", "CAREWIRE_STAFF_USER_POOL_ID", "CAREWIRE_STAFF_APP_CLIENT_IDS"} <= set(variables)


def test_f11_ses_events_publish_to_sns_and_email_requires_tls(stateful: Template) -> None:
    assert email_without_tls(stateful) == []
    plaintext = _mutated(stateful, lambda t: _first(t, "AWS::SES::ConfigurationSet").pop("DeliveryOptions"))
    assert email_without_tls(plaintext) == ["configuration set carewire-test does not require TLS"]
    destination = _first(stateful, "AWS::SES::ConfigurationSetEventDestination")["EventDestination"]
    assert destination["Enabled"] is True and "SnsDestination" in destination
    assert {"SEND", "BOUNCE", "COMPLAINT", "DELIVERY"} <= {e.upper() for e in destination["MatchingEventTypes"]}


def test_delivery_receivers_have_their_events_and_least_privilege_roles(stateless: Template) -> None:
    assert delivery_receivers_miswired(stateless) == []
    assert audit_trail_mutable(stateless) == [] and sns_publish_reaches_topics(stateless) == []
    role = _role_of(stateless, "SmsDeliveryLogs")

    def policy(template: Template) -> list[dict[str, Any]]:
        return next(p for _, p in of_type(template, "AWS::IAM::Policy") if p["Roles"] == [{"Ref": role}])[
            "PolicyDocument"
        ]["Statement"]

    unsubscribed = _mutated(stateless, lambda t: functions(t)["DeliveryEvents"].pop("Events"))
    scanning = _mutated(
        stateless,
        lambda t: policy(t).append({"Effect": "Allow", "Action": "dynamodb:Scan", "Resource": "arn:aws:dynamodb:x"}),
    )
    dropping = _mutated(stateless, lambda t: functions(t)["SmsDeliveryLogs"].pop("EventInvokeConfig"))

    assert delivery_receivers_miswired(unsubscribed) == [
        "delivery_events is not subscribed to the delivery-events topic"
    ]
    assert len(delivery_receivers_miswired(scanning)) == 1
    assert "may ['dynamodb:ConditionCheckItem'" in delivery_receivers_miswired(scanning)[0]
    assert delivery_receivers_miswired(dropping) == ["SmsDeliveryLogs drops what still fails after Lambda's retries"]


def test_sms_delivery_status_logs_reach_sms_delivery_logs(stateless: Template) -> None:
    assert sms_status_unread(stateless) == []
    unfiltered = _mutated(
        stateless,
        lambda t: [t["Resources"].pop(n) for n, _ in list(of_type(t, "AWS::Logs::SubscriptionFilter"))[:1]],
    )
    unset = _mutated(
        stateless, lambda t: [t["Resources"].pop(n) for n, _ in list(of_type(t, "Custom::SmsDeliveryStatus"))]
    )
    plain = _mutated(
        stateless,
        lambda t: [
            p.pop("KmsKeyId")
            for _, p in of_type(t, "AWS::Logs::LogGroup")
            if _log_group_name(p.get("LogGroupName")).endswith("/Failure")
        ],
    )

    assert (
        len(sms_status_unread(unfiltered)) == 1
        and "does not reach sms_delivery_logs" in sms_status_unread(unfiltered)[0]
    )
    assert sms_status_unread(unset) == [
        "the account's SMS attributes do not log every SMS's delivery status",
        "the SMS attributes do not name a role SNS assumes",
    ]
    failures = "sns/<AWS::Region>/<AWS::AccountId>/DirectPublishToPhoneNumber/Failure"
    assert sms_status_unread(plain) == [f"{failures} is not encrypted (it holds phone numbers)"]


def test_push_platform_applications_report_failed_deliveries_on_the_topic(stateless: Template) -> None:
    assert push_failures_unreported(stateless, (PUSH_APP,)) == []
    unset = _mutated(
        stateless, lambda t: [t["Resources"].pop(n) for n, _ in list(of_type(t, "Custom::PushDeliveryFailures"))]
    )
    assert push_failures_unreported(unset, (PUSH_APP,)) == [
        f"{PUSH_APP} does not report failed deliveries on the delivery-events topic"
    ]


def test_email_bounce_and_complaint_rates_are_alarmed_before_aws_reviews_the_account(stateless: Template) -> None:
    assert email_reputation_unwatched(stateless) == []

    def alarm_on(template: Template, metric: str) -> dict[str, Any]:
        return next(
            p
            for _, p in of_type(template, "AWS::CloudWatch::Alarm")
            if metric in json.dumps(p.get("Metrics") or p.get("MetricName"))
        )

    lax = _mutated(stateless, lambda t: alarm_on(t, "EmailBounced").update({"Threshold": 5}))
    gone = _mutated(
        stateless,
        lambda t: [
            t["Resources"].pop(n)
            for n, p in list(of_type(t, "AWS::CloudWatch::Alarm"))
            if p.get("MetricName") == "Reputation.ComplaintRate"
        ],
    )

    assert email_reputation_unwatched(lax) == ["no alarm on EmailBounced / EmailSent over a day >= 2 %"]
    assert email_reputation_unwatched(gone) == ["no alarm on SES Reputation.ComplaintRate >= 0.0008"]


# -- the console's distribution -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def custom_domain(tmp_path_factory: pytest.TempPathFactory) -> Template:
    """The stateless stack of a stage with its own console domain (and a country allow-list)."""
    outdir = tmp_path_factory.mktemp("cdk.out.domain")
    context = (f"console_domain={CONSOLE_DOMAIN}", f"console_certificate_arn={CERTIFICATE}", "console_countries=US")
    done = subprocess.run(
        [sys.executable, "-m", "infra.synth", "--stage", "test", "--outdir", str(outdir)]
        + [arg for item in context for arg in ("-c", item)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return dict(json.loads((outdir / "carewire-test-stateless.template.json").read_text()))


def _config(template: Template) -> dict[str, Any]:
    name, _ = distribution(template)
    config: dict[str, Any] = template["Resources"][name]["Properties"]["DistributionConfig"]
    return config


def test_the_console_and_the_api_share_one_cloudfront_origin(stateless: Template) -> None:
    assert console_edge_miswired(stateless) == []

    def static(template: Template) -> dict[str, Any]:
        return next(b for b in _config(template)["CacheBehaviors"] if b["PathPattern"] == STATIC_PATH)

    cached = _mutated(
        stateless, lambda t: _config(t)["DefaultCacheBehavior"].update({"CachePolicyId": CACHING_OPTIMIZED})
    )
    prefixed = _mutated(stateless, lambda t: [o.pop("OriginPath", None) for o in _config(t)["Origins"]])
    hostless = _mutated(stateless, lambda t: _config(t)["DefaultCacheBehavior"].pop("OriginRequestPolicyId"))
    unsigned = _mutated(stateless, lambda t: [o.pop("OriginAccessControlId", None) for o in _config(t)["Origins"]])
    plain = _mutated(stateless, lambda t: static(t).update({"ViewerProtocolPolicy": "allow-all"}))
    cookies = _mutated(stateless, lambda t: _config(t)["Logging"].update({"IncludeCookies": True}))

    assert console_edge_miswired(cached) == ["the API's responses may be cached"]
    assert console_edge_miswired(prefixed) == [
        "the API origin's path is not the stage: links would need a stage prefix"
    ]
    assert console_edge_miswired(hostless) == [
        "the API does not get every viewer header but Host, the query string and cookies"
    ]
    assert console_edge_miswired(unsigned) == ["static files are not read from S3 through Origin Access Control"]
    assert console_edge_miswired(plain) == [f"{STATIC_PATH} is served over plain HTTP"]
    assert console_edge_miswired(cookies) == ["no access logs, or the session cookie in them"]


def test_the_static_bucket_is_private_tls_only_and_read_by_the_distribution_alone(stateless: Template) -> None:
    assert static_bucket_exposed(stateless) == []
    bucket = static_bucket(stateless)

    def policy(template: Template) -> list[dict[str, Any]]:
        return next(p for _, p in of_type(template, "AWS::S3::BucketPolicy") if p["Bucket"] == {"Ref": bucket})[
            "PolicyDocument"
        ]["Statement"]

    opened = _mutated(
        stateless,
        lambda t: t["Resources"][bucket]["Properties"]["PublicAccessBlockConfiguration"].update(
            {"BlockPublicPolicy": False}
        ),
    )
    anyone = _mutated(
        stateless, lambda t: policy(t).append({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:GetObject"})
    )
    plaintext = _mutated(stateless, lambda t: policy(t).pop(0))

    assert static_bucket_exposed(opened) == ["the static bucket does not block public access"]
    assert static_bucket_exposed(anyone) == ['the static bucket lets {"AWS": "*"} read it, not the distribution alone']
    assert static_bucket_exposed(plaintext) == ["the static bucket accepts requests without TLS"]


def test_static_files_are_uploaded_under_their_content_hashed_names_cached_a_year(
    stateless: Template, synth: dict[str, Any]
) -> None:
    from chalicelib.console import assets

    expected = {
        f"console/static/{hashed}": {
            "cache-control": IMMUTABLE,
            "content-type": assets.CONTENT_TYPES[Path(plain).suffix],
            "prune": "false",
            "named for its content": "yes",
        }
        for plain, hashed in assets.manifest().items()
    }
    assert "htmx.min.js" in assets.manifest()
    assert static_uploads(stateless, synth["outdir"]) == expected
    revalidated = _mutated(
        stateless,
        lambda t: [
            p["SystemMetadata"].update({"cache-control": "no-cache"})
            for _, p in of_type(t, "Custom::CDKBucketDeployment")
        ],
    )
    assert {m["cache-control"] for m in static_uploads(revalidated, synth["outdir"]).values()} == {"no-cache"}


def test_the_api_handler_is_told_the_console_origin_and_the_api_invokes_it_by_name(stateless: Template) -> None:
    assert console_origin_untold(stateless) == []
    name, _ = distribution(stateless)
    unset = _mutated(
        stateless, lambda t: functions(t)["APIHandler"]["Environment"]["Variables"].pop("CAREWIRE_CONSOLE_ORIGIN")
    )

    def by_arn(template: Template) -> None:
        api = _first(template, "AWS::Serverless::Api")
        text = json.dumps(api["DefinitionBody"])
        handler = functions(template)["APIHandler"]["FunctionName"]
        by_name = f"arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:${{AWS::AccountId}}:function:{handler}"
        api["DefinitionBody"] = json.loads(text.replace(by_name, "${APIHandler.Arn}"))

    assert console_origin_untold(unset) == ["the API handler's CAREWIRE_CONSOLE_ORIGIN is None"]
    assert console_origin_untold(_mutated(stateless, by_arn)) == [
        "the API depends on the handler, whose environment depends on the distribution: a cycle",
        "the API does not invoke the handler by its name",
    ]
    # Pages and emails link to the console on the same origin.
    links = {
        json.dumps(f["Environment"]["Variables"].get("CAREWIRE_CONSOLE_URL")) for f in functions(stateless).values()
    }
    assert links == {json.dumps({"Fn::Join": ["", ["https://", {"Fn::GetAtt": [name, "DomainName"]}, "/console"]]})}


def test_console_pages_pass_the_gateway_to_the_apps_cookie_sign_in(stateless: Template) -> None:
    paths = _first(stateless, "AWS::Serverless::Api")["DefinitionBody"]["paths"]
    page = next(p for p in paths if p.startswith(CONSOLE + "/") and "get" in paths[p])
    guarded = _mutated(
        stateless,
        lambda t: _first(t, "AWS::Serverless::Api")["DefinitionBody"]["paths"][page]["get"].update(
            {"security": [{"CognitoUserPools": [ACCESS_TOKEN_SCOPE]}]}
        ),
    )

    assert unauthenticated_routes(guarded) == [
        f"GET {page} is refused at the gateway: a browser sends its session cookie, no token"
    ]


def test_viewers_are_rate_limited_per_ip_at_the_edge_and_direct_callers_at_the_stage(stateless: Template) -> None:
    assert edge_unguarded(stateless) == [] and no_firewall(stateless) == []
    regional = next(n for n, p in of_type(stateless, "AWS::WAFv2::WebACL") if p["Scope"] == "REGIONAL")
    edge = next(n for n, p in of_type(stateless, "AWS::WAFv2::WebACL") if p["Scope"] == "CLOUDFRONT")
    unmarked = _mutated(stateless, lambda t: [o.pop("OriginCustomHeaders", None) for o in _config(t)["Origins"]])
    by_cloudfront = _mutated(
        stateless,
        lambda t: [
            r["Statement"]["RateBasedStatement"].pop("ScopeDownStatement")
            for r in t["Resources"][regional]["Properties"]["Rules"]
            if "RateBasedStatement" in r["Statement"]
        ],
    )
    bare = _mutated(stateless, lambda t: _config(t).pop("WebACLId"))

    rule = f"{regional} counts the distribution's requests by CloudFront's address, or exempts others"
    assert edge_unguarded(unmarked) == [rule]
    assert edge_unguarded(by_cloudfront) == [rule]
    assert edge_unguarded(bare) == ["the distribution has no web ACL of its own"]
    # CLOUDFRONT-scope web ACLs exist only in us-east-1: the stack makes its own there, on a condition.
    assert stateless["Resources"][edge]["Condition"] in stateless["Conditions"]


def test_a_custom_domain_is_the_console_origin_with_tls_1_2(custom_domain: Template) -> None:
    assert console_edge_miswired(custom_domain) == []
    config = _config(custom_domain)

    assert config["Aliases"] == [CONSOLE_DOMAIN]
    assert config["ViewerCertificate"] == {
        "AcmCertificateArn": CERTIFICATE,
        "MinimumProtocolVersion": "TLSv1.2_2021",
        "SslSupportMethod": "sni-only",
    }
    assert config["Restrictions"] == {"GeoRestriction": {"Locations": ["US"], "RestrictionType": "whitelist"}}
    assert console_origin_untold(custom_domain, f"https://{CONSOLE_DOMAIN}") == []
    old_tls = _mutated(
        custom_domain, lambda t: _config(t)["ViewerCertificate"].update({"MinimumProtocolVersion": "TLSv1"})
    )
    assert console_edge_miswired(old_tls) == ["the custom domain accepts TLS older than 1.2"]


def cognito_admin_reach(template: Template) -> list[str]:
    """Only the due-work runner may act on users (retention deletes a sign-in), and only in the patients' pool."""
    found = []
    for role, statements in role_statements(template).items():
        for st in statements:
            actions = [a for a in _listed(st["Action"]) if a.startswith("cognito-idp:")]
            if not actions or st["Effect"] != "Allow":
                continue
            if not role.startswith("RunDueWork"):
                found.append(f"{role} may call {actions}")
            elif actions != ["cognito-idp:AdminDeleteUser"]:
                found.append(f"{role} may call more than AdminDeleteUser: {actions}")
            elif "Users" not in json.dumps(st["Resource"]) or "Staff" in json.dumps(st["Resource"]):
                found.append(f"{role} may delete users outside the patients' pool")
    if not any(
        "cognito-idp:AdminDeleteUser" in _listed(st["Action"])
        for role, statements in role_statements(template).items()
        if role.startswith("RunDueWork")
        for st in statements
    ):
        found.append("the due-work runner cannot delete a de-identified patient's sign-in")
    return found


def test_only_retention_deletes_sign_ins_and_only_patients(stateless: Template) -> None:
    assert cognito_admin_reach(stateless) == []
    # Its push endpoints go too: only the due-work runner may delete endpoints, and only the applications'.
    deleters = {
        role: [st["Resource"] for st in statements if "sns:DeleteEndpoint" in _listed(st["Action"])]
        for role, statements in role_statements(stateless).items()
    }
    assert [role for role, found in deleters.items() if found and not role.startswith("RunDueWork")] == []
    (runner,) = [found for role, found in deleters.items() if role.startswith("RunDueWork")]
    assert [arn for resource in runner for arn in _listed(resource)] == [PUSH_APP.replace(":app/", ":endpoint/") + "/*"]
    # The API dates a discharge's de-identification, the due-work runner carries it out: both know the period.
    for name in ("APIHandler", "RunDueWork"):
        assert functions(stateless)[name]["Environment"]["Variables"]["CAREWIRE_RETENTION_YEARS"] == "6"


def test_cfn_lint_is_clean(synth: dict[str, Any]) -> None:
    done = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), *synth["templates"]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
