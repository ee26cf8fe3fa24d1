"""Where things live in the stack's bucket (docs/contracts.md, "S3 layout").

The IAM policies, the bucket policy and the template object are all built from
these names, so a prefix is changed here or nowhere. No Pulumi import: scripts
may use it too.
"""

from __future__ import annotations

#: Worker template and component JS; the component JS is the only key CloudFront may read.
TEMPLATE_PREFIX = "infrastructure/ground_truth_templates/"
#: The rendered worker template (``UiTemplateS3Uri`` of every job).
TEMPLATE_KEY = f"{TEMPLATE_PREFIX}pose-skeleton.liquid.html"
#: Images uploaded for labeling.
IMAGES_PREFIX = "labeling_jobs/images/"
#: Input manifests (and label category files) written by the launch script.
MANIFESTS_PREFIX = "labeling_jobs/manifests/"
#: ``S3OutputPath`` of every job: Ground Truth writes here, the post Lambda reads here.
OUTPUT_PREFIX = "labeling_jobs/output/"
#: Everything a labeling job reads or writes.
JOBS_PREFIX = "labeling_jobs/"
#: The self-hosted runner's worker portal, served by CloudFront under ``/portal/``.
PORTAL_PREFIX = "portal/"
#: What the portal page reads at start: the task API, the sign-in domain and client.
PORTAL_CONFIG_KEY = f"{PORTAL_PREFIX}config.json"


def component_key(content_hash: str) -> str:
    """Key of the component JS: content-addressed, so a new build is a new URL."""
    return f"{TEMPLATE_PREFIX}crowd-2d-skeleton.{content_hash}.js"
