"""Deploy-time rendering of the worker task template.

The template in ``assets/`` is rendered twice. ``pulumi up`` renders it once, here,
with its own delimiters (``[[ value ]]``, ``[% tag %]``) to fill in the component's
CDN URL, the rig and the instructions; Ground Truth renders the result for every
task with the usual ``{{ task.input... }}`` Liquid. Separate delimiters keep the two
stages apart without ``raw`` blocks around every Ground Truth expression.

Every value is escaped for HTML text and attributes, and ``{``/``}`` are encoded
too, so no label or instruction can close an attribute, inject markup, or smuggle
Liquid into Ground Truth's stage. Nothing here knows the template's layout: any
template that uses the documented variable names works.
"""

from __future__ import annotations

from pathlib import Path

from liquid import Environment, StrictUndefined
from markupsafe import Markup, escape

from handlers.rig import Rig

TEMPLATE_PATH = Path(__file__).resolve().parent.parent / "assets" / "worker-template.liquid.html"

#: The variables a worker template may use at deploy time.
TEMPLATE_VARIABLES = (
    "component_url",
    "keypoint_classes",
    "skeleton_rig",
    "skeleton_bounding_box",
    "instructions",
    "rig_name",
)

_DEPLOY_TIME = Environment(
    autoescape=True,
    undefined=StrictUndefined,
    statement_start_string="[[",
    statement_end_string="]]",
    tag_start_string="[%",
    tag_end_string="%]",
)

_BRACES = str.maketrans({"{": "&#123;", "}": "&#125;"})


def html_safe(value: str) -> Markup:
    """``value`` escaped for HTML text and quoted attributes, with Liquid braces encoded."""
    return Markup(str(escape(value)).translate(_BRACES))  # noqa: S704 - escaped on this line


def render_worker_template(
    template: str,
    *,
    component_url: str,
    rig: Rig,
    instructions: str = "",
) -> str:
    """Fill the deploy-time variables of ``template``; Ground Truth's own Liquid is left as is."""
    attributes = rig.component_attributes()
    values = {
        "component_url": component_url,
        "keypoint_classes": attributes["keypointClasses"],
        "skeleton_rig": attributes["skeletonRig"],
        "skeleton_bounding_box": attributes.get("skeletonBoundingBox", ""),
        "instructions": instructions,
        "rig_name": rig.name,
    }
    return _DEPLOY_TIME.from_string(template).render(
        **{name: html_safe(value) for name, value in values.items()}
    )
