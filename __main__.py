"""pose-labeling: a ready-to-use Ground Truth skeleton-labeling stack from one `pulumi up`.

Composition only; each part is a component in ``components/``. Everything that
can be wrong with the inputs (config, rig, component JS, template, handlers) is
checked before the first resource is registered, so a bad value never leaves a
half-built stack behind. ``production: true`` adds the production profile (WAF,
access logs, a customer-managed key, X-Ray tracing, error alarms); off, none of it
exists. ``runner: self-hosted`` adds the stack's own task service and worker portal
(``JobRunner``) for accounts Ground Truth is not open to; the default runner is Ground
Truth, and then none of it exists.

Every resource uses the default AWS provider, which Pulumi configures from the
stack's own ``aws:*`` settings (profile, assumed roles, allowed accounts, default
tags, ...); the few that CloudFront needs in us-east-1 say so with their own
``region``.
"""

import pulumi
import pulumi_aws as aws

from components import policies
from components.annotation_lambdas import AnnotationLambdas, AnnotationLambdasArgs
from components.data_key import DataKey
from components.ground_truth_roles import GroundTruthRoles, GroundTruthRolesArgs
from components.job_runner import JobRunner, JobRunnerArgs
from components.labeling_workforce import LabelingWorkforce, LabelingWorkforceArgs
from components.lambda_archive import HANDLER_MODULES, TASK_API_MODULE, build_archive
from components.lambda_function import Observability
from components.secure_asset_cdn import (
    ComponentBundle,
    EdgeHardening,
    SecureAssetCdn,
    SecureAssetCdnArgs,
)
from components.settings import StackSettings
from components.stack_outputs import OUTPUT_NAMES, SELF_HOSTED_RUNNER
from components.worker_portal import PortalBundle
from components.worker_template_object import (
    WorkerTemplate,
    WorkerTemplateArgs,
    WorkerTemplateSource,
)

# -- inputs, all validated up front ------------------------------------------------
settings = StackSettings.load()
self_hosted = settings.runner == SELF_HOSTED_RUNNER
component = ComponentBundle.read()
template_source = WorkerTemplateSource.read(settings.rig, settings.instructions)
portal = PortalBundle.read() if self_hosted else None
try:
    archive = build_archive(
        settings.rig,
        handler_modules=(*HANDLER_MODULES, TASK_API_MODULE) if self_hosted else HANDLER_MODULES,
    )
except FileNotFoundError as exc:
    raise pulumi.RunError(str(exc)) from exc

# -- resources -----------------------------------------------------------------------
account_id = aws.get_caller_identity_output().account_id

data_key = DataKey("data-key") if settings.data_key else None
kms_key_arn = data_key.key_arn if data_key else None
hardening = None
if settings.production:
    hardening = EdgeHardening(
        account_id=account_id,
        waf_rate_limit=settings.waf_rate_limit,
        access_log_retention_days=settings.access_log_retention_days,
    )

cdn = SecureAssetCdn(
    "assets",
    SecureAssetCdnArgs(
        component=component,
        force_destroy=settings.force_destroy,
        price_class=settings.price_class,
        kms_key=data_key.key if data_key else None,
        allowed_countries=settings.allowed_countries,
        hardening=hardening,
        noncurrent_version_days=settings.noncurrent_version_days,
        portal=portal,
    ),
)
lambdas = AnnotationLambdas(
    "lambdas",
    AnnotationLambdasArgs(
        archive=archive,
        bucket_arn=cdn.bucket_arn,
        region=settings.region,
        log_retention_days=settings.log_retention_days,
        kms_key_arn=kms_key_arn,
        error_alarms=settings.production,
        tracing=settings.production,
        alarm_actions=[settings.alarm_topic_arn] if settings.alarm_topic_arn else [],
    ),
)
template = WorkerTemplate(
    "worker-template",
    WorkerTemplateArgs(
        bucket=cdn.bucket_name,
        component_url=cdn.component_url,
        source=template_source,
        after=cdn.write_ready,
    ),
)
# Optional (workteamName): a labeling team, in an existing Cognito pool or a new one; a
# SageMaker work team (and workforce) with Ground Truth, the Cognito side only without.
workforce = (
    LabelingWorkforce(
        "workforce",
        LabelingWorkforceArgs(team=settings.workteam, account_id=account_id),
    )
    if settings.workteam
    else None
)

# Optional (runner: self-hosted): the stack hands out the tasks itself, to that team.
job_runner = None
if self_hosted:
    assert workforce and workforce.cognito_domain, "settings require a team and its domain"
    job_runner = JobRunner(
        "runner",
        JobRunnerArgs(
            archive=archive,
            bucket_name=cdn.bucket_name,
            bucket_arn=cdn.bucket_arn,
            template_key=template.key,
            template_s3_uri=template.s3_uri,
            cdn_domain_name=cdn.cdn_domain_name,
            region=settings.region,
            user_pool_id=workforce.user_pool_id,
            group_name=workforce.group_name,
            cognito_domain=workforce.cognito_domain,
            observability=Observability(
                log_retention_days=settings.log_retention_days,
                tracing=settings.production,
                error_alarm=settings.production,
                alarm_actions=[settings.alarm_topic_arn] if settings.alarm_topic_arn else [],
            ),
            force_destroy=settings.force_destroy,
            after=cdn.write_ready,
            kms_key=data_key.key if data_key else None,
        ),
    )

roles = GroundTruthRoles(
    "ground-truth",
    GroundTruthRolesArgs(
        bucket_arn=cdn.bucket_arn,
        template_key=template.key,
        lambda_arns=[lambdas.pre_annotation_arn, lambdas.post_annotation_arn],
        region=settings.region,
        account_id=account_id,
        kms_key_arn=kms_key_arn,
        tasks_table_arn=job_runner.tasks_table_arn if job_runner else None,
    ),
)
if data_key:
    # Written last: it names roles whose own policies need the key's ARN first.
    aws.kms.KeyPolicy(
        "data-key-policy",
        key_id=data_key.key_id,
        policy=pulumi.Output.all(
            account_id=account_id,
            partition=cdn.bucket_arn.apply(policies.partition_of),
            region=settings.region,
            execution_role_arn=roles.execution_role_arn,
            post_annotation_role_arn=lambdas.post_annotation_role_arn,
        ).apply(lambda v: policies.data_key_policy(**v)),
        # Kept with the key (see DataKey): its grants still matter to what the key encrypted.
        opts=pulumi.ResourceOptions(retain_on_delete=True),
    )


# -- outputs (names from components/stack_outputs.py, read back by scripts/) -----------
outputs = {
    "bucket_name": cdn.bucket_name,
    "template_s3_uri": template.s3_uri,
    "component_url": cdn.component_url,
    "cdn_domain_name": cdn.cdn_domain_name,
    "pre_annotation_lambda_arn": lambdas.pre_annotation_arn,
    "post_annotation_lambda_arn": lambdas.post_annotation_arn,
    "ground_truth_role_arn": roles.execution_role_arn,
    "rig": settings.rig.to_jsonable(),
    "region": settings.region,
}
assert tuple(outputs) == OUTPUT_NAMES, "outputs must match components/stack_outputs.py"
outputs["job_launcher_policy_arn"] = roles.job_launcher_policy_arn
if data_key:
    # OutputConfig.KmsKeyId of every job, so labels are encrypted with the same key.
    outputs["kms_key_id"] = data_key.key_arn
if cdn.access_log_bucket_name:
    outputs["access_log_bucket_name"] = cdn.access_log_bucket_name
if workforce and workforce.workteam_arn and workforce.labeling_portal_url:
    # A Ground Truth team only; the self-hosted runner's portal is worker_portal_url.
    outputs["workteam_arn"] = workforce.workteam_arn
    outputs["labeling_portal_url"] = workforce.labeling_portal_url
outputs["runner"] = settings.runner
if job_runner:
    outputs["task_api_url"] = job_runner.task_api_url
    outputs["worker_portal_url"] = job_runner.worker_portal_url
    outputs["tasks_table_name"] = job_runner.tasks_table_name
    outputs["portal_client_id"] = job_runner.portal_client_id
    outputs["portal_auth_domain"] = job_runner.portal_auth_domain
for output_name, value in outputs.items():
    pulumi.export(output_name, value)
