"""The console's edge: one CloudFront distribution, the API and the console's static files on one origin.

docs/console.md "Shape": deployed, the console is served from the same origin
as the API, so its links carry no stage prefix and nothing needs CORS.  The
distribution has two behaviours:

- default (``*``) → the API Gateway stage, origin path ``/<stage>``, so
  ``/console/...`` and the API's routes keep their paths.  Nothing is cached
  (managed ``CachingDisabled``), every method passes, and every viewer header
  but ``Host`` goes to the origin with the query string and cookies (managed
  ``AllViewerExceptHostHeader``: API Gateway answers only its own host name).
  With caching disabled that policy forwards ``Authorization`` too, so the API
  works through the distribution as it does on its execute-api host.
- ``/console/static/*`` → a private S3 bucket read through Origin Access
  Control.  The files are uploaded at deploy under their content-hashed names
  (``chalicelib/console/assets.py``: ``console/static/<stem>.<hash8><suffix>``,
  ``Cache-Control: public, max-age=31536000, immutable``, the same content
  types the local server sends), so a name never changes meaning: cached a
  year, compressed, never invalidated.  Old names are kept (no prune): a page
  rendered by the previous version during a deploy still finds its files.

Viewers are redirected to HTTPS; responses get HSTS (and nosniff, a referrer
policy and frame denial where the app has not set its own).  Access logs go
to a bucket encrypted with the data key (paths carry patient ids), cookies
left out.  The per-IP rate limit must see the viewer's address, which only an
edge web ACL does (the regional one sees CloudFront's); see ``EdgeFirewall``.

**The console origin and the dependency cycle.**  The API handler needs
``CAREWIRE_CONSOLE_ORIGIN = https://<distribution domain>`` (web.py compares
every POST's ``Origin`` with it).  The distribution's origin is the REST API,
and chalice's API definition invokes the handler by ``${APIHandler.Arn}``:
handler → distribution → API → handler, a cycle CloudFormation refuses.  The
function's name is fixed (the stack sets it), so the stack rewrites the
integrations to invoke ``…:function:<name>`` (stateless.py ``_invoke_by_name``):
the API no longer depends on the function, and the handler's environment can
name the distribution.  No custom resource, no parameter read at run time:
the value is in the environment at the first request.  On a stage's first
deploy the API may exist a few seconds before its function, when nobody calls
it.  With ``-c console_domain=… -c console_certificate_arn=…`` the origin is
the custom domain instead (a plain string; the operator points DNS at the
distribution).
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from aws_cdk import Aws, CfnCondition, CfnResource, Duration, Fn, RemovalPolicy, Stack
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra.carewire_infra.firewall import firewall_logging
from infra.carewire_infra.nag import acknowledge

# The header CloudFront adds to every request it sends the API: the regional web ACL leaves requests that
# carry it (with the stack's own value) to the edge web ACL's per-IP limit, which sees the viewer's address.
EDGE_HEADER = "x-carewire-edge"
STATIC_PATH = "/console/static/*"
STATIC_KEY_PREFIX = "console/static/"
IMMUTABLE = "public, max-age=31536000, immutable"
HSTS = Duration.days(730)
LOG_DAYS = 365


def _metrics(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
    )


def edge_secret() -> str:
    """The value of ``x-carewire-edge``: the UUID in this stack's id, unguessable from outside the account.

    It only tells the regional web ACL which requests the edge has already rate-limited per viewer; it
    authorises nothing (the app authenticates every request itself).
    """
    return Fn.select(2, Fn.split("/", Aws.STACK_ID))


def stage_static_files(staging: Path) -> dict[str, Path]:
    """Copy every static file under its hashed name into one folder per content type: content type → folder.

    The names come from chalicelib/console/assets.py, the function the local server uses too.
    """
    from chalicelib.console import assets

    folders: dict[str, Path] = {}
    for plain in assets.manifest():
        source = assets.STATIC_DIR / plain
        content_type = assets.CONTENT_TYPES[source.suffix]
        folder = folders.setdefault(content_type, staging / source.suffix.lstrip("."))
        folder.mkdir(parents=True, exist_ok=True)
        # Named after the bytes copied, so name and content agree even if the file is being edited.
        copy = Path(shutil.copyfile(source, folder / plain))
        copy.rename(folder / assets.hashed_name(copy))
    return folders


@dataclass(frozen=True)
class ConsoleOptions:
    """What the operator configures (cdk.json context or ``-c``)."""

    # A custom domain for the console and API (needs an ACM certificate in us-east-1 covering it).
    domain: str | None = None
    certificate_arn: str | None = None
    # Viewer countries allowed (ISO codes, "US,CA"); none: anywhere.
    countries: tuple[str, ...] = field(default_factory=tuple)
    # A CLOUDFRONT-scope web ACL made elsewhere, for stacks outside us-east-1 (where the stack makes its own).
    edge_web_acl_arn: str | None = None
    requests_per_ip: int = 1000


class ConsoleEdge(Construct):
    """The distribution, its static-file bucket and upload, its logs and its edge web ACL."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        rest_api_id: str,
        api_stage: str,
        key_arn: str,
        audit_table_arn: str,
        audit_denied: list[str],
        options: ConsoleOptions,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        if bool(options.domain) != bool(options.certificate_arn):
            raise ValueError("console_domain and console_certificate_arn go together")
        # Imported by ARN: a grant then lands in this stack's policies, never in the stateful stack's key policy.
        key = kms.Key.from_key_arn(self, "DataKey", key_arn)

        # S3 server access logs (of the two buckets below): SSE-S3 is the only encryption S3 delivers them to.
        access_logs = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            versioned=True,
            lifecycle_rules=[self._expire_logs()],
            removal_policy=RemovalPolicy.RETAIN,
        )
        # CloudFront's access logs: request paths carry patient ids, so the data key encrypts them.
        # CloudFront's legacy log delivery writes through object ACLs: ACLs stay enabled, owner preferred.
        self.log_bucket = s3.Bucket(
            self,
            "Logs",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            versioned=True,
            lifecycle_rules=[self._expire_logs()],
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="cloudfront-logs/",
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.static_bucket = s3.Bucket(
            self,
            "Static",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            lifecycle_rules=[s3.LifecycleRule(noncurrent_version_expiration=Duration.days(30))],
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="console-static/",
            removal_policy=RemovalPolicy.RETAIN,
        )

        headers = cloudfront.ResponseHeadersPolicy(
            self,
            "Headers",
            comment=f"{prefix}: HSTS everywhere; nosniff, referrer and frame policy where the app sets none",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=HSTS, include_subdomains=True, override=True
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=False),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.SAME_ORIGIN, override=False
                ),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=False
                ),
            ),
        )
        api_origin = origins.HttpOrigin(
            f"{rest_api_id}.execute-api.{stack.region}.{stack.url_suffix}",
            origin_path=f"/{api_stage}",
            protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
            origin_ssl_protocols=[cloudfront.OriginSslPolicy.TLS_V1_2],
            custom_headers={EDGE_HEADER: edge_secret()},
        )
        certificate = (
            acm.Certificate.from_certificate_arn(self, "Certificate", options.certificate_arn)
            if options.certificate_arn
            else None
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment=f"{prefix}: the console and the API on one origin",
            default_behavior=cloudfront.BehaviorOptions(
                origin=api_origin,
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
                origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
                response_headers_policy=headers,
                compress=False,  # CachingDisabled compresses nothing; pages are small (console.md: < 200 KB)
            ),
            additional_behaviors={
                STATIC_PATH: cloudfront.BehaviorOptions(
                    origin=origins.S3BucketOrigin.with_origin_access_control(self.static_bucket),
                    viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                    allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                    cached_methods=cloudfront.CachedMethods.CACHE_GET_HEAD,
                    # Up to a year, as each object's Cache-Control says; gzip and brotli.
                    cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                    response_headers_policy=headers,
                    compress=True,
                )
            },
            domain_names=[options.domain] if options.domain else None,
            certificate=certificate,
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            geo_restriction=cloudfront.GeoRestriction.allowlist(*options.countries) if options.countries else None,
            enable_logging=True,
            log_bucket=self.log_bucket,
            log_file_prefix="cloudfront/",
            log_includes_cookies=False,  # the session cookie stays out of the logs
            web_acl_id=self._edge_firewall(prefix, key, options),
        )
        self.origin = f"https://{options.domain}" if options.domain else f"https://{self.distribution.domain_name}"
        self.deployments = self._upload_static_files(prefix, key, audit_table_arn, audit_denied)
        self._acknowledge(access_logs, options)

    @staticmethod
    def _expire_logs() -> s3.LifecycleRule:
        return s3.LifecycleRule(
            expiration=Duration.days(LOG_DAYS), noncurrent_version_expiration=Duration.days(LOG_DAYS)
        )

    # -- the edge web ACL ------------------------------------------------------------------------------

    def _edge_firewall(self, prefix: str, key: kms.IKey, options: ConsoleOptions) -> str:
        """The per-IP rate rule and the IP reputation list, evaluated where the viewer's address is known.

        A CLOUDFRONT-scope web ACL can only be made in us-east-1, so it exists when the stack is deployed
        there (a CloudFormation condition: the stack is environment-agnostic); elsewhere pass one made in
        us-east-1 with ``-c edge_web_acl_arn=…``.  Without either, requests through the distribution are
        limited only by the stage's throttle (the regional ACL leaves them to the edge).
        """
        in_us_east_1 = CfnCondition(self, "InUsEast1", expression=Fn.condition_equals(Aws.REGION, "us-east-1"))
        acl = wafv2.CfnWebACL(
            self,
            "EdgeFirewall",
            name=f"{prefix}-edge",
            scope="CLOUDFRONT",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_metrics(f"{prefix}-edge"),
            rules=[
                wafv2.CfnWebACL.RuleProperty(
                    name="RequestsPerIp",
                    priority=0,
                    action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                            limit=options.requests_per_ip, aggregate_key_type="IP", evaluation_window_sec=300
                        )
                    ),
                    visibility_config=_metrics("EdgeRequestsPerIp"),
                ),
                wafv2.CfnWebACL.RuleProperty(
                    name="AWSManagedRulesAmazonIpReputationList",
                    priority=1,
                    override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                            vendor_name="AWS", name="AWSManagedRulesAmazonIpReputationList"
                        )
                    ),
                    visibility_config=_metrics("EdgeIpReputation"),
                ),
            ],
        )
        acl.cfn_options.condition = in_us_east_1
        waf_logs, logging = firewall_logging(
            self, "Edge", f"aws-waf-logs-{prefix}-edge", key, acl.attr_arn, keep=("BLOCK",)
        )
        waf_logs.node.default_child.cfn_options.condition = in_us_east_1  # type: ignore[union-attr]
        logging.cfn_options.condition = in_us_east_1
        elsewhere = options.edge_web_acl_arn or Aws.NO_VALUE
        return Fn.condition_if(in_us_east_1.logical_id, acl.attr_arn, elsewhere).to_string()

    # -- the static files --------------------------------------------------------------------------------

    def _upload_static_files(
        self, prefix: str, key: kms.IKey, audit_table_arn: str, audit_denied: list[str]
    ) -> list[s3deploy.BucketDeployment]:
        """One upload per content type (S3 keeps one Content-Type per object), all under console/static/.

        The hashed files are staged into a temporary folder at synth (no Docker, no network); CDK copies
        it into the cloud assembly as an asset, and CDK's deployment function copies it into the bucket.
        """
        staging = Path(tempfile.mkdtemp(prefix="carewire-console-static-"))
        atexit.register(shutil.rmtree, staging, ignore_errors=True)
        folders = stage_static_files(staging)
        role = iam.Role(
            self,
            "UploadRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{prefix}: copies the console's static files from the CDK asset bucket at deploy",
        )
        # Like every role in this stack: no change or delete in the audit trail (F4).
        role.add_to_policy(
            iam.PolicyStatement(effect=iam.Effect.DENY, actions=audit_denied, resources=[audit_table_arn])
        )
        upload_logs = logs.LogGroup(
            self,
            "UploadLogs",
            encryption_key=key,
            retention=logs.RetentionDays.ONE_YEAR,
        )
        upload_logs.grant_write(role)
        self.upload_role = role
        deployments = []
        for content_type, folder in sorted(folders.items()):
            deployments.append(
                s3deploy.BucketDeployment(
                    self,
                    f"Upload{folder.name.title()}",
                    destination_bucket=self.static_bucket,
                    destination_key_prefix=STATIC_KEY_PREFIX,
                    sources=[s3deploy.Source.asset(str(folder))],
                    cache_control=[s3deploy.CacheControl.from_string(IMMUTABLE)],
                    content_type=content_type,
                    prune=False,  # earlier versions' names stay for pages rendered before the deploy
                    retain_on_delete=True,
                    role=role,
                    log_group=upload_logs,
                )
            )
        # Each deployment makes CDK's AWS CLI layer, but only the first one's is attached to the (singleton)
        # upload function: the others would be unused layer versions.
        for extra in deployments[1:]:
            extra.node.try_remove_child("AwsCliLayer")
        return deployments

    # -- cdk-nag -----------------------------------------------------------------------------------------

    def _acknowledge(self, access_logs: s3.Bucket, options: ConsoleOptions) -> None:
        copy_grant = "CDK's BucketDeployment grant: read the CDK asset bucket, write the console's static bucket"
        acknowledge(
            self.upload_role,
            {
                "HIPAA.Security-IAMNoInlinePolicy": (
                    "The upload function's own role; its policy is attached to that role alone"
                ),
                **{
                    f"AwsSolutions-IAM5[Action::s3:{action}]": copy_grant
                    for action in ("Abort*", "DeleteObject*", "GetBucket*", "GetObject*", "List*")
                },
                f"AwsSolutions-IAM5[Resource::<{Stack.of(self).get_logical_id(self.static_bucket.node.default_child)}"
                ".Arn>/*]": "Objects of the console's static bucket only",
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-"
                "<AWS::Region>/*]": "The CDK bootstrap asset bucket, where the staged files are uploaded",
            },
        )
        # CDK's singleton upload function lives at the stack's root, named after a fixed UUID.
        for child in Stack.of(self).node.children:
            if child.node.id.startswith("Custom::CDKBucketDeployment"):
                # CDK makes the function depend on its role as well as reading the role's ARN (cfn-lint W3005).
                function = child.node.default_child
                if isinstance(function, CfnResource):
                    function.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})
                acknowledge(
                    child,
                    {
                        "AwsSolutions-L1": "CDK's BucketDeployment function; aws-cdk-lib pins its runtime",
                        "HIPAA.Security-LambdaConcurrency": (
                            "Runs only when CloudFormation deploys the stack, one invocation per upload"
                        ),
                        "HIPAA.Security-LambdaDLQ": (
                            "Invoked synchronously by CloudFormation, which fails (and rolls back) the deploy"
                            " when it fails: nothing to redrive"
                        ),
                        "HIPAA.Security-LambdaInsideVPC": (
                            "Copies public static files between two S3 buckets at deploy; reaches no PHI and no"
                            " private network"
                        ),
                    },
                )
        no_replica = "Rebuilt from the repository at every deploy; one region by design (docs/deploy.md)"
        acknowledge(
            self.static_bucket,
            {
                "HIPAA.Security-S3BucketReplicationEnabled": no_replica,
                "HIPAA.Security-S3DefaultEncryptionKMS": (
                    "Public, content-hashed static files (htmx, CSS, JS), no PHI; SSE-S3 lets CloudFront read"
                    " them through Origin Access Control without a grant on the data key"
                ),
            },
        )
        acknowledge(
            access_logs,
            {
                "HIPAA.Security-S3BucketReplicationEnabled": "Request metadata of the console's buckets; one region",
                "HIPAA.Security-S3DefaultEncryptionKMS": (
                    "S3 server access logs can only be delivered to an SSE-S3 bucket; they hold bucket request"
                    " metadata, no PHI"
                ),
            },
        )
        acknowledge(
            self.log_bucket,
            {"HIPAA.Security-S3BucketReplicationEnabled": "Access logs, kept a year in one region by design"},
        )
        distribution: dict[str, str] = {
            "AwsSolutions-CFR1": (
                "Clinicians work from wherever they are; sign-in (Cognito, MFA) guards every page; restrict"
                " countries with -c console_countries=US,…"
            )
        }
        if not options.domain:
            distribution["AwsSolutions-CFR4"] = (
                "No custom domain on this stage: the default *.cloudfront.net certificate, whose TLS floor"
                " CloudFront sets; with -c console_domain/console_certificate_arn the floor is TLS 1.2 (2021)"
            )
        acknowledge(self.distribution, distribution)
