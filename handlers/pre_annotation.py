"""Pre-annotation Lambda: one manifest line in, the worker template's input out.

Handler: ``handlers.pre_annotation.lambda_handler``, which runs
:func:`pre_annotate` with the rig deployed beside it. A bad line raises (the
message names the field and the image) so the object fails visibly in the
job's Lambda logs instead of reaching a worker with missing pre-annotations.
"""

from __future__ import annotations

import logging
from typing import Any

from handlers.groundtruth import PreAnnotationRequest, pre_annotation_response
from handlers.rig import Rig, deployed_rig
from handlers.task_input import build_task_input

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)


def lambda_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    return pre_annotate(event, deployed_rig())


def pre_annotate(event: dict[str, Any], rig: Rig) -> dict[str, Any]:
    """The response to one pre-annotation event, its pre-annotations checked against ``rig``."""
    try:
        request = PreAnnotationRequest.parse(event)
        task_input = build_task_input(request.data_object, rig)
    except ValueError as exc:  # ProtocolError, AnnotationError: say why before failing
        LOG.error("pre-annotation rejected: %s", exc)
        raise
    return pre_annotation_response(task_input)
