"""The stateful stack: everything that holds data and must outlive a deploy.

Tables, indexes and queues are built from ``chalicelib/resources.py``, the same
definition the local stack creates, so a key or index is declared once.  Every
store is encrypted with one customer-managed KMS key (rotated yearly); tables
keep point-in-time recovery and deletion protection; the stack retains data on
delete.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_backup as backup
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_pipes as pipes
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from chalicelib import resources
from infra.carewire_infra.nag import acknowledge

TYPES = {"S": dynamodb.AttributeType.STRING, "N": dynamodb.AttributeType.NUMBER, "B": dynamodb.AttributeType.BINARY}
BACKUP_DAYS = 35
# Staff access (and ID) tokens: docs/api.md "Trust rules".
STAFF_TOKEN_MINUTES = 15
# HIPAA keeps required documentation six years (45 CFR 164.316(b)(2)): the audit archive's Object Lock.
AUDIT_ARCHIVE_DAYS = 6 * 365 + 2
PROJECTIONS = {"ALL": dynamodb.ProjectionType.ALL, "KEYS_ONLY": dynamodb.ProjectionType.KEYS_ONLY}


def _attribute(definition: dict[str, Any], name: str) -> dynamodb.Attribute:
    kinds = {a["AttributeName"]: a["AttributeType"] for a in definition["AttributeDefinitions"]}
    return dynamodb.Attribute(name=name, type=TYPES[kinds[name]])


def _keys(definition: dict[str, Any], schema: list[dict[str, str]]) -> dict[str, dynamodb.Attribute]:
    keys = {"partition_key": _attribute(definition, schema[0]["AttributeName"])}
    if len(schema) > 1:
        keys["sort_key"] = _attribute(definition, schema[1]["AttributeName"])
    return keys


def build_table(
    scope: Construct,
    construct_id: str,
    definition: dict[str, Any],
    name: str,
    key: kms.IKey,
    stream: dynamodb.StreamViewType | None,
    expires: bool,
) -> dynamodb.Table:
    table = dynamodb.Table(
        scope,
        construct_id,
        table_name=name,
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
        encryption_key=key,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        deletion_protection=True,
        removal_policy=RemovalPolicy.RETAIN,
        time_to_live_attribute="expires_at" if expires else None,
        stream=stream,
        **_keys(definition, definition["KeySchema"]),
    )
    for index in definition.get("LocalSecondaryIndexes", []):
        table.add_local_secondary_index(
            index_name=index["IndexName"],
            sort_key=_attribute(definition, index["KeySchema"][1]["AttributeName"]),
            projection_type=PROJECTIONS[index["Projection"]["ProjectionType"]],
        )
    for index in definition.get("GlobalSecondaryIndexes", []):
        table.add_global_secondary_index(
            index_name=index["IndexName"],
            projection_type=PROJECTIONS[index["Projection"]["ProjectionType"]],
            **_keys(definition, index["KeySchema"]),
        )
    return table


class StatefulStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, stage: str, ops_emails: tuple[str, ...] = (), **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.stage = stage
        prefix = f"carewire-{stage}"

        self.key = kms.Key(
            self,
            "DataKey",
            alias=f"alias/{prefix}",
            description="Carewire patient data: tables, queues, topics, logs, secrets",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        # Services that write into encrypted resources on our behalf.
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="ServicesPublishToEncryptedTopicsAndLogs",
                principals=[
                    iam.ServicePrincipal("ses.amazonaws.com"),
                    iam.ServicePrincipal("sms-voice.amazonaws.com"),
                    iam.ServicePrincipal("cloudwatch.amazonaws.com"),
                    # SNS itself publishes a push platform application's EventDeliveryFailure notices
                    # (stateless.py) to the encrypted delivery-events topic.
                    iam.ServicePrincipal("sns.amazonaws.com"),
                ],
                actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                resources=["*"],  # in a key policy, "*" means this key
                conditions={"StringEquals": {"aws:SourceAccount": self.account}},
            )
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="LambdaLogGroups",
                principals=[iam.ServicePrincipal(f"logs.{self.region}.amazonaws.com")],
                actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                resources=["*"],  # in a key policy, "*" means this key
                conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": self._logs_arn()}},
            )
        )

        # CloudFront's access logs (console.py): its log delivery writes them into a bucket under this key.
        # CloudFront's legacy delivery names no source account or distribution to condition on; the key
        # only serves buckets this account encrypts with it.
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudFrontLogDelivery",
                principals=[iam.ServicePrincipal("delivery.logs.amazonaws.com")],
                actions=["kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, "*" means this key
            )
        )

        self.table = build_table(
            self, "Table", resources.MAIN_TABLE, prefix, self.key, dynamodb.StreamViewType.NEW_AND_OLD_IMAGES, True
        )
        # Append-only (F4): no TTL, which would let an UpdateItem of expires_at delete a record silently;
        # its stream feeds the Object Lock archive (_archive_audit_trail).
        self.audit_table = build_table(
            self,
            "AuditTable",
            resources.AUDIT_TABLE,
            f"{prefix}-audit",
            self.key,
            dynamodb.StreamViewType.NEW_IMAGE,
            False,
        )

        self._archive_audit_trail(prefix)

        self.queues: dict[str, sqs.Queue] = {}
        self.dead_letters: dict[str, sqs.Queue] = {}
        for name, spec in resources.QUEUES.items():
            dead = sqs.Queue(
                self,
                f"{name.title().replace('-', '')}Dlq",
                queue_name=f"{prefix}-{name}-dlq",
                encryption=sqs.QueueEncryption.KMS,
                encryption_master_key=self.key,
                enforce_ssl=True,
                retention_period=Duration.days(14),
            )
            self.dead_letters[name] = dead
            self.queues[name] = sqs.Queue(
                self,
                name.title().replace("-", ""),
                queue_name=f"{prefix}-{name}",
                encryption=sqs.QueueEncryption.KMS,
                encryption_master_key=self.key,
                enforce_ssl=True,
                visibility_timeout=Duration.seconds(spec["visibility_timeout"]),
                dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=spec["max_receive_count"], queue=dead),
            )
        # Stream records the handler gave up on (after retries and bisection) land here.
        self.stream_failures = sqs.Queue(
            self,
            "StreamFailures",
            queue_name=f"{prefix}-stream-failures",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.key,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        self.dead_letters["stream"] = self.stream_failures
        self.dead_letters["audit-archive"] = self.audit_archive_failures
        # What delivery_events and sms_delivery_logs gave up on: SNS and CloudWatch Logs invoke them
        # asynchronously, and after Lambda's two retries an event would otherwise be dropped.
        self.delivery_event_failures = sqs.Queue(
            self,
            "DeliveryEventsDlq",
            queue_name=f"{prefix}-delivery-events-dlq",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.key,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        self.dead_letters["delivery-events"] = self.delivery_event_failures

        self.topics = {
            name: sns.Topic(
                self,
                name.title().replace("-", ""),
                topic_name=f"{prefix}-{name}",
                master_key=self.key,
                enforce_ssl=True,
            )
            for name in resources.TOPICS
        }
        # Alarms (dead letters, escalations nobody could take, send caps) reach a person only if
        # someone is subscribed: the operator's addresses (-c ops_emails=a@x,b@y) confirm by email.
        for address in ops_emails:
            self.topics["alerts-ops"].add_subscription(subscriptions.EmailSubscription(address))

        self.email = ses.ConfigurationSet(
            self,
            "Email",
            configuration_set_name=prefix,
            reputation_metrics=True,
            # Full-content email carries PHI: never fall back to plaintext SMTP (F11).
            tls_policy=ses.ConfigurationSetTlsPolicy.REQUIRE,
            suppression_reasons=ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
        )
        self.email.add_event_destination(
            "DeliveryEvents",
            destination=ses.EventDestination.sns_topic(self.topics["delivery-events"]),
            events=[
                ses.EmailSendingEvent.SEND,
                ses.EmailSendingEvent.DELIVERY,
                ses.EmailSendingEvent.BOUNCE,
                ses.EmailSendingEvent.COMPLAINT,
                ses.EmailSendingEvent.REJECT,
                ses.EmailSendingEvent.RENDERING_FAILURE,
                ses.EmailSendingEvent.DELIVERY_DELAY,
            ],
        )

        # Two user pools (F9, F15): patients sign in to one (TOTP optional: many sign in on one phone),
        # staff to the other, where TOTP MFA is required and access tokens live 15 minutes.  The app
        # trusts each pool for its own roles only (chalicelib/adapters/tokens.py).
        self.users = self._user_pool("Users", f"{prefix}-patients", cognito.Mfa.OPTIONAL, "patients")
        self.app_client = self.users.add_client(
            "App",
            auth_flows=cognito.AuthFlow(user_srp=True),
            generate_secret=False,
            prevent_user_existence_errors=True,
            access_token_validity=Duration.hours(1),
            id_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.days(30),
        )
        self.staff = self._user_pool("Staff", f"{prefix}-staff", cognito.Mfa.REQUIRED, "staff")
        self.staff_client = self.staff.add_client(
            "Console",
            auth_flows=cognito.AuthFlow(user_srp=True),
            generate_secret=False,
            prevent_user_existence_errors=True,
            access_token_validity=Duration.minutes(STAFF_TOKEN_MINUTES),
            id_token_validity=Duration.minutes(STAFF_TOKEN_MINUTES),
            # One working day: a revoked refresh token (sign-out, a disabled user) ends the session.
            refresh_token_validity=Duration.hours(12),
        )
        self.user_pools = [self.users, self.staff]

        # Daily backups kept 35 days, on top of point-in-time recovery.
        plan = backup.BackupPlan.daily35_day_retention(
            self,
            "Backups",
            backup_vault=backup.BackupVault(
                self,
                "Vault",
                backup_vault_name=prefix,
                encryption_key=self.key,
                removal_policy=RemovalPolicy.RETAIN,
                # Vault Lock (F4): no recovery point is deleted before its 35 days, not even by an account
                # admin; after 3 days' grace the lock itself can no longer be removed (compliance mode).
                lock_configuration=backup.LockConfiguration(
                    min_retention=Duration.days(BACKUP_DAYS), changeable_for=Duration.days(3)
                ),
            ),
        )
        selection = plan.add_selection(
            "Tables", resources=[backup.BackupResource.from_dynamo_db_table(t) for t in (self.table, self.audit_table)]
        )
        acknowledge(
            selection,
            {
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AWSBackupServiceRolePolicyForBackup]": "AWS Backup's own service-role policy, maintained by AWS",
            },
        )

        acknowledge(
            self.stream_failures,
            {"AwsSolutions-SQS3": "This queue is the stream's on-failure destination: it is the dead-letter queue"},
        )
        acknowledge(
            self.delivery_event_failures,
            {
                "AwsSolutions-SQS3": (
                    "This queue is the delivery-event functions' on-failure destination: it is the dead-letter queue"
                )
            },
        )
        acknowledge(
            self.users,
            {
                "AwsSolutions-COG2": (
                    "The patients' pool: TOTP is optional so patients can sign in on a phone; staff sign in"
                    " to their own pool, where MFA is required"
                )
            },
        )

        # Signs pagination cursors.  The API reads it from Secrets Manager at first use (never in an environment).
        self.cursor_secret = secretsmanager.Secret(
            self,
            "CursorSecret",
            secret_name=f"{prefix}/cursor-secret",
            encryption_key=self.key,
            generate_secret_string=secretsmanager.SecretStringGenerator(exclude_punctuation=True, password_length=64),
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            self.cursor_secret,
            dict.fromkeys(
                ("AwsSolutions-SMG4", "HIPAA.Security-SecretsManagerRotationEnabled"),
                "Signs pagination cursors only (no credential); rotating it just invalidates open"
                " cursors, done by replacing the value (a warm container keeps the one it read)",
            ),
        )

    def _archive_audit_trail(self, prefix: str) -> None:
        """Every audit record, as written, into an S3 bucket under Object Lock (compliance mode, six years).

        The audit table's stream (new images) -> an EventBridge Pipe -> Firehose (Direct PUT) -> S3: no code
        of ours, and nothing on the path can delete.  Firehose batches records into objects; the bucket's
        default retention locks each object version as it lands, so nobody, the root user included, can
        shorten or delete it before the six years are up.  What the pipe gives up on (10 retries) goes to a
        dead-letter queue with an alarm (stateless stack), to be redriven by hand.
        """
        access_logs = s3.Bucket(
            self,
            "AuditArchiveAccessLogs",
            # S3 server access logs cannot be delivered to a bucket encrypted with SSE-KMS.
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            versioned=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.audit_archive = s3.Bucket(
            self,
            "AuditArchive",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            versioned=True,
            object_lock_enabled=True,
            object_lock_default_retention=s3.ObjectLockRetention.compliance(Duration.days(AUDIT_ARCHIVE_DAYS)),
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="audit-archive/",
            removal_policy=RemovalPolicy.RETAIN,
        )
        delivery_logs = logs.LogGroup(
            self,
            "AuditArchiveDeliveryLogs",
            encryption_key=self.key,
            retention=logs.RetentionDays.ONE_YEAR,
            removal_policy=RemovalPolicy.RETAIN,
        )
        writer = iam.Role(
            self,
            "AuditArchiveWriterRole",
            assumed_by=iam.ServicePrincipal("firehose.amazonaws.com"),
            description="Carewire audit archive: Firehose writes objects, never deletes one",
        )
        # CDK's S3 destination grants read-write; Object Lock already keeps every version, and this keeps
        # even a delete marker out of the writer's reach.
        writer.add_to_policy(
            iam.PolicyStatement(
                effect=iam.Effect.DENY,
                actions=["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObjectRetention", "s3:PutObjectLegalHold"],
                resources=[self.audit_archive.arn_for_objects("*")],
            )
        )
        delivery = firehose.DeliveryStream(
            self,
            "AuditArchiveDelivery",
            delivery_stream_name=f"{prefix}-audit-archive",
            encryption=firehose.StreamEncryption.customer_managed_key(self.key),
            destination=firehose.S3Bucket(
                self.audit_archive,
                encryption_key=self.key,
                compression=firehose.Compression.GZIP,
                buffering_interval=Duration.minutes(5),
                data_output_prefix="audit/!{timestamp:yyyy/MM/dd}/",
                error_output_prefix="errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/",
                logging_config=firehose.EnableLogging(delivery_logs),
                role=writer,
            ),
        )
        self.audit_archive_failures = sqs.Queue(
            self,
            "AuditArchiveDlq",
            queue_name=f"{prefix}-audit-archive-dlq",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.key,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        role = iam.Role(
            self,
            "AuditArchivePipeRole",
            assumed_by=iam.ServicePrincipal("pipes.amazonaws.com"),
            description="Carewire audit archive: reads the audit stream, writes to Firehose",
        )
        self.audit_table.grant_stream_read(role)
        delivery.grant_put_records(role)
        self.audit_archive_failures.grant_send_messages(role)
        pipes.CfnPipe(
            self,
            "AuditArchivePipe",
            name=f"{prefix}-audit-archive",
            description="Audit records to the Object Lock archive",
            role_arn=role.role_arn,
            source=self.audit_table.table_stream_arn or "",
            source_parameters=pipes.CfnPipe.PipeSourceParametersProperty(
                dynamo_db_stream_parameters=pipes.CfnPipe.PipeSourceDynamoDBStreamParametersProperty(
                    starting_position="TRIM_HORIZON",
                    batch_size=100,
                    maximum_batching_window_in_seconds=60,
                    maximum_retry_attempts=10,
                    dead_letter_config=pipes.CfnPipe.DeadLetterConfigProperty(
                        arn=self.audit_archive_failures.queue_arn
                    ),
                )
            ),
            target=delivery.delivery_stream_arn,
        )
        # The Firehose module adds a region -> CIDR mapping for destinations inside a VPC; S3 needs none,
        # and an unreferenced mapping is a CloudFormation (and cfn-lint) warning.
        self.node.try_remove_child("@aws-cdk--aws-kinesisfirehose.CidrBlocks")
        inline = "One role per AWS service on this path; its policy is attached to that role alone"
        kms_grant = "CDK's grant on the one data key, no other key"
        acknowledge(
            writer,
            {
                "HIPAA.Security-IAMNoInlinePolicy": inline,
                "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]": kms_grant,
                "AwsSolutions-IAM5[Action::kms:ReEncrypt*]": kms_grant,
                **dict.fromkeys(
                    (
                        f"AwsSolutions-IAM5[Action::s3:{a}]"
                        for a in ("Abort*", "DeleteObject*", "GetBucket*", "GetObject*", "List*")
                    ),
                    "CDK's Firehose S3 destination grant on the archive bucket only; deletes are denied"
                    " explicitly and Object Lock keeps every version",
                ),
                "AwsSolutions-IAM5[Resource::<AuditArchive60EBC247.Arn>/*]": "Objects of the archive bucket only",
            },
        )
        acknowledge(
            delivery,
            {
                "HIPAA.Security-IAMNoInlinePolicy": inline,
                "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]": kms_grant,
                "AwsSolutions-IAM5[Action::kms:ReEncrypt*]": kms_grant,
            },
        )
        acknowledge(
            role,
            {
                "HIPAA.Security-IAMNoInlinePolicy": inline,
                "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]": kms_grant,
                "AwsSolutions-IAM5[Action::kms:ReEncrypt*]": kms_grant,
                "AwsSolutions-IAM5[Resource::*]": "dynamodb:ListStreams, which has no resource ARN",
            },
        )
        acknowledge(
            self.audit_archive_failures,
            {"AwsSolutions-SQS3": "This queue is the pipe's dead-letter queue"},
        )
        no_replica = (
            "One region by design (README: Deploy to AWS); the archive is immutable under Object Lock and the"
            " table itself has PITR and Vault-Locked backups"
        )
        acknowledge(self.audit_archive, {"HIPAA.Security-S3BucketReplicationEnabled": no_replica})
        acknowledge(
            access_logs,
            {
                "HIPAA.Security-S3BucketReplicationEnabled": no_replica,
                "HIPAA.Security-S3DefaultEncryptionKMS": (
                    "S3 server access logs can only be delivered to an SSE-S3 bucket; they hold request metadata,"
                    " no audit content"
                ),
            },
        )

    def _user_pool(self, construct_id: str, name: str, mfa: cognito.Mfa, kind: str) -> cognito.UserPool:
        pool = cognito.UserPool(
            self,
            construct_id,
            user_pool_name=name,
            self_sign_up_enabled=False,  # the clinic enrolls people
            sign_in_aliases=cognito.SignInAliases(username=True, email=True),
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=Duration.days(3),
            ),
            mfa=mfa,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        for group in resources.USER_POOLS[kind]:
            cognito.CfnUserPoolGroup(self, f"Group{group.title()}", user_pool_id=pool.user_pool_id, group_name=group)
        return pool

    def _logs_arn(self) -> str:
        return f"arn:{self.partition}:logs:{self.region}:{self.account}:*"
