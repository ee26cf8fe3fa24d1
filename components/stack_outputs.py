"""The stack's outputs: one list of names, shared by ``__main__.py`` and ``scripts/``.

The program exports exactly these keys; scripts read them back from
``pulumi stack output --json`` (or a file holding the same JSON). No Pulumi import
here, so scripts can use it without loading the Pulumi SDK.

``OUTPUT_NAMES`` are required: every deployed stack has them. The fields with a
default (``OPTIONAL_OUTPUT_NAMES``) are exported when the stack has the thing
they name, and are None otherwise; ``runner`` is always exported, and a stack
deployed before it existed reads back as ``groundtruth``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields
from typing import Any

from handlers.rig import Rig, RigError, load_rig

#: Who hands out the labeling tasks (the ``runner`` setting and output).
GROUND_TRUTH_RUNNER = "groundtruth"
SELF_HOSTED_RUNNER = "self-hosted"
RUNNERS = (GROUND_TRUTH_RUNNER, SELF_HOSTED_RUNNER)


@dataclass(frozen=True)
class StackOutputs:
    bucket_name: str
    template_s3_uri: str
    component_url: str
    cdn_domain_name: str
    pre_annotation_lambda_arn: str
    post_annotation_lambda_arn: str
    ground_truth_role_arn: str
    #: Exported as the whole rig object, so scripts on any machine see the deployed rig.
    rig: Rig
    region: str
    #: Managed policy to attach to the people who launch jobs (iam:PassRole and job actions).
    job_launcher_policy_arn: str | None = None
    #: The bucket's customer-managed KMS key (production profile): pass it to jobs as
    #: ``OutputConfig.KmsKeyId``. None when the bucket uses SSE-S3.
    kms_key_id: str | None = None
    #: The production profile's log bucket (CloudFront and S3 access logs).
    access_log_bucket_name: str | None = None
    #: The work team the stack created (``workteamName``): launch_job's default team.
    workteam_arn: str | None = None
    #: Where that team's workers sign in and label: ``https://<workforce subdomain>``.
    labeling_portal_url: str | None = None
    #: ``groundtruth`` or ``self-hosted``: who hands out the tasks of the stack's jobs.
    runner: str = GROUND_TRUTH_RUNNER
    #: Self-hosted runner only: the task service's HTTP API (``https://...execute-api...``).
    task_api_url: str | None = None
    #: Self-hosted runner only: where workers sign in and label, ``https://<cdn>/portal/``.
    worker_portal_url: str | None = None
    #: Self-hosted runner only: the DynamoDB table holding jobs, tasks and leases.
    tasks_table_name: str | None = None
    #: Self-hosted runner only: the portal's public Cognito app client.
    portal_client_id: str | None = None
    #: Self-hosted runner only: the Cognito sign-in pages, ``https://...auth.<region>.amazoncognito.com``.
    portal_auth_domain: str | None = None

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], source: str = "stack outputs") -> StackOutputs:
        """Pick the known keys out of ``values``; a missing or empty one is named in the error."""
        missing = [name for name in OUTPUT_NAMES if not values.get(name)]
        if missing:
            raise ValueError(
                f"{source}: missing {', '.join(missing)} — is this a pose-labeling stack"
                " that has been deployed with `pulumi up`?"
            )
        plain = {name: str(values[name]) for name in OUTPUT_NAMES if name != "rig"}
        plain |= {name: str(values[name]) for name in OPTIONAL_OUTPUT_NAMES if values.get(name)}
        try:
            rig_value = values["rig"]
            rig = (
                Rig.parse(rig_value, source=f"{source}: rig")
                if isinstance(rig_value, dict)
                else load_rig(str(rig_value))
            )
        except RigError as exc:
            raise ValueError(str(exc)) from exc
        return cls(**plain, rig=rig)


#: Every output a deployed stack exports, in the order DESIGN.md lists them.
OUTPUT_NAMES: tuple[str, ...] = tuple(f.name for f in fields(StackOutputs) if f.default is MISSING)
#: Outputs exported only when the stack has what they name.
OPTIONAL_OUTPUT_NAMES: tuple[str, ...] = tuple(
    f.name for f in fields(StackOutputs) if f.default is not MISSING
)
