"""Every rule of the pose-labeling policy pack, grouped by service.

Each rule's validation function is importable and takes the same arguments the
Pulumi CLI passes (``ResourceValidationArgs`` or ``StackValidationArgs``), so
the tests run them on the stack's real resource inputs without the CLI.
"""

from __future__ import annotations

from pulumi_policy import Policy

from . import apigateway, cloudfront, dynamodb, exposure, functions, iam, kms, production, s3

POLICIES: list[Policy] = [
    *s3.POLICIES,
    *cloudfront.POLICIES,
    *exposure.POLICIES,
    *functions.POLICIES,
    *iam.POLICIES,
    *kms.POLICIES,
    *production.POLICIES,
    *apigateway.POLICIES,
    *dynamodb.POLICIES,
]
