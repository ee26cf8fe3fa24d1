"""How much of one worker's answer the Lambdas accept, and JSON decoding within those bounds.

Ground Truth retries a batch whose Lambda fails, and the retry fails the same
way, so one hostile or broken answer must never fail the batch it came in.
These bounds keep the work and memory of one answer small. An answer beyond
them is not decoded: its object gets an error entry and the raw answer is kept
in the label (the response's overflow file takes it if the response grows too
large), like any other bad answer. The pre-annotation Lambda applies the same
bounds to a manifest line's pre-annotations, and rejects the line.

Standard library only: this module ships inside the Lambda archive.
"""

from __future__ import annotations

import json
from typing import Any

#: Characters in one answer (``annotationData.content``, or the file its ``s3Uri``
#: names). Two people of 17 keypoints take about 4,000; 100 people of a
#: 133-keypoint whole-body rig, pre-annotated, about 2,000,000.
MAX_ANSWER_CHARS = 2_000_000

#: Nesting of arrays and objects in any JSON text decoded from an answer. An answer
#: is 1 level deep and its skeletons 4; the rest is room for a template's own fields.
#: Python's ``json`` recurses once per level and fails at about 1,000 levels (and so
#: would the Lambda runtime's ``json.dumps`` of the response).
MAX_JSON_DEPTH = 20

#: Skeletons in one worker's answer, or in one image's pre-annotations. Consolidation
#: and the duplicate check compare skeletons pairwise, so their work grows with the
#: square of this number; crowded scenes in public pose data sets hold a few dozen.
MAX_SKELETONS_PER_IMAGE = 100

#: Notes for a reviewer on one image (a review manifest line's ``review.reasons``, shown
#: as the component's ``annotationIssues``), and the characters of one note. A review
#: job writes at most this many (``scripts/review_job.py`` folds same-kind reasons into
#: one); the pre-annotation Lambda rejects a line with more, or with a longer note.
MAX_REVIEW_REASONS = 20
MAX_REVIEW_REASON_CHARS = 500

#: Problems listed for one answer; past this they are counted in one more entry, so
#: that an answer of 100,000 broken keypoints does not make a label of 100,000 errors.
MAX_ERRORS_PER_ANSWER = 100

_STRICT = json.JSONEncoder(allow_nan=False)


class JsonLimitError(ValueError):
    """A JSON text over :data:`MAX_ANSWER_CHARS` or :data:`MAX_JSON_DEPTH`; says which."""


def loads_bounded(text: str, max_chars: int = MAX_ANSWER_CHARS) -> Any:
    """``json.loads(text)``, unless the text is longer than ``max_chars`` or nested deeper
    than :data:`MAX_JSON_DEPTH`: then :class:`JsonLimitError`. Invalid JSON raises
    ``json.JSONDecodeError`` (a ``ValueError``) as usual."""
    if len(text) > max_chars:
        raise JsonLimitError(f"{len(text):,} characters, over the limit of {max_chars:,}")
    try:
        value = json.loads(text)
    except RecursionError:  # json gives up (cleanly) at about 1,000 levels
        too_deep_to_read = True
    else:
        too_deep_to_read = too_deep(value)
    if too_deep_to_read:
        raise JsonLimitError(f"nested more than {MAX_JSON_DEPTH} levels deep")
    return value


def too_deep(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether a decoded value nests arrays and objects more than ``limit`` levels deep.

    Walks with its own stack, so that no depth of input can make it recurse.
    """
    if type(value) is not dict and type(value) is not list:
        return False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if type(item) is dict else item
        if depth > limit:
            return True
        for child in children:
            if type(child) is dict or type(child) is list:  # what json.loads makes
                stack.append((child, depth + 1))
    return False


def keepable(value: Any) -> tuple[Any, str | None]:
    """``value`` as a label can keep it: itself when it is standard JSON no deeper than
    :data:`MAX_JSON_DEPTH`, else its JSON text (a string), with the reason.

    What a label keeps raw must never make the response non-standard JSON (NaN) or
    too deep for the runtime to write.
    """
    if isinstance(value, str):
        return value, None
    if too_deep(value):
        reason = f"nests more than {MAX_JSON_DEPTH} levels deep"
    else:
        try:
            _STRICT.encode(value)
        except ValueError:
            reason = "holds NaN or Infinity, which standard JSON cannot write"
        else:
            return value, None
    try:
        text = json.dumps(value)
    except (ValueError, RecursionError):  # deeper than json itself can go
        text = f"<{type(value).__name__} too deeply nested to write>"
    return text, reason
