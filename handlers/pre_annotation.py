"""Pre-annotation Lambda: one manifest line in, the worker template's input out.

Handler: ``handlers.pre_annotation.lambda_handler``. A bad line raises (the
message names the field and the image) so the object fails visibly in the
job's Lambda logs instead of reaching a worker with missing pre-annotations.
"""

from __future__ import annotations

import logging
from typing import Any

from handlers.groundtruth import PreAnnotationRequest, pre_annotation_response
from handlers.rig import load_deployed_rig
from handlers.task_input import build_task_input

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)

#: Loaded once per container (None outside Lambda: structure is still checked).
RIG = load_deployed_rig()


def lambda_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    try:
        request = PreAnnotationRequest.parse(event)
        task_input = build_task_input(request.data_object, RIG)
    except ValueError as exc:  # ProtocolError, AnnotationError: say why before failing
        LOG.error("pre-annotation rejected: %s", exc)
        raise
    return pre_annotation_response(task_input)
