"""The stack's settings: every key declared in ``Pulumi.yaml``, read and validated once.

Defaults live in ``Pulumi.yaml`` only (the CLI applies them), so every key is
read with ``require*`` here. A bad value stops ``pulumi up`` before any resource
is registered, with a message naming the key, the problem and the choices.

Two ``aws:`` settings are checked here too, because AWS would reject them only
after part of the stack exists: ``aws:region`` must be set, and the tags in
``aws:defaultTags`` (which the AWS provider puts on every taggable resource)
must be tags every service accepts.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.stack_outputs import RUNNERS, SELF_HOSTED_RUNNER
from handlers.rig import Rig, RigError, load_rig

#: The only retention periods CloudWatch Logs accepts (PutRetentionPolicy).
LOG_RETENTION_DAYS = (
    *(1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731),
    *(1096, 1827, 2192, 2557, 2922, 3288, 3653),
)
PRICE_CLASSES = ("PriceClass_100", "PriceClass_200", "PriceClass_All")
_COUNTRY = re.compile(r"[A-Z]{2}")
_TOPIC_ARN = re.compile(r"arn:aws[a-z-]*:sns:(?P<region>[a-z0-9-]+):\d{12}:[A-Za-z0-9_-]{1,256}")
#: S3 objects take at most 10 tags, and the provider's default tags reach the objects.
MAX_TAGS = 10
#: What AWS allows in tag keys and values besides letters, spaces and digits
#: (``[\p{L}\p{Z}\p{N}_.:/=+\-@]``); a tag outside it fails after some resources exist.
_TAG_PUNCTUATION = frozenset("_.:/=+-@")


class SettingsError(pulumi.RunError):
    """A config value the program cannot use; printed by Pulumi without a traceback."""


@dataclass(frozen=True)
class StackSettings:
    region: str
    rig: Rig
    instructions: str
    log_retention_days: int
    #: Days an overwritten or deleted version is kept before S3 expires it; 0 keeps it.
    noncurrent_version_days: int
    force_destroy: bool
    #: ``aws:defaultTags``, checked; the AWS provider applies them itself.
    tags: Mapping[str, str]
    price_class: str
    allowed_countries: tuple[str, ...]
    production: bool
    #: The stack has its customer-managed KMS key (``dataKey``); always equal to ``production``.
    data_key: bool
    access_log_retention_days: int
    waf_rate_limit: int
    alarm_topic_arn: str | None
    #: The labeling work team the stack creates; None (the default) creates none.
    workteam: WorkteamSettings | None
    #: Who hands out the tasks: ``groundtruth`` (the default) or ``self-hosted``.
    runner: str

    @classmethod
    def load(cls, config: pulumi.Config | None = None) -> StackSettings:
        config = config or pulumi.Config()
        name = config.name
        region = aws.config.region
        if not region:
            raise SettingsError(
                "aws:region is not set: run `pulumi config set aws:region <region>`"
                " (a region where SageMaker Ground Truth is available, e.g. us-east-1)"
            )
        if config.get("tags") is not None:
            raise SettingsError(
                f"{name}:tags: tags are now the AWS provider's own setting, aws:defaultTags;"
                f" move them (`pulumi config set --path aws:defaultTags.tags.team vision`"
                f" for each) and run `pulumi config rm {name}:tags`"
            )
        production = config.require_bool("production")
        runner = _one_of(name, "runner", config.require("runner"), RUNNERS)
        workteam = _workteam(name, config, region, runner)
        return cls(
            region=region,
            rig=_rig(name, config.require("rig")),
            instructions=config.require("instructions"),
            log_retention_days=_one_of(
                name, "logRetentionDays", config.require_int("logRetentionDays"), LOG_RETENTION_DAYS
            ),
            noncurrent_version_days=_at_least(
                name, "noncurrentVersionDays", config.require_int("noncurrentVersionDays"), 0
            ),
            force_destroy=config.require_bool("forceDestroy"),
            tags=_default_tags(pulumi.Config("aws").get_object("defaultTags")),
            price_class=_one_of(name, "priceClass", config.require("priceClass"), PRICE_CLASSES),
            allowed_countries=_countries(name, config.require_object("allowedCountries")),
            production=production,
            data_key=_data_key(name, production, config.require_bool("dataKey")),
            access_log_retention_days=_at_least(
                name, "accessLogRetentionDays", config.require_int("accessLogRetentionDays"), 1
            ),
            waf_rate_limit=_at_least(name, "wafRateLimit", config.require_int("wafRateLimit"), 10),
            alarm_topic_arn=_topic(name, config.require("alarmTopicArn"), region),
            workteam=workteam,
            runner=_runner(name, runner, workteam),
        )


def _rig(namespace: str, value: str) -> Rig:
    try:
        return load_rig(value)
    except RigError as exc:
        raise SettingsError(f"{namespace}:rig: {exc}") from exc


def _one_of(namespace: str, key: str, value: Any, choices: tuple[Any, ...]) -> Any:
    if value not in choices:
        allowed = ", ".join(str(c) for c in choices)
        raise SettingsError(f"{namespace}:{key}: {value!r} is not allowed; choose one of {allowed}")
    return value


def _default_tags(value: Any) -> dict[str, str]:
    """``aws:defaultTags`` (``{"tags": {key: value}}``), checked against AWS's tag rules."""
    if value is None:
        return {}
    tags = value.get("tags", {}) if isinstance(value, dict) else None
    if not isinstance(tags, dict) or set(value) - {"tags"}:
        raise SettingsError(
            'aws:defaultTags: expected {"tags": {"<key>": "<value>", ...}}, got'
            f" {value!r}; set one with `pulumi config set --path aws:defaultTags.tags.team vision`"
        )
    if len(tags) > MAX_TAGS:
        raise SettingsError(
            f"aws:defaultTags.tags: {len(tags)} tags; S3 objects take at most {MAX_TAGS}"
        )
    for key, text in tags.items():
        where = f"aws:defaultTags.tags.{key}"
        if not isinstance(text, str):
            raise SettingsError(f"{where}: expected a string value, got {text!r}")
        if not 1 <= len(key) <= 128 or len(text) > 256:
            raise SettingsError(f"{where}: keys take 1-128 characters and values up to 256")
        if key.lower().startswith("aws:"):
            raise SettingsError(f"{where}: the aws: prefix is reserved for AWS, in any case")
        bad = sorted({c for c in key + text if not _tag_character(c)})
        if bad:
            raise SettingsError(
                f"{where}: {''.join(bad)!r} cannot be in a tag; use letters, digits, spaces"
                " and _ . : / = + - @"
            )
    return dict(tags)


def _tag_character(c: str) -> bool:
    return c in _TAG_PUNCTUATION or unicodedata.category(c)[0] in "LNZ"


def _data_key(namespace: str, production: bool, data_key: bool) -> bool:
    """``dataKey`` must follow ``production``, so the key is never dropped by a side effect.

    The program cannot see whether an earlier ``pulumi up`` ran in production, so
    the key's existence is recorded in the stack's own config: turning either
    setting on or off without the other stops here, saying what to do.
    """
    if production and not data_key:
        raise SettingsError(
            f"{namespace}:production: true encrypts the bucket with a customer-managed KMS key"
            " that must stay while anything is encrypted with it; confirm with"
            " `pulumi config set dataKey true`"
        )
    if data_key and not production:
        raise SettingsError(
            f"{namespace}:production: false would take the KMS key out of the stack while the"
            " labels written in production are encrypted with it; keep production on, or see"
            " docs/teardown.md (leaving production) and then `pulumi config set dataKey false`"
        )
    return data_key


def _at_least(namespace: str, key: str, value: int, minimum: int) -> int:
    if value < minimum:
        raise SettingsError(f"{namespace}:{key}: {value} is too small; the minimum is {minimum}")
    return value


def _countries(namespace: str, value: Any) -> tuple[str, ...]:
    """ISO 3166-1 alpha-2 codes (CloudFront's geo restriction), e.g. ["DE", "FR"]."""
    if not isinstance(value, list):
        raise SettingsError(
            f'{namespace}:allowedCountries: expected a list like ["DE"], got {value!r}'
        )
    for i, code in enumerate(value):
        if not isinstance(code, str) or not _COUNTRY.fullmatch(code):
            raise SettingsError(
                f"{namespace}:allowedCountries[{i}]: expected a two-letter country code"
                f" such as DE, got {code!r}"
            )
    return tuple(value)


def _topic(namespace: str, value: str, region: str) -> str | None:
    if not value:
        return None
    match = _TOPIC_ARN.fullmatch(value)
    if not match:
        raise SettingsError(f"{namespace}:alarmTopicArn: {value!r} is not an SNS topic ARN")
    if match["region"] != region:
        raise SettingsError(
            f"{namespace}:alarmTopicArn: the topic is in {match['region']}, but CloudWatch alarms"
            f" notify topics in their own region only ({region}); use a topic in {region}"
        )
    return value


# -- the labeling workforce (issue 14) ------------------------------------------------

#: SageMaker's ``WorkteamName`` (botocore ``sagemaker`` model; a test keeps them equal).
WORKTEAM_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
#: Cognito's ``UserPoolIdType`` and ``ClientIdType`` (botocore ``cognito-idp`` model).
USER_POOL_ID = re.compile(r"[\w-]+_[0-9a-zA-Z]+")
USER_POOL_ID_MAX = 55
CLIENT_ID = re.compile(r"[\w+]+")
CLIENT_ID_MAX = 128
#: The HTML standard's "valid e-mail address" (what ``<input type=email>`` accepts), with
#: a dotted domain required, since invitations go to real mailboxes. Cognito user names
#: are at most 128 characters, and the member's address is its user name.
EMAIL = re.compile(
    r"[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+"
)
EMAIL_MAX = 128
#: Cognito's ``DomainType``: the prefix of a pool's ``<prefix>.auth.<region>.amazoncognito.com``.
COGNITO_DOMAIN = re.compile(r"[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?")
_FIND_DOMAIN = (
    "find it with `aws cognito-idp describe-user-pool --user-pool-id <workforceUserPoolId>"
    " --query UserPool.Domain`"
)
_FIND_WORKFORCE = (
    "find them with `aws sagemaker describe-workforce --workforce-name default"
    " --query Workforce.CognitoConfig` (see docs/workforce.md)"
)
#: Without Ground Truth there is no workforce to ask: the pool is found through Cognito.
_FIND_POOL = (
    "find it with `aws cognito-idp list-user-pools --max-results 60` (see docs/workforce.md)"
)


@dataclass(frozen=True)
class WorkteamSettings:
    """A team of invited members, in an existing Cognito user pool or in one the stack creates.

    With the Ground Truth runner the team is a SageMaker work team, and the pool is the
    region's private workforce's. With the self-hosted runner it is the Cognito side
    only (the pool, the team's group, its members): no SageMaker resource, so the stack
    deploys where Ground Truth is closed.
    """

    name: str
    members: tuple[str, ...]
    #: True: the team is a SageMaker Ground Truth work team (``runner: groundtruth``).
    ground_truth: bool
    #: True: the stack creates the team's Cognito user pool (``createWorkforce``), and
    #: with Ground Truth the region's private workforce on it.
    create_workforce: bool
    #: The existing pool (None when it is created), and with Ground Truth the existing
    #: workforce's app client (None otherwise).
    user_pool_id: str | None
    client_id: str | None
    #: The existing pool's Cognito domain prefix, for the self-hosted runner's sign-in.
    auth_domain: str | None = None


def _workteam(
    namespace: str, config: pulumi.Config, region: str, runner: str
) -> WorkteamSettings | None:
    """The workforce keys, checked together: each contradiction names the key to change."""
    name = config.require("workteamName")
    members = config.require_object("workteamMembers")
    create = config.require_bool("createWorkforce")
    pool = config.require("workforceUserPoolId")
    client = config.require("workforceClientId")
    domain = config.require("workforceAuthDomain")
    ground_truth = runner != SELF_HOSTED_RUNNER
    if not name:
        for key, value in (
            ("workteamMembers", members),
            ("createWorkforce", create),
            ("workforceUserPoolId", pool),
            ("workforceClientId", client),
            ("workforceAuthDomain", domain),
        ):
            if value:
                raise SettingsError(
                    f"{namespace}:{key}: set, but {namespace}:workteamName is empty; set the"
                    " team's name too, or unset this key"
                )
        return None
    if not WORKTEAM_NAME.fullmatch(name):
        raise SettingsError(
            f"{namespace}:workteamName: {name!r} is not a work team name Ground Truth accepts:"
            " 1-63 ASCII letters, digits and hyphens, starting and ending with a letter or digit"
        )
    if client and not ground_truth:
        raise SettingsError(
            f"{namespace}:workforceClientId: set, but {namespace}:runner is"
            f" {SELF_HOSTED_RUNNER}, which creates no SageMaker work team and signs workers in"
            " with an app client of its own; unset it"
        )
    existing = {
        "workforceUserPoolId": pool,
        "workforceClientId": client,
        "workforceAuthDomain": domain,
    }
    if create and any(existing.values()):
        key = next(k for k, v in existing.items() if v)
        raise SettingsError(
            f"{namespace}:createWorkforce: true, but {namespace}:{key} names an existing"
            " workforce, and a region holds one private workforce per account; unset"
            f" {namespace}:createWorkforce to add the team to it, or unset {key}"
        )
    if not create and ground_truth:
        _existing_workforce(namespace, pool, client, region)
    elif not create:
        _existing_pool(namespace, pool, region)
    if domain and not COGNITO_DOMAIN.fullmatch(domain):
        raise SettingsError(
            f"{namespace}:workforceAuthDomain: {domain!r} is not a Cognito domain prefix"
            f" (1-63 lower-case letters, digits and hyphens, the part before"
            f" .auth.{region}.amazoncognito.com); {_FIND_DOMAIN}"
        )
    return WorkteamSettings(
        name=name,
        members=_members(namespace, members),
        ground_truth=ground_truth,
        create_workforce=create,
        user_pool_id=pool or None,
        client_id=client or None,
        auth_domain=domain or None,
    )


def _existing_workforce(namespace: str, pool: str, client: str, region: str) -> None:
    """A Ground Truth team joins the region's workforce: its pool and its app client."""
    for key, value in (("workforceUserPoolId", pool), ("workforceClientId", client)):
        if not value:
            raise SettingsError(
                f"{namespace}:{key}: required to add the team to the account's existing"
                f" workforce: {_FIND_WORKFORCE}; or set {namespace}:createWorkforce true"
                " if this region has no private workforce yet"
            )
    _pool_id(
        namespace, pool, region, _FIND_WORKFORCE, "a work team must be in its workforce's region"
    )
    if len(client) > CLIENT_ID_MAX or not CLIENT_ID.fullmatch(client):
        raise SettingsError(
            f"{namespace}:workforceClientId: {client!r} is not a Cognito app client ID"
            f" (letters, digits, _ and +); {_FIND_WORKFORCE}"
        )


def _existing_pool(namespace: str, pool: str, region: str) -> None:
    """A self-hosted team needs only the pool its members sign in to (no workforce, no client)."""
    if not pool:
        raise SettingsError(
            f"{namespace}:workforceUserPoolId: required for the {SELF_HOSTED_RUNNER} runner"
            " without createWorkforce: the Cognito user pool the team's members sign in to;"
            f" {_FIND_POOL}; or set {namespace}:createWorkforce true to create one"
        )
    _pool_id(
        namespace,
        pool,
        region,
        _FIND_POOL,
        "the portal signs workers in with a pool in the stack's region",
    )


def _pool_id(namespace: str, pool: str, region: str, find: str, why: str) -> None:
    """Cognito's pool ID pattern, in the stack's region; ``find`` and ``why`` end the messages."""
    if len(pool) > USER_POOL_ID_MAX or not USER_POOL_ID.fullmatch(pool):
        raise SettingsError(
            f"{namespace}:workforceUserPoolId: {pool!r} is not a Cognito user pool ID"
            f" like {region}_AbCdEf123; {find}"
        )
    if pool.split("_", 1)[0] != region:
        raise SettingsError(
            f"{namespace}:workforceUserPoolId: {pool!r} is a user pool in"
            f" {pool.split('_', 1)[0]}, the stack is in {region}; {why}"
        )


def _members(namespace: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise SettingsError(
            f'{namespace}:workteamMembers: expected a list like ["ana@example.com"], got {value!r}'
        )
    seen: dict[str, int] = {}
    for i, address in enumerate(value):
        if not isinstance(address, str) or len(address) > EMAIL_MAX or not EMAIL.fullmatch(address):
            raise SettingsError(
                f"{namespace}:workteamMembers[{i}]: {address!r} is not an e-mail address"
                f" (like ana@example.com, at most {EMAIL_MAX} characters)"
            )
        # Cognito user names ignore case, so two spellings would be the same worker.
        first = seen.setdefault(address.lower(), i)
        if first != i:
            raise SettingsError(
                f"{namespace}:workteamMembers[{i}]: {address!r} repeats"
                f" {namespace}:workteamMembers[{first}]"
            )
    return tuple(value)


# -- the runner (issue 18) ------------------------------------------------------------


def _runner(namespace: str, runner: str, workteam: WorkteamSettings | None) -> str:
    """What the self-hosted runner needs: a team whose pool signs workers in, and its domain."""
    domain = workteam.auth_domain if workteam else None
    if runner != SELF_HOSTED_RUNNER:
        if domain:
            raise SettingsError(
                f"{namespace}:workforceAuthDomain: set, but {namespace}:runner is {runner};"
                " only the self-hosted runner signs workers in itself; unset it, or set"
                f" {namespace}:runner {SELF_HOSTED_RUNNER}"
            )
        return runner
    if workteam is None:
        raise SettingsError(
            f"{namespace}:runner: {SELF_HOSTED_RUNNER} signs workers in with the stack's own"
            f" work team; set {namespace}:workteamName and its workforce too (see"
            " docs/workforce.md)"
        )
    if not workteam.create_workforce and not domain:
        raise SettingsError(
            f"{namespace}:workforceAuthDomain: required for the {SELF_HOSTED_RUNNER} runner"
            " with an existing workforce: the domain prefix of its user pool's sign-in pages;"
            f" {_FIND_DOMAIN}"
        )
    return runner
