"""Every IAM and resource policy document the stack attaches, as small pure functions.

The components join Pulumi outputs and call these; the tests call them directly
(parliament, privilege checks) and through the stack under mocks. Each returns
compact JSON with sorted keys, so an unchanged stack renders byte-identical
documents and never shows a perpetual diff.

Least privilege, statement by statement: every ``Sid`` says what the grant is
for, and the only ``"Resource": "*"`` left is for actions that have no
resource-level permissions at all (commented where it appears).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from components.s3_layout import IMAGES_PREFIX, JOBS_PREFIX, MANIFESTS_PREFIX, OUTPUT_PREFIX
from handlers.overflow import OVERFLOW_DIR

#: Where the post-annotation Lambda puts labels too big for its response, per job.
OVERFLOW_PATH = f"annotations/consolidated-annotation/{OVERFLOW_DIR}"

VERSION = "2012-10-17"

Statement = dict[str, Any]


def document(*statements: Statement) -> str:
    """A policy document as compact JSON with sorted keys (stable across runs)."""
    return json.dumps(
        {"Version": VERSION, "Statement": list(statements)},
        sort_keys=True,
        separators=(",", ":"),
    )


def partition_of(arn: str) -> str:
    """``aws`` (or ``aws-cn``, ``aws-us-gov``) from any ARN, so no partition is hard-coded."""
    parts = arn.split(":")
    if len(parts) < 6 or parts[0] != "arn":
        raise ValueError(f"not an ARN: {arn!r}")
    return parts[1]


def objects(bucket_arn: str, prefix: str) -> str:
    """ARN of every object under ``prefix`` of the bucket."""
    return f"{bucket_arn}/{prefix}*"


# -- trust policies ---------------------------------------------------------------


def assume_role_policy(service: str, source_account: str | None = None) -> str:
    """Trust policy letting one AWS service principal assume the role, and nothing else.

    With ``source_account``, only on behalf of that account (``aws:SourceAccount``):
    the service cannot be made to use the role for another account's resources.
    """
    statement: Statement = {
        "Sid": "TrustedService",
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if source_account:
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": source_account}}
    return document(statement)


SAGEMAKER_SERVICE = "sagemaker.amazonaws.com"
LAMBDA_SERVICE = "lambda.amazonaws.com"


# -- bucket policies --------------------------------------------------------------


def deny_insecure_transport(bucket_arn: str) -> Statement:
    """Refuse every request made without TLS, whoever makes it."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def asset_bucket_policy(bucket_arn: str, served_keys: Sequence[str], distribution_arn: str) -> str:
    """TLS only; CloudFront (this distribution, through OAC) may read exactly ``served_keys``.

    The keys are the component JS, and with the self-hosted runner the worker portal's
    files (``components.worker_portal``); every other key answers 403 through the CDN.
    """
    served = [f"{bucket_arn}/{key}" for key in sorted(served_keys)]
    return document(
        deny_insecure_transport(bucket_arn),
        {
            "Sid": "CloudFrontReadsComponentOnly",
            "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": "s3:GetObject",
            # One key stays a string: the document of a stack without the portal is unchanged.
            "Resource": served[0] if len(served) == 1 else served,
            "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}},
        },
    )


# -- Ground Truth execution role -------------------------------------------------


def execution_role_policy(
    *,
    bucket_arn: str,
    template_key: str,
    lambda_arns: Sequence[str],
    region: str,
    account_id: str,
    kms_key_arn: str | None = None,
) -> str:
    """What a labeling job needs: its inputs, its output prefix, our two Lambdas, its logs."""
    partition = partition_of(bucket_arn)
    log_group = f"arn:{partition}:logs:{region}:{account_id}:log-group:/aws/sagemaker/LabelingJobs"
    statements: list[Statement] = [
        {
            "Sid": "LocateAndListJobBucket",
            "Effect": "Allow",
            "Action": ["s3:GetBucketLocation", "s3:ListBucket"],
            "Resource": bucket_arn,
        },
        {
            # Ground Truth reads the images through grant_read_access, the manifest,
            # the template, and reads back what it wrote under the output prefix.
            "Sid": "ReadJobDataAndTemplate",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": [
                objects(bucket_arn, IMAGES_PREFIX),
                objects(bucket_arn, MANIFESTS_PREFIX),
                objects(bucket_arn, OUTPUT_PREFIX),
                f"{bucket_arn}/{template_key}",
            ],
        },
        {
            "Sid": "WriteJobOutput",
            "Effect": "Allow",
            "Action": ["s3:AbortMultipartUpload", "s3:PutObject"],
            "Resource": objects(bucket_arn, OUTPUT_PREFIX),
        },
        {
            "Sid": "InvokeAnnotationLambdas",
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": sorted(lambda_arns),
        },
        {
            # PutMetricData has no resource-level permissions: "*" is the only
            # value IAM accepts. Worker metrics are all Ground Truth publishes.
            "Sid": "PublishWorkerMetrics",
            "Effect": "Allow",
            "Action": "cloudwatch:PutMetricData",
            "Resource": "*",
        },
        {
            "Sid": "WriteLabelingJobLogs",
            "Effect": "Allow",
            "Action": [
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:DescribeLogStreams",
                "logs:PutLogEvents",
            ],
            "Resource": [log_group, f"{log_group}:*"],
        },
    ]
    if kms_key_arn:
        statements.append(
            {
                # What S3 calls on the role's behalf for SSE-KMS reads and writes. The
                # key policy grants Ground Truth's documented list as well.
                "Sid": "UseDataKey",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"],
                "Resource": kms_key_arn,
            }
        )
    return document(*statements)


#: What the task service does to its table: items read and written, leases taken with
#: conditional writes and transactions. IAM has no action for TransactWriteItems itself:
#: a transaction is allowed by the actions of its parts (Put, Update, Delete, ConditionCheck).
TASK_TABLE_ACTIONS = (
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
)


def job_launcher_policy(
    *,
    bucket_arn: str,
    execution_role_arn: str,
    region: str,
    account_id: str,
    kms_key_arn: str | None = None,
    tasks_table_arn: str | None = None,
) -> str:
    """What a person or CI job launching labeling jobs needs, PassRole included.

    With the self-hosted runner (``tasks_table_arn``), ``launch_job`` registers the
    job and its tasks in the runner's table, ``job_status`` reads their progress, and
    stopping or settling a job runs the task service's own steps with the caller's
    credentials: it moves finished tasks in the table, consolidates what has answers
    and writes the job's output, as the task-service Lambda would.
    """
    partition = partition_of(bucket_arn)
    statements: list[Statement] = [
        {
            "Sid": "PassExecutionRoleToGroundTruth",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": execution_role_arn,
            "Condition": {"StringEquals": {"iam:PassedToService": SAGEMAKER_SERVICE}},
        },
        {
            "Sid": "RunLabelingJobs",
            "Effect": "Allow",
            "Action": [
                "sagemaker:AddTags",
                "sagemaker:CreateLabelingJob",
                "sagemaker:DescribeLabelingJob",
                "sagemaker:StopLabelingJob",
            ],
            "Resource": f"arn:{partition}:sagemaker:{region}:{account_id}:labeling-job/*",
        },
        {
            # ListLabelingJobs has no resource-level permissions: "*" is required.
            "Sid": "ListLabelingJobs",
            "Effect": "Allow",
            "Action": "sagemaker:ListLabelingJobs",
            "Resource": "*",
        },
        {
            "Sid": "UploadImagesAndManifests",
            "Effect": "Allow",
            "Action": "s3:PutObject",
            "Resource": [objects(bucket_arn, IMAGES_PREFIX), objects(bucket_arn, MANIFESTS_PREFIX)],
        },
        {
            "Sid": "ReadJobData",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": objects(bucket_arn, JOBS_PREFIX),
        },
        {
            "Sid": "ListJobData",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": bucket_arn,
            "Condition": {"StringLike": {"s3:prefix": f"{JOBS_PREFIX}*"}},
        },
    ]
    if tasks_table_arn:
        statements.append(
            {
                "Sid": "RunSelfHostedJobs",
                "Effect": "Allow",
                "Action": sorted({"dynamodb:BatchWriteItem", *TASK_TABLE_ACTIONS}),
                "Resource": tasks_table_arn,
            }
        )
        statements.append(
            {
                "Sid": "WriteSelfHostedJobOutput",
                "Effect": "Allow",
                "Action": "s3:PutObject",
                "Resource": objects(bucket_arn, OUTPUT_PREFIX),
            }
        )
    if kms_key_arn:
        statements.append(
            {
                "Sid": "UseDataKeyForJobData",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": kms_key_arn,
            }
        )
    return document(*statements)


# -- Lambda roles -----------------------------------------------------------------


def write_own_logs(log_group_arn: str) -> Statement:
    """A function writes to its own log group, which the program created (no CreateLogGroup)."""
    return {
        "Sid": "WriteOwnLogs",
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": f"{log_group_arn}:*",
    }


def write_traces() -> Statement:
    """X-Ray active tracing (production profile)."""
    return {
        # X-Ray's write actions have no resource-level permissions: "*" is the
        # only value IAM accepts (what AWSXRayDaemonWriteAccess grants, minus reads).
        "Sid": "WriteTraces",
        "Effect": "Allow",
        "Action": ["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
        "Resource": "*",
    }


def lambda_role_policy(
    *,
    log_group_arn: str,
    bucket_arn: str | None = None,
    region: str | None = None,
    kms_key_arn: str | None = None,
    tracing: bool = False,
) -> str:
    """Write to the function's own log group; with ``bucket_arn``, the post hook's S3 access.

    The post-annotation Lambda reads Ground Truth's consolidation request, which
    Ground Truth writes under the output prefix (``payload.s3Uri``), and writes
    one overflow file beside it when a batch's labels exceed Lambda's response
    limit (``handlers/overflow.py``).
    """
    statements = [write_own_logs(log_group_arn)]
    if bucket_arn:
        statements.append(
            {
                "Sid": "ReadConsolidationRequests",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": objects(bucket_arn, OUTPUT_PREFIX),
            }
        )
        statements.append(
            {
                "Sid": "WriteOverflowLabels",
                "Effect": "Allow",
                "Action": "s3:PutObject",
                "Resource": f"{bucket_arn}/{OUTPUT_PREFIX}*/{OVERFLOW_PATH}/*",
            }
        )
        if kms_key_arn:
            statements.append(
                {
                    "Sid": "UseDataKeyThroughS3",
                    "Effect": "Allow",
                    "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                    "Resource": kms_key_arn,
                    "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
                }
            )
    if tracing:
        statements.append(write_traces())
    return document(*statements)


def task_service_role_policy(
    *,
    log_group_arn: str,
    table_arn: str,
    bucket_arn: str,
    template_key: str,
    region: str,
    kms_key_arn: str | None = None,
    tracing: bool = False,
) -> str:
    """The self-hosted runner's task service: its table, the job data, its logs.

    It reads a job's manifest and images (it presigns the image URLs, so the
    signature is this role's and must be able to read them) and the worker template,
    and reads and writes the job's output prefix (worker responses, the consolidation
    request, the output manifest), as Ground Truth's execution role does.
    """
    statements = [
        write_own_logs(log_group_arn),
        {
            "Sid": "UseTasksTable",
            "Effect": "Allow",
            "Action": list(TASK_TABLE_ACTIONS),
            "Resource": table_arn,
        },
        {
            "Sid": "ReadJobInputsAndTemplate",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": [
                objects(bucket_arn, IMAGES_PREFIX),
                objects(bucket_arn, MANIFESTS_PREFIX),
                f"{bucket_arn}/{template_key}",
            ],
        },
        {
            "Sid": "ReadAndWriteJobOutput",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": objects(bucket_arn, OUTPUT_PREFIX),
        },
    ]
    if kms_key_arn:
        statements.append(
            {
                # The bucket's objects and the table are encrypted with the stack's key.
                "Sid": "UseDataKeyThroughS3AndDynamoDB",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": kms_key_arn,
                "Condition": {
                    "StringEquals": {
                        "kms:ViaService": [
                            f"dynamodb.{region}.amazonaws.com",
                            f"s3.{region}.amazonaws.com",
                        ]
                    }
                },
            }
        )
    if tracing:
        statements.append(write_traces())
    return document(*statements)


# -- production profile: log bucket and data key ------------------------------------


def log_bucket_policy(
    *,
    log_bucket_arn: str,
    source_bucket_arn: str,
    delivery_source_arn: str,
    account_id: str,
    s3_prefix: str,
    cloudfront_prefix: str,
) -> str:
    """TLS only; S3 logging for one bucket and log delivery for one source may write logs."""
    return document(
        deny_insecure_transport(log_bucket_arn),
        {
            "Sid": "S3ServerAccessLogs",
            "Effect": "Allow",
            "Principal": {"Service": "logging.s3.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": objects(log_bucket_arn, s3_prefix),
            "Condition": {
                "ArnLike": {"aws:SourceArn": source_bucket_arn},
                "StringEquals": {"aws:SourceAccount": account_id},
            },
        },
        {
            # CloudFront standard logging (v2) goes through CloudWatch's log delivery.
            "Sid": "CloudFrontAccessLogs",
            "Effect": "Allow",
            "Principal": {"Service": "delivery.logs.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": objects(log_bucket_arn, cloudfront_prefix),
            "Condition": {
                "ArnLike": {"aws:SourceArn": delivery_source_arn},
                "StringEquals": {
                    "aws:SourceAccount": account_id,
                    "s3:x-amz-acl": "bucket-owner-full-control",
                },
            },
        },
    )


def data_key_policy(
    *,
    account_id: str,
    partition: str,
    region: str,
    execution_role_arn: str,
    post_annotation_role_arn: str,
) -> str:
    """Key policy: the account administers the key; Ground Truth and the post hook use it.

    In a key policy ``"Resource": "*"`` means this key and nothing else.
    """
    return document(
        {
            # Without it nobody could manage the key again; it also lets IAM policies
            # (the job launcher's) grant use of the key.
            "Sid": "AccountAdministersKey",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            # The statement Ground Truth's "Encrypt Output Data" page asks for.
            "Sid": "GroundTruthJobsUseKey",
            "Effect": "Allow",
            "Principal": {"AWS": execution_role_arn},
            "Action": [
                "kms:Decrypt",
                "kms:DescribeKey",
                "kms:Encrypt",
                "kms:GenerateDataKey*",
                "kms:ReEncrypt*",
            ],
            "Resource": "*",
        },
        {
            "Sid": "PostAnnotationLambdaUsesKeyThroughS3",
            "Effect": "Allow",
            "Principal": {"AWS": post_annotation_role_arn},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
        },
    )


# -- the deployer: whoever runs `pulumi up` and `pulumi destroy` -----------------------

#: Pulumi names each resource after its logical name plus a random suffix; the
#: deployer's grants follow those names (components/*.py), for any account and region.
_STACK_BUCKETS = ("assets-bucket-*", "assets-logs-bucket-*")
#: What Pulumi does to a role it owns with inline policies: create, read, update, tag, delete.
MANAGE_ROLE_ACTIONS = (
    "iam:CreateRole",
    "iam:DeleteRole",
    "iam:DeleteRolePolicy",
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListInstanceProfilesForRole",
    "iam:ListRolePolicies",
    "iam:PutRolePolicy",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRoleDescription",
)


def _arn(partition: str, service: str, resource: str, region: str = "*") -> str:
    return f"arn:{partition}:{service}:{region}:*:{resource}"


def deployer_policy(*, production: bool, partition: str = "aws") -> str:
    """What ``pulumi up`` and ``pulumi destroy`` need, for a default or a production stack.

    Written to ``policy/deployer-policy*.json`` for people to attach; the IAM lint
    checks it like every other document here. Each grant names the stack's
    resources by their name patterns; ``"*"`` is left only for actions that have
    no resource-level permissions (creating an origin access control or a KMS key,
    listing log groups or aliases).
    """
    buckets = [f"arn:{partition}:s3:::{b}" for b in _STACK_BUCKETS]
    statements: list[Statement] = [
        {
            "Sid": "ManageStackBuckets",
            "Effect": "Allow",
            "Action": [
                "s3:CreateBucket",
                "s3:DeleteBucket",
                "s3:DeleteBucketPolicy",
                "s3:GetAccelerateConfiguration",
                "s3:GetBucketAcl",
                "s3:GetBucketCORS",
                "s3:GetBucketLocation",
                "s3:GetBucketLogging",
                "s3:GetBucketObjectLockConfiguration",
                "s3:GetBucketOwnershipControls",
                "s3:GetBucketPolicy",
                "s3:GetBucketPublicAccessBlock",
                "s3:GetBucketRequestPayment",
                "s3:GetBucketTagging",
                "s3:GetBucketVersioning",
                "s3:GetBucketWebsite",
                "s3:GetEncryptionConfiguration",
                "s3:GetLifecycleConfiguration",
                "s3:GetReplicationConfiguration",
                "s3:ListBucket",
                "s3:ListBucketVersions",
                "s3:PutBucketCORS",
                "s3:PutBucketLogging",
                "s3:PutBucketOwnershipControls",
                "s3:PutBucketPolicy",
                "s3:PutBucketPublicAccessBlock",
                "s3:PutBucketTagging",
                "s3:PutBucketVersioning",
                "s3:PutEncryptionConfiguration",
                "s3:PutLifecycleConfiguration",
            ],
            "Resource": buckets,
        },
        {
            # The template and the component JS; with forceDestroy, every version.
            "Sid": "ManageStackObjects",
            "Effect": "Allow",
            "Action": [
                "s3:DeleteObject",
                "s3:DeleteObjectVersion",
                "s3:GetObject",
                "s3:GetObjectTagging",
                "s3:PutObject",
                "s3:PutObjectTagging",
            ],
            "Resource": [f"{b}/*" for b in buckets],
        },
        {
            "Sid": "ManageComponentCdn",
            "Effect": "Allow",
            "Action": [
                "cloudfront:CreateDistribution",
                "cloudfront:CreateResponseHeadersPolicy",
                "cloudfront:DeleteDistribution",
                "cloudfront:DeleteOriginAccessControl",
                "cloudfront:DeleteResponseHeadersPolicy",
                "cloudfront:GetDistribution",
                "cloudfront:GetDistributionConfig",
                "cloudfront:GetOriginAccessControl",
                "cloudfront:GetResponseHeadersPolicy",
                "cloudfront:ListTagsForResource",
                "cloudfront:TagResource",
                "cloudfront:UntagResource",
                "cloudfront:UpdateDistribution",
                "cloudfront:UpdateOriginAccessControl",
                "cloudfront:UpdateResponseHeadersPolicy",
            ],
            "Resource": [
                f"arn:{partition}:cloudfront::*:distribution/*",
                f"arn:{partition}:cloudfront::*:origin-access-control/*",
                f"arn:{partition}:cloudfront::*:response-headers-policy/*",
            ],
        },
        {
            "Sid": "ManageStackRoles",
            "Effect": "Allow",
            "Action": list(MANAGE_ROLE_ACTIONS),
            "Resource": [
                f"arn:{partition}:iam::*:role/ground-truth-execution-role-*",
                f"arn:{partition}:iam::*:role/lambdas-*-annotation-role-*",
            ],
        },
        {
            "Sid": "ManageJobLauncherPolicy",
            "Effect": "Allow",
            "Action": [
                "iam:CreatePolicy",
                "iam:CreatePolicyVersion",
                "iam:DeletePolicy",
                "iam:DeletePolicyVersion",
                "iam:GetPolicy",
                "iam:GetPolicyVersion",
                "iam:ListPolicyVersions",
                "iam:TagPolicy",
                "iam:UntagPolicy",
            ],
            "Resource": f"arn:{partition}:iam::*:policy/ground-truth-job-launcher-*",
        },
        {
            "Sid": "PassLambdaRolesToLambda",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": f"arn:{partition}:iam::*:role/lambdas-*-annotation-role-*",
            "Condition": {"StringEquals": {"iam:PassedToService": LAMBDA_SERVICE}},
        },
        {
            "Sid": "ManageAnnotationLambdas",
            "Effect": "Allow",
            "Action": [
                "lambda:CreateFunction",
                "lambda:DeleteFunction",
                "lambda:GetFunction",
                "lambda:GetFunctionCodeSigningConfig",
                "lambda:GetRuntimeManagementConfig",
                "lambda:ListTags",
                "lambda:ListVersionsByFunction",
                "lambda:TagResource",
                "lambda:UntagResource",
                "lambda:UpdateFunctionCode",
                "lambda:UpdateFunctionConfiguration",
            ],
            "Resource": _arn(partition, "lambda", "function:lambdas-*-annotation-*"),
        },
        {
            "Sid": "ManageLambdaLogGroups",
            "Effect": "Allow",
            "Action": [
                "logs:CreateLogGroup",
                "logs:DeleteLogGroup",
                "logs:DeleteRetentionPolicy",
                "logs:ListTagsForResource",
                "logs:PutRetentionPolicy",
                "logs:TagResource",
                "logs:UntagResource",
            ],
            "Resource": _arn(partition, "logs", "log-group:/aws/lambda/pose-labeling-*"),
        },
    ]
    # Actions that have no resource to name: "*" is the only value IAM accepts.
    unscoped = ["cloudfront:CreateOriginAccessControl", "logs:DescribeLogGroups"]
    if production:
        statements += _production_deployer_statements(partition)
        unscoped += ["kms:CreateKey", "kms:ListAliases"]
    statements.append(
        {
            "Sid": "ActionsWithoutResourceLevelPermissions",
            "Effect": "Allow",
            "Action": sorted(unscoped),
            "Resource": "*",
        }
    )
    return document(*statements)


def _production_deployer_statements(partition: str) -> list[Statement]:
    """WAF, the data key, alarms and CloudFront's log delivery (``production: true``)."""
    edge = "us-east-1"
    return [
        {
            "Sid": "ManageEdgeWebAcl",
            "Effect": "Allow",
            "Action": [
                "wafv2:CreateWebACL",
                "wafv2:DeleteWebACL",
                "wafv2:GetWebACL",
                "wafv2:ListTagsForResource",
                "wafv2:TagResource",
                "wafv2:UntagResource",
                "wafv2:UpdateWebACL",
            ],
            "Resource": [
                _arn(partition, "wafv2", "global/webacl/assets-waf-*/*", edge),
                _arn(partition, "wafv2", "global/managedruleset/*/*", edge),
            ],
        },
        {
            # No ScheduleKeyDeletion: Pulumi never deletes the key (docs/teardown.md).
            "Sid": "ManageDataKey",
            "Effect": "Allow",
            "Action": [
                "kms:CreateAlias",
                "kms:DeleteAlias",
                "kms:DescribeKey",
                "kms:EnableKeyRotation",
                "kms:GetKeyPolicy",
                "kms:GetKeyRotationStatus",
                "kms:ListResourceTags",
                "kms:PutKeyPolicy",
                "kms:TagResource",
                "kms:UntagResource",
                "kms:UpdateAlias",
                "kms:UpdateKeyDescription",
            ],
            "Resource": [
                _arn(partition, "kms", "key/*"),
                _arn(partition, "kms", "alias/pose-labeling-*"),
            ],
        },
        {
            # The worker template is written into the bucket under the data key.
            "Sid": "WriteTemplateUnderDataKey",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": _arn(partition, "kms", "key/*"),
            "Condition": {"StringLike": {"kms:ViaService": "s3.*.amazonaws.com"}},
        },
        {
            "Sid": "ManageErrorAlarms",
            "Effect": "Allow",
            "Action": [
                "cloudwatch:DeleteAlarms",
                "cloudwatch:DescribeAlarms",
                "cloudwatch:ListTagsForResource",
                "cloudwatch:PutMetricAlarm",
                "cloudwatch:TagResource",
                "cloudwatch:UntagResource",
            ],
            "Resource": _arn(partition, "cloudwatch", "alarm:lambdas-*"),
        },
        {
            "Sid": "DeliverCdnAccessLogs",
            "Effect": "Allow",
            "Action": [
                "logs:CreateDelivery",
                "logs:DeleteDelivery",
                "logs:DeleteDeliveryDestination",
                "logs:DeleteDeliverySource",
                "logs:GetDelivery",
                "logs:GetDeliveryDestination",
                "logs:GetDeliverySource",
                "logs:ListTagsForResource",
                "logs:PutDeliveryDestination",
                "logs:PutDeliverySource",
                "logs:TagResource",
                "logs:UntagResource",
            ],
            "Resource": [
                _arn(partition, "logs", "delivery-source:assets-cdn-log-source-*", edge),
                _arn(partition, "logs", "delivery-destination:assets-cdn-log-destination-*", edge),
                _arn(partition, "logs", "delivery:*", edge),
            ],
        },
        {
            # What lets CloudWatch Logs deliver this distribution's standard logs.
            "Sid": "AllowCdnLogDelivery",
            "Effect": "Allow",
            "Action": "cloudfront:AllowVendedLogDeliveryForResource",
            "Resource": f"arn:{partition}:cloudfront::*:distribution/*",
        },
    ]


# -- the deployer's add-ons: attach beside deployer-policy*.json when the stack has them --


def workforce_deployer_policy(*, partition: str = "aws") -> str:
    """What ``pulumi up`` and ``pulumi destroy`` need for the workforce (``workteamName``).

    Cognito user pools have random IDs, so the pool actions name every pool of the
    account (``userpool/*``); with an existing workforce the stack only adds a group,
    the invited users and (self-hosted runner) an app client to that pool. SageMaker
    reads and updates the pool and its client when it binds a workforce or team to
    them, with the caller's permissions. The self-hosted runner's team is Cognito only:
    it uses the Cognito statements, and ``ManageWorkforceAndTeam`` goes unused.
    """
    pools = _arn(partition, "cognito-idp", "userpool/*")
    return document(
        {
            "Sid": "ManageWorkforcePool",
            "Effect": "Allow",
            "Action": [
                "cognito-idp:CreateUserPoolDomain",
                "cognito-idp:DeleteUserPool",
                "cognito-idp:DeleteUserPoolDomain",
                "cognito-idp:DescribeUserPool",
                "cognito-idp:GetUserPoolMfaConfig",
                "cognito-idp:ListTagsForResource",
                "cognito-idp:SetUserPoolMfaConfig",
                "cognito-idp:TagResource",
                "cognito-idp:UntagResource",
                "cognito-idp:UpdateUserPool",
                "cognito-idp:UpdateUserPoolDomain",
            ],
            "Resource": pools,
        },
        {
            "Sid": "ManageAppClients",
            "Effect": "Allow",
            "Action": [
                "cognito-idp:CreateUserPoolClient",
                "cognito-idp:DeleteUserPoolClient",
                "cognito-idp:DescribeUserPoolClient",
                "cognito-idp:ListUserPoolClients",
                "cognito-idp:UpdateUserPoolClient",
            ],
            "Resource": pools,
        },
        {
            "Sid": "ManageTeamGroupAndMembers",
            "Effect": "Allow",
            "Action": [
                "cognito-idp:AdminAddUserToGroup",
                "cognito-idp:AdminCreateUser",
                "cognito-idp:AdminDeleteUser",
                "cognito-idp:AdminGetUser",
                "cognito-idp:AdminListGroupsForUser",
                "cognito-idp:AdminRemoveUserFromGroup",
                "cognito-idp:AdminUpdateUserAttributes",
                "cognito-idp:CreateGroup",
                "cognito-idp:DeleteGroup",
                "cognito-idp:GetGroup",
                "cognito-idp:UpdateGroup",
            ],
            "Resource": pools,
        },
        {
            "Sid": "ManageWorkforceAndTeam",
            "Effect": "Allow",
            "Action": [
                "sagemaker:AddTags",
                "sagemaker:CreateWorkforce",
                "sagemaker:CreateWorkteam",
                "sagemaker:DeleteTags",
                "sagemaker:DeleteWorkforce",
                "sagemaker:DeleteWorkteam",
                "sagemaker:DescribeWorkforce",
                "sagemaker:DescribeWorkteam",
                "sagemaker:ListTags",
                "sagemaker:UpdateWorkforce",
                "sagemaker:UpdateWorkteam",
            ],
            "Resource": [
                _arn(partition, "sagemaker", "workforce/*"),
                _arn(partition, "sagemaker", "workteam/*"),
            ],
        },
        {
            # Creating a pool names no resource yet; a domain is looked up by its name.
            "Sid": "ActionsWithoutResourceLevelPermissions",
            "Effect": "Allow",
            "Action": ["cognito-idp:CreateUserPool", "cognito-idp:DescribeUserPoolDomain"],
            "Resource": "*",
        },
    )


def self_hosted_deployer_policy(*, partition: str = "aws") -> str:
    """What ``pulumi up`` and ``pulumi destroy`` need for ``runner: self-hosted``.

    Attach it with ``workforce_deployer_policy`` (the runner needs the team, and its
    portal client is a pool action there) and the default or production deployer
    policy. The production parts (the task service's alarm, the table's grant on the
    stack's key) name the runner's resources only, so they are here in every profile.
    HTTP APIs have random IDs, and API Gateway's IAM actions are HTTP verbs on paths:
    the API grants name every API of the account (``/apis``, ``/apis/*``, ``/tags/*``).
    """
    return document(
        {
            "Sid": "ManageTasksTable",
            "Effect": "Allow",
            "Action": [
                "dynamodb:CreateTable",
                "dynamodb:DeleteTable",
                "dynamodb:DescribeContinuousBackups",
                "dynamodb:DescribeTable",
                "dynamodb:DescribeTimeToLive",
                "dynamodb:ListTagsOfResource",
                "dynamodb:TagResource",
                "dynamodb:UntagResource",
                "dynamodb:UpdateContinuousBackups",
                "dynamodb:UpdateTable",
                "dynamodb:UpdateTimeToLive",
            ],
            "Resource": _arn(partition, "dynamodb", "table/runner-tasks-*"),
        },
        {
            # Encrypting the table with the stack's key (production): DynamoDB keeps a grant.
            "Sid": "EncryptTableWithDataKey",
            "Effect": "Allow",
            "Action": ["kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey"],
            "Resource": _arn(partition, "kms", "key/*"),
            "Condition": {"StringLike": {"kms:ViaService": "dynamodb.*.amazonaws.com"}},
        },
        {
            "Sid": "ManageTaskApi",
            "Effect": "Allow",
            "Action": [
                "apigateway:DELETE",
                "apigateway:GET",
                "apigateway:PATCH",
                "apigateway:POST",
                "apigateway:PUT",
            ],
            "Resource": [
                f"arn:{partition}:apigateway:*::/apis",
                f"arn:{partition}:apigateway:*::/apis/*",
                f"arn:{partition}:apigateway:*::/tags/*",
            ],
        },
        {
            "Sid": "ManageTaskServiceRole",
            "Effect": "Allow",
            "Action": list(MANAGE_ROLE_ACTIONS),
            "Resource": f"arn:{partition}:iam::*:role/runner-task-service-role-*",
        },
        {
            "Sid": "PassTaskServiceRoleToLambda",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": f"arn:{partition}:iam::*:role/runner-task-service-role-*",
            "Condition": {"StringEquals": {"iam:PassedToService": LAMBDA_SERVICE}},
        },
        {
            "Sid": "ManageTaskService",
            "Effect": "Allow",
            "Action": [
                "lambda:AddPermission",
                "lambda:CreateFunction",
                "lambda:DeleteFunction",
                "lambda:GetFunction",
                "lambda:GetFunctionCodeSigningConfig",
                "lambda:GetPolicy",
                "lambda:GetRuntimeManagementConfig",
                "lambda:ListTags",
                "lambda:ListVersionsByFunction",
                "lambda:RemovePermission",
                "lambda:TagResource",
                "lambda:UntagResource",
                "lambda:UpdateFunctionCode",
                "lambda:UpdateFunctionConfiguration",
            ],
            "Resource": _arn(partition, "lambda", "function:runner-task-service-*"),
        },
        {
            # The task service's own log group is under /aws/lambda/ (the default document).
            "Sid": "ManageApiAccessLogGroup",
            "Effect": "Allow",
            "Action": [
                "logs:CreateLogGroup",
                "logs:DeleteLogGroup",
                "logs:DeleteRetentionPolicy",
                "logs:ListTagsForResource",
                "logs:PutRetentionPolicy",
                "logs:TagResource",
                "logs:UntagResource",
            ],
            "Resource": _arn(partition, "logs", "log-group:/aws/vendedlogs/pose-labeling-*"),
        },
        {
            "Sid": "ManagePortalIndexFunction",
            "Effect": "Allow",
            "Action": [
                "cloudfront:CreateFunction",
                "cloudfront:DeleteFunction",
                "cloudfront:DescribeFunction",
                "cloudfront:GetFunction",
                "cloudfront:ListTagsForResource",
                "cloudfront:PublishFunction",
                "cloudfront:TagResource",
                "cloudfront:UntagResource",
                "cloudfront:UpdateFunction",
            ],
            "Resource": f"arn:{partition}:cloudfront::*:function/assets-portal-index-*",
        },
        {
            "Sid": "ManageTaskServiceAlarm",
            "Effect": "Allow",
            "Action": [
                "cloudwatch:DeleteAlarms",
                "cloudwatch:DescribeAlarms",
                "cloudwatch:ListTagsForResource",
                "cloudwatch:PutMetricAlarm",
                "cloudwatch:TagResource",
                "cloudwatch:UntagResource",
            ],
            "Resource": _arn(partition, "cloudwatch", "alarm:runner-*"),
        },
        {
            # API Gateway's access logging goes through CloudWatch Logs' log delivery,
            # whose actions name no resource: "*" is the only value IAM accepts.
            "Sid": "ActionsWithoutResourceLevelPermissions",
            "Effect": "Allow",
            "Action": [
                "logs:CreateLogDelivery",
                "logs:DeleteLogDelivery",
                "logs:DescribeResourcePolicies",
                "logs:GetLogDelivery",
                "logs:ListLogDeliveries",
                "logs:PutResourcePolicy",
                "logs:UpdateLogDelivery",
            ],
            "Resource": "*",
        },
    )
