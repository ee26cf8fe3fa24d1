"""Config: declared once in Pulumi.yaml, and a bad value stops `pulumi up` with a clear message."""

from __future__ import annotations

from pathlib import Path

import pulumi
import pytest
import yaml

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


@pytest.mark.parametrize("key", sorted(project()["config"]))
def test_every_setting_declares_type_default_and_description(key: str) -> None:
    declaration = project()["config"][key]
    assert {"type", "default", "description"} <= declaration.keys(), key
    assert declaration["description"].strip(), key


@pytest.mark.parametrize("key", sorted(project()["config"]))
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


@pytest.mark.parametrize("tags", [["team"], ["=x"], ["aws:owner=me"], [" team=x"], ["a=1", "a=2"]])
def test_tag_that_is_not_key_equals_value_is_refused(tags: list[str]) -> None:
    fails_with(harness.stack_config(tags=tags), r"pose-labeling:tags\[\d\]: ")


def test_missing_region_says_how_to_set_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    fails_with(
        harness.stack_config(**{"aws:region": None}),
        r"aws:region is not set: run `pulumi config set aws:region <region>`",
    )


def test_waf_rate_limit_below_wafs_minimum_is_refused() -> None:
    fails_with(
        harness.stack_config(production=True, wafRateLimit=5),
        r"pose-labeling:wafRateLimit: 5 is too small; the minimum is 10",
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
