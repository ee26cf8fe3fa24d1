"""Ground Truth's limits on ``CreateLabelingJob``, checked while the options are parsed.

botocore checks types and minimums only, and AWS rejects the rest after the
images are uploaded; these checks fail first, naming the option. Each value is
from the SageMaker service model in botocore (``sagemaker/2017-07-24``) or the
SageMaker Developer Guide where the model is looser (custom-job time limit,
workforce-specific lifetimes). The functions are argparse ``type=`` callables:
they raise ``argparse.ArgumentTypeError`` with a message argparse prints after
the option's name.
"""

from __future__ import annotations

import re
import unicodedata
from argparse import ArgumentTypeError
from collections.abc import Callable

JOB_NAME_MAX = 63
_JOB_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
LABEL_ATTRIBUTE_MAX = 127
_LABEL_ATTRIBUTE = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,126}")
TITLE_MAX = 128
# The model's pattern [\t\n\r -\uD7FF\uE000-\uFFFD]*: printable text, tab and line breaks.
_TITLE = re.compile("[\t\n\r -\ud7ff\ue000-\ufffd]*")
DESCRIPTION_MAX = 255
KEYWORDS_MAX = 5
KEYWORD_MAX = 30
_KEYWORD = re.compile(r"[A-Za-z0-9]+( [A-Za-z0-9]+)*")
_WORKTEAM_ARN = re.compile(r"arn:aws[a-z\-]*:sagemaker:([a-z0-9\-]*):[0-9]{12}:workteam/.*")
WORKTEAM_ARN_MAX = 256
KMS_KEY_ID_MAX = 2048
_KMS_KEY_ID = re.compile(r"[a-zA-Z0-9:/_-]*")
TAGS_MAX = 50
TAG_KEY_MAX = 128
TAG_VALUE_MAX = 256
_TAG_PUNCTUATION = frozenset("_.:/=+-@")

WORKERS = (1, 9)
#: Custom labeling jobs: 30 s to 8 h per task (the API allows more for 3D and video only).
TASK_TIME_LIMIT = (30, 8 * 3600)
#: Private and vendor workforces: up to 30 days; Mechanical Turk: up to 12 h.
TASK_LIFETIME = (60, 30 * 86400)
TASK_LIFETIME_PUBLIC = (60, 12 * 3600)
MAX_CONCURRENT_TASKS = (1, 5000)
#: Above this, AWS Support must raise the account's limit first.
MAX_CONCURRENT_TASKS_DEFAULT_QUOTA = 1000
#: Input manifest: characters per line and per attribute; attribute names may not start with $.
MANIFEST_LINE_MAX = 100_000
MANIFEST_ATTRIBUTE_MAX = 20_000
#: Items per labeling job (an adjustable Service Quota).
DATASET_OBJECTS_QUOTA = 100_000


def labeling_job_name(text: str) -> str:
    if len(text) > JOB_NAME_MAX:
        raise ArgumentTypeError(f"{text!r} is {len(text)} characters; at most {JOB_NAME_MAX}")
    if not _JOB_NAME.fullmatch(text):
        raise ArgumentTypeError(
            f"{text!r}: use ASCII letters, digits and hyphens only, starting and ending"
            " with a letter or digit (no underscores)"
        )
    return text


def label_attribute_name(text: str) -> str:
    if len(text) > LABEL_ATTRIBUTE_MAX:
        raise ArgumentTypeError(
            f"{text!r} is {len(text)} characters; at most {LABEL_ATTRIBUTE_MAX}"
        )
    if not _LABEL_ATTRIBUTE.fullmatch(text):
        raise ArgumentTypeError(
            f"{text!r}: use ASCII letters, digits and hyphens only, starting and ending"
            " with a letter or digit"
        )
    for suffix in ("-metadata", "-ref"):
        if text.endswith(suffix):
            raise ArgumentTypeError(
                f"{text!r} must not end in {suffix!r} (Ground Truth reserves it)"
            )
    return text


def task_title(text: str) -> str:
    if not 1 <= len(text) <= TITLE_MAX:
        raise ArgumentTypeError(f"must be 1 to {TITLE_MAX} characters, got {len(text)}")
    if not _TITLE.fullmatch(text):
        raise ArgumentTypeError("contains control characters Ground Truth rejects")
    return text


def task_description(text: str) -> str:
    if not 1 <= len(text) <= DESCRIPTION_MAX:
        raise ArgumentTypeError(f"must be 1 to {DESCRIPTION_MAX} characters, got {len(text)}")
    # The model's pattern is ".+" matched whole, and "." stops at line breaks.
    if any(c in text for c in "\n\r\u0085\u2028\u2029"):
        raise ArgumentTypeError("must be one line (Ground Truth rejects line breaks here)")
    return text


def task_keywords(text: str) -> list[str]:
    """``"pose, keypoints"`` → ``["pose", "keypoints"]``: 1 to 5 words or phrases."""
    keywords = [k.strip() for k in text.split(",")]
    if not 1 <= len(keywords) <= KEYWORDS_MAX:
        raise ArgumentTypeError(
            f"give 1 to {KEYWORDS_MAX} comma-separated keywords, got {len(keywords)}"
        )
    for keyword in keywords:
        if not 1 <= len(keyword) <= KEYWORD_MAX:
            raise ArgumentTypeError(
                f"keyword {keyword!r} must be 1 to {KEYWORD_MAX} characters, got {len(keyword)}"
            )
        if not _KEYWORD.fullmatch(keyword):
            raise ArgumentTypeError(
                f"keyword {keyword!r}: only ASCII letters and digits, words separated"
                " by single spaces (no hyphens)"
            )
    return keywords


def workteam_arn(text: str) -> str:
    if len(text) > WORKTEAM_ARN_MAX or not _WORKTEAM_ARN.fullmatch(text):
        raise ArgumentTypeError(
            f"{text!r} is not a work team ARN"
            " (arn:aws:sagemaker:REGION:ACCOUNT:workteam/private-crowd/NAME)"
        )
    return text


def workteam_region(arn: str) -> str:
    match = _WORKTEAM_ARN.fullmatch(arn)
    return match.group(1) if match else ""


def is_public_workforce(arn: str) -> bool:
    """Mechanical Turk's work team ARN is ``…:workteam/public-crowd/default``."""
    return ":workteam/public-crowd/" in arn


def is_private_workforce(arn: str) -> bool:
    """A private team's ARN is ``…:workteam/private-crowd/NAME``; they share one portal."""
    return ":workteam/private-crowd/" in arn


def kms_key_id(text: str) -> str:
    if len(text) > KMS_KEY_ID_MAX or not _KMS_KEY_ID.fullmatch(text):
        raise ArgumentTypeError(f"{text!r} is not a KMS key id, alias or ARN")
    return text


def tag(text: str) -> tuple[str, str]:
    """``KEY=VALUE`` → ``(KEY, VALUE)``, with AWS's tag rules."""
    key, sep, value = text.partition("=")
    if not sep:
        raise ArgumentTypeError(f"{text!r}: expected KEY=VALUE")
    if not 1 <= len(key) <= TAG_KEY_MAX:
        raise ArgumentTypeError(f"tag key must be 1 to {TAG_KEY_MAX} characters, got {len(key)}")
    if len(value) > TAG_VALUE_MAX:
        raise ArgumentTypeError(
            f"tag {key!r}: value must be at most {TAG_VALUE_MAX} characters, got {len(value)}"
        )
    if key.lower().startswith("aws:"):
        raise ArgumentTypeError(f"tag key {key!r}: the aws: prefix is reserved for AWS")
    for part, name in ((key, "key"), (value, "value")):
        bad = sorted({c for c in part if not _tag_character(c)})
        if bad:
            raise ArgumentTypeError(
                f"tag {name} {part!r} contains {''.join(bad)!r}; allowed: letters, digits,"
                " spaces and _ . : / = + - @"
            )
    return key, value


def _tag_character(c: str) -> bool:
    # The model's pattern [\p{L}\p{Z}\p{N}_.:/=+\-@]: letters, separators, numbers.
    return unicodedata.category(c)[0] in "LZN" or c in _TAG_PUNCTUATION


def integer(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if not low <= value <= high:
            raise ArgumentTypeError(f"must be {low} to {high}, got {value}")
        return value

    parse.__name__ = "integer"
    return parse


_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"(\d+)\s*([smhd]?)", re.IGNORECASE)


def duration(low: int, high: int) -> Callable[[str], int]:
    """Seconds, from ``"900"``, ``"900s"``, ``"15m"``, ``"8h"`` or ``"30d"``."""

    def parse(text: str) -> int:
        match = _DURATION.fullmatch(text.strip())
        if not match:
            raise ArgumentTypeError(
                f"expected seconds or a duration like 15m, 8h, 30d; got {text!r}"
            )
        seconds = int(match.group(1)) * _UNITS[match.group(2).lower()]
        if not low <= seconds <= high:
            raise ArgumentTypeError(
                f"must be {describe_seconds(low)} to {describe_seconds(high)}, got {text}"
                f" ({seconds} s)"
            )
        return seconds

    parse.__name__ = "duration"
    return parse


def describe_seconds(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
