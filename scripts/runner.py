"""The runner that hands out a stack's tasks, and the task service scripts use on a self-hosted one.

A stack whose ``runner`` output is ``self-hosted`` runs its jobs itself
(``docs/self-hosted.md``): ``launch_job`` registers a job in its table instead of
calling ``CreateLabelingJob``, and ``job_status`` reads and stops it there. The
scripts use the same task service as the deployed Lambda, with the caller's AWS
credentials.
"""

from __future__ import annotations

from typing import Any

from components.stack_outputs import SELF_HOSTED_RUNNER, StackOutputs
from handlers.task_records import JobSpec
from handlers.task_service import TaskService
from handlers.task_store_aws import DynamoTaskTable, S3Objects
from scripts.aws import AwsClients
from scripts.cli import UserError
from scripts.gt_limits import TASK_LIFETIME


def is_self_hosted(outputs: StackOutputs) -> bool:
    return outputs.runner == SELF_HOSTED_RUNNER


def task_service(outputs: StackOutputs, clients: AwsClients) -> TaskService:
    """The task service on the stack's table and bucket."""
    if not outputs.tasks_table_name:
        raise UserError(
            "stack output tasks_table_name is missing although the runner is self-hosted:"
            " run pulumi up to finish deploying the runner"
        )
    objects = S3Objects(clients.s3, kms_key_id=outputs.kms_key_id)
    return TaskService(
        DynamoTaskTable(clients.dynamodb, outputs.tasks_table_name),
        objects,
        outputs.rig,
        lambda: objects.read(outputs.template_s3_uri).decode("utf-8"),
    )


def job_spec(request: dict[str, Any]) -> JobSpec:
    """The runner's settings for a job, read from its ``CreateLabelingJob`` request: a
    self-hosted job is what Ground Truth would have been asked to run."""
    human = request["HumanTaskConfig"]
    output = request["OutputConfig"]
    return JobSpec(
        name=request["LabelingJobName"],
        label_attribute=request["LabelAttributeName"],
        workers=human["NumberOfHumanWorkersPerDataObject"],
        time_limit=human["TaskTimeLimitInSeconds"],
        # Ground Truth's default for a private work team: 30 days.
        lifetime=human.get("TaskAvailabilityLifetimeInSeconds", TASK_LIFETIME[1]),
        manifest_uri=request["InputConfig"]["DataSource"]["S3DataSource"]["ManifestS3Uri"],
        output_path=output["S3OutputPath"],
        title=human["TaskTitle"],
        description=human["TaskDescription"],
        keywords=tuple(human.get("TaskKeywords", ())),
        kms_key_id=output.get("KmsKeyId"),
    )


def account_of(role_arn: str) -> str:
    """The account ID in an IAM role ARN (``arn:aws:iam::<account>:role/…``)."""
    return role_arn.split(":")[4]
