"""Config: declared once in Pulumi.yaml, and a bad value stops `pulumi up` with a clear message."""

from __future__ import annotations

from pathlib import Path

import pulumi
import pytest
import yaml

from components.settings import StackSettings, WorkteamSettings
from tests.infra import harness


def project() -> dict:
    return yaml.safe_load((harness.ROOT / "Pulumi.yaml").read_text(encoding="utf-8"))


def fails_with(config: dict[str, str], pattern: str) -> None:
    with pytest.raises(pulumi.RunError, match=pattern):
        harness.run_main(config)


def test_project_uses_the_makefile_virtualenv_with_pip() -> None:
    runtime = project()["runtime"]
    assert runtime == {"name": "python", "options": {"toolchain": "pip", "virtualenv": ".venv"}}
    assert project()["name"] == "pose-labeling"


#: The project's own settings; other namespaces' keys (aws:defaultTags) carry a value.
SETTINGS = sorted(key for key in project()["config"] if ":" not in key)


@pytest.mark.parametrize("key", SETTINGS)
def test_every_setting_declares_type_default_and_description(key: str) -> None:
    declaration = project()["config"][key]
    assert {"type", "default", "description"} <= declaration.keys(), key
    assert declaration["description"].strip(), key


@pytest.mark.parametrize("key", SETTINGS)
def test_every_setting_is_read_by_the_program_without_a_default_of_its_own(key: str) -> None:
    fails_with(
        harness.stack_config(**{key: None}),
        rf"Missing required configuration variable 'pose-labeling:{key}'",
    )


def test_unknown_rig_names_the_choices() -> None:
    fails_with(
        harness.stack_config(rig="coco-person-18"),
        r"pose-labeling:rig: unknown rig 'coco-person-18': choose one of box-truck, coco-person-17, human-18",
    )


def test_malformed_rig_file_names_file_and_line(tmp_path: Path) -> None:
    rig = tmp_path / "broken.json"
    rig.write_text('{"name": "x",\n "keypoints": [}\n')
    fails_with(harness.stack_config(rig=str(rig)), rf"pose-labeling:rig: {rig}: line 2 column \d+")


def test_rig_skeleton_with_an_undefined_label_names_the_field(tmp_path: Path) -> None:
    rig = tmp_path / "rig.json"
    rig.write_text(
        '{"name": "r", "keypoints": [{"label": "a", "x": 0, "y": 0}, {"label": "b", "x": 1, "y": 1}],'
        ' "skeleton": [["a", "c"]]}'
    )
    fails_with(
        harness.stack_config(rig=str(rig)),
        r"pose-labeling:rig: .*rig\.json: skeleton\[0\]\[1\]: 'c' is not defined in keypoints",
    )


def test_log_retention_cloudwatch_cannot_keep_is_refused() -> None:
    fails_with(
        harness.stack_config(logRetentionDays=31),
        r"pose-labeling:logRetentionDays: 31 is not allowed; choose one of 1, 3, 5, 7, 14, 30,",
    )


def test_unknown_price_class_is_refused() -> None:
    fails_with(
        harness.stack_config(priceClass="PriceClass_50"),
        r"pose-labeling:priceClass: 'PriceClass_50' is not allowed; choose one of PriceClass_100",
    )


def tags(**values: object) -> dict[str, str]:
    return harness.stack_config(**{"aws:defaultTags": {"tags": values}})


def test_project_tags_every_resource_through_the_provider_default() -> None:
    assert project()["config"]["aws:defaultTags"] == {"value": {"tags": {"app": "pose-labeling"}}}


@pytest.mark.parametrize(
    ("values", "pattern"),
    [
        # AWS allows letters, digits, spaces and _ . : / = + - @ only: "&" fails half-way.
        ({"cost": "R&D"}, r"aws:defaultTags\.tags\.cost: '&' cannot be in a tag"),
        ({"team!": "x"}, r"aws:defaultTags\.tags\.team!: '!' cannot be in a tag"),
        # The reserved prefix, in any case.
        ({"AWS:owner": "me"}, r"aws:defaultTags\.tags\.AWS:owner: the aws: prefix is reserved"),
        ({"k" * 129: "x"}, r"keys take 1-128 characters and values up to 256"),
        ({"team": "v" * 257}, r"aws:defaultTags\.tags\.team: keys take 1-128 characters"),
        ({"team": 7}, r"aws:defaultTags\.tags\.team: expected a string value, got 7"),
        # S3 objects take at most 10 tags, and the provider tags the template and the JS.
        (
            {f"t{i}": "x" for i in range(11)},
            r"aws:defaultTags\.tags: 11 tags; S3 objects take at most 10",
        ),
    ],
)
def test_tag_aws_would_reject_is_refused_before_anything_is_created(
    values: dict[str, object], pattern: str
) -> None:
    fails_with(tags(**values), pattern)


def test_default_tags_that_are_not_a_tags_map_are_refused() -> None:
    fails_with(
        harness.stack_config(**{"aws:defaultTags": ["team=vision"]}),
        r'aws:defaultTags: expected \{"tags": \{"<key>": "<value>", \.\.\.\}\}',
    )


def test_the_old_tags_setting_says_where_tags_went() -> None:
    fails_with(
        harness.stack_config(tags=["team=vision"]),
        r"pose-labeling:tags: tags are now the AWS provider's own setting, aws:defaultTags",
    )


def test_tags_in_every_script_aws_allows_are_accepted(default_stack: harness.StackRun) -> None:
    values = {"team": "vision", "équipe": "vision par ordinateur", "path": "a/b:c=d@e_f.g-h+i"}
    run = harness.run_main(tags(**values, empty=""))
    assert run.type_counts() == default_stack.type_counts()


def test_alarm_topic_in_another_region_is_refused() -> None:
    fails_with(
        harness.stack_config(alarmTopicArn=f"arn:aws:sns:us-east-1:{harness.ACCOUNT}:alarms"),
        rf"pose-labeling:alarmTopicArn: the topic is in us-east-1, but CloudWatch alarms notify"
        rf" topics in their own region only \({harness.REGION}\)",
    )


def test_turning_production_on_needs_the_data_key_confirmed() -> None:
    fails_with(
        harness.stack_config(production=True),
        r"pose-labeling:production: true encrypts the bucket with a customer-managed KMS key"
        r" .*`pulumi config set dataKey true`",
    )


def test_turning_production_off_while_the_data_key_is_recorded_is_refused() -> None:
    """The accident: `pulumi config set production false` on a production stack."""
    fails_with(
        harness.stack_config(production=False, dataKey=True),
        r"pose-labeling:production: false would take the KMS key out of the stack while the"
        r" labels written in production are encrypted with it; keep production on, or see"
        r" docs/teardown.md",
    )


def test_missing_region_says_how_to_set_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    fails_with(
        harness.stack_config(**{"aws:region": None}),
        r"aws:region is not set: run `pulumi config set aws:region <region>`",
    )


def test_waf_rate_limit_below_wafs_minimum_is_refused() -> None:
    fails_with(
        harness.stack_config(production=True, dataKey=True, wafRateLimit=5),
        r"pose-labeling:wafRateLimit: 5 is too small; the minimum is 10",
    )


def test_negative_noncurrent_version_days_are_refused() -> None:
    fails_with(
        harness.stack_config(noncurrentVersionDays=-1),
        r"pose-labeling:noncurrentVersionDays: -1 is too small; the minimum is 0",
    )


def test_access_log_retention_of_zero_days_is_refused() -> None:
    fails_with(
        harness.stack_config(accessLogRetentionDays=0),
        r"pose-labeling:accessLogRetentionDays: 0 is too small; the minimum is 1",
    )


def test_alarm_topic_that_is_not_an_sns_arn_is_refused() -> None:
    fails_with(
        harness.stack_config(alarmTopicArn="pose-alarms"),
        r"pose-labeling:alarmTopicArn: 'pose-alarms' is not an SNS topic ARN",
    )


@pytest.mark.parametrize("code", ["de", "DEU", ""])
def test_country_that_is_not_a_two_letter_code_is_refused(code: str) -> None:
    fails_with(
        harness.stack_config(allowedCountries=["FR", code]),
        r"pose-labeling:allowedCountries\[1\]: expected a two-letter country code",
    )


# -- the team, by runner --------------------------------------------------------------

POOL_ID = f"{harness.REGION}_AbCdEf123"


def loaded(config: dict[str, str]) -> StackSettings:
    """``StackSettings.load`` on ``config``, as the program reads it."""
    found: list[StackSettings] = []
    harness.run(lambda: found.append(StackSettings.load()), config)
    return found[0]


def test_with_ground_truth_the_team_is_a_work_team_in_the_workforce_pool_and_client() -> None:
    team = loaded(
        harness.stack_config(
            workteamName="pose-team", workforceUserPoolId=POOL_ID, workforceClientId="abc123"
        )
    ).workteam
    assert team == WorkteamSettings(
        name="pose-team",
        members=(),
        ground_truth=True,
        create_workforce=False,
        user_pool_id=POOL_ID,
        client_id="abc123",
    )


def test_self_hosted_the_team_needs_only_the_pool_and_its_domain() -> None:
    loaded_settings = loaded(
        harness.stack_config(
            runner="self-hosted",
            workteamName="pose-team",
            workforceUserPoolId=POOL_ID,
            workforceAuthDomain="pose-team-labelers",
        )
    )
    assert loaded_settings.runner == "self-hosted"
    assert loaded_settings.workteam == WorkteamSettings(
        name="pose-team",
        members=(),
        ground_truth=False,
        create_workforce=False,
        user_pool_id=POOL_ID,
        client_id=None,
        auth_domain="pose-team-labelers",
    )


def test_self_hosted_create_workforce_needs_no_existing_id() -> None:
    team = loaded(
        harness.stack_config(runner="self-hosted", workteamName="pose-team", createWorkforce=True)
    ).workteam
    assert team is not None and team.create_workforce and not team.ground_truth
    assert (team.user_pool_id, team.client_id, team.auth_domain) == (None, None, None)


def test_an_unknown_runner_is_named_before_the_team_it_would_decide() -> None:
    """Which team settings are right depends on the runner: it is checked first."""
    fails_with(
        harness.stack_config(runner="sagemaker", workteamName="pose-team"),
        r"pose-labeling:runner: 'sagemaker' is not allowed; choose one of groundtruth, self-hosted",
    )
