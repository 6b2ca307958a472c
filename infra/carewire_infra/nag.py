"""cdk-nag at synth: the AWS Solutions and HIPAA Security packs, and every acknowledgement with its reason.

cdk-nag v3 runs as a CDK policy-validation plugin: an unacknowledged finding
fails ``app.synth()``.  Each acknowledgement below names the rule (and, for
wildcard findings, the exact finding) and why it does not apply or what
Carewire does instead.
"""

from __future__ import annotations

import aws_cdk as cdk
import cdk_nag
from constructs import IConstruct

ACKNOWLEDGED: dict[str, str] = {}


def add_checks(app: cdk.App) -> None:
    cdk.Validations.of(app).add_plugins(cdk_nag.AwsSolutionsChecks(app), cdk_nag.HIPAASecurityChecks(app))


def acknowledge(scope: IConstruct, rules: dict[str, str]) -> None:
    for rule, reason in rules.items():
        cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=rule, reason=reason))
