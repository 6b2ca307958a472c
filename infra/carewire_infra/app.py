"""Build the Carewire CDK app for one stage: stateful + stateless stacks, cdk-nag at synth."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk

from infra.carewire_infra.console import ConsoleOptions
from infra.carewire_infra.nag import add_checks
from infra.carewire_infra.stateful import StatefulStack
from infra.carewire_infra.stateless import Channels, StatelessStack

# Feature flags this app relies on, whichever way it is synthesized (the CLI's cdk.json or infra.synth).
FLAGS = {
    # Server access logs delivered under a bucket policy, not the legacy LogDeliveryWrite ACL.
    "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True,
}


def build(stage: str = "dev", context: dict[str, Any] | None = None, outdir: str | None = None) -> cdk.App:
    app = cdk.App(context={**FLAGS, **(context or {})}, outdir=outdir)
    ctx = app.node.try_get_context
    env = cdk.Environment(account=ctx("account"), region=ctx("region"))
    channels = Channels(
        email_sender=ctx("email_sender") or "care@clinic.example",
        sms_origination_number=ctx("sms_origination_number"),
        sms_sender_id=ctx("sms_sender_id"),
        voice_origination_identity=ctx("voice_origination_identity"),
        sms_countries=ctx("sms_countries") or "+1",
        sms_delivery_logs=ctx("sms_delivery_logs") or "own",
        platform_application_arns=tuple(filter(None, (ctx("platform_application_arns") or "").split(","))),
        clinic_name=ctx("clinic_name") or "Carewire Clinic",
        support_contact=ctx("support_contact") or "your care team",
        console_url=ctx("console_url"),
        deliver_concurrency=int(ctx("deliver_concurrency") or 5),
        waf_requests_per_ip=int(ctx("waf_requests_per_ip") or 1000),
        retention_years=int(ctx("retention_years") or 6),
    )
    console = ConsoleOptions(
        domain=ctx("console_domain"),
        certificate_arn=ctx("console_certificate_arn"),
        countries=tuple(filter(None, (ctx("console_countries") or "").split(","))),
        edge_web_acl_arn=ctx("edge_web_acl_arn"),
        requests_per_ip=channels.waf_requests_per_ip,
    )
    ops_emails = tuple(filter(None, (ctx("ops_emails") or "").split(",")))
    data = StatefulStack(app, f"carewire-{stage}-stateful", stage=stage, ops_emails=ops_emails, env=env)
    api = StatelessStack(
        app, f"carewire-{stage}-stateless", stage=stage, data=data, channels=channels, console=console, env=env
    )
    for stack in (data, api):
        cdk.Tags.of(stack).add("app", "carewire")
        cdk.Tags.of(stack).add("stage", stage)
    add_checks(app)
    return app
