"""pose-labeling: a ready-to-use Ground Truth skeleton-labeling stack from one `pulumi up`.

Composition only; each part is a component in ``components/``. Everything that
can be wrong with the inputs (config, rig, component JS, template, handlers) is
checked before the first resource is registered, so a bad value never leaves a
half-built stack behind.
"""

import pulumi
import pulumi_aws as aws

from components.annotation_lambdas import AnnotationLambdas, AnnotationLambdasArgs
from components.ground_truth_roles import GroundTruthRoles, GroundTruthRolesArgs
from components.lambda_archive import build_archive
from components.secure_asset_cdn import ComponentBundle, SecureAssetCdn, SecureAssetCdnArgs
from components.settings import StackSettings
from components.stack_outputs import OUTPUT_NAMES
from components.worker_template_object import (
    WorkerTemplate,
    WorkerTemplateArgs,
    WorkerTemplateSource,
)

# -- inputs, all validated up front ------------------------------------------------
settings = StackSettings.load()
component = ComponentBundle.read()
template_source = WorkerTemplateSource.read(settings.rig, settings.instructions)
try:
    archive = build_archive(settings.rig)
except FileNotFoundError as exc:
    raise pulumi.RunError(str(exc)) from exc

# -- resources -----------------------------------------------------------------------
# One explicit provider carries the region and the tags for every taggable resource.
provider = aws.Provider("aws", region=settings.region, default_tags={"tags": settings.tags})
in_region = pulumi.ResourceOptions(providers=[provider])
account_id = aws.get_caller_identity_output(
    opts=pulumi.InvokeOutputOptions(provider=provider)
).account_id

cdn = SecureAssetCdn(
    "assets",
    SecureAssetCdnArgs(
        component=component,
        force_destroy=settings.force_destroy,
        price_class=settings.price_class,
    ),
    opts=in_region,
)
lambdas = AnnotationLambdas(
    "lambdas",
    AnnotationLambdasArgs(
        archive=archive,
        bucket_arn=cdn.bucket_arn,
        region=settings.region,
        log_retention_days=settings.log_retention_days,
    ),
    opts=in_region,
)
template = WorkerTemplate(
    "worker-template",
    WorkerTemplateArgs(
        bucket=cdn.bucket_name, component_url=cdn.component_url, source=template_source
    ),
    opts=in_region,
)
roles = GroundTruthRoles(
    "ground-truth",
    GroundTruthRolesArgs(
        bucket_arn=cdn.bucket_arn,
        template_key=template.key,
        lambda_arns=[lambdas.pre_annotation_arn, lambdas.post_annotation_arn],
        region=settings.region,
        account_id=account_id,
    ),
    opts=in_region,
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
for output_name, value in outputs.items():
    pulumi.export(output_name, value)
