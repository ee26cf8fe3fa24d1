"""The worker template object: ``assets/`` template rendered with the CDN URL and the rig.

Rendering is ``components.worker_template`` (stage 1, every value escaped);
this module only reads the template, proves it renders before any resource is
registered, and uploads the result where jobs' ``UiTemplateS3Uri`` points. The
``apply`` only joins the CDN URL in: no resource is created inside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components.s3_layout import TEMPLATE_KEY
from components.worker_template import TEMPLATE_PATH, render_worker_template
from handlers.rig import Rig

#: Stands in for the CDN URL when checking, before deployment, that the template renders.
_PROBE_URL = "https://cdn.invalid/crowd-2d-skeleton.js"


@dataclass(frozen=True)
class WorkerTemplateSource:
    """A template that is known to render with the rig and instructions it will get."""

    path: Path
    text: str
    rig: Rig
    instructions: str

    @classmethod
    def read(cls, rig: Rig, instructions: str, path: Path = TEMPLATE_PATH) -> WorkerTemplateSource:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise pulumi.RunError(
                f"{path}: cannot read the worker template ({exc.strerror or exc})"
            ) from exc
        source = cls(path, text, rig, instructions)
        try:
            source.render(_PROBE_URL)
        except Exception as exc:  # python-liquid raises several error types; all mean the same
            raise pulumi.RunError(f"{path}: the worker template does not render: {exc}") from exc
        return source

    def render(self, component_url: str) -> str:
        return render_worker_template(
            self.text, component_url=component_url, rig=self.rig, instructions=self.instructions
        )


@dataclass(frozen=True)
class WorkerTemplateArgs:
    #: The stack's bucket name.
    bucket: pulumi.Input[str]
    #: HTTPS URL of the component JS on the CDN.
    component_url: pulumi.Input[str]
    #: The template, rig and instructions (``WorkerTemplateSource.read``).
    source: WorkerTemplateSource
    #: Written only after these: the bucket's guards (so it is stored with the stack's
    #: key, versioned), its policy and the component JS the template points to.
    after: Sequence[pulumi.Resource] = ()


class WorkerTemplate(pulumi.ComponentResource):
    key: pulumi.Output[str]
    s3_uri: pulumi.Output[str]

    def __init__(
        self, name: str, args: WorkerTemplateArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pose-labeling:template:WorkerTemplate", name, {}, opts)
        template = aws.s3.BucketObjectv2(
            f"{name}-object",
            bucket=args.bucket,
            key=TEMPLATE_KEY,
            content=pulumi.Output.from_input(args.component_url).apply(args.source.render),
            content_type="text/html; charset=utf-8",
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.after)),
        )
        self.key = template.key
        self.s3_uri = pulumi.Output.concat("s3://", template.bucket, "/", template.key)
        self.register_outputs({"key": self.key, "s3_uri": self.s3_uri})
