"""``DataKey``: the production profile's customer-managed KMS key for the data bucket.

The key is created with AWS's default key policy (the account administers it
through IAM) and rotates yearly. Its final policy, which also names the Ground
Truth execution role and the post-annotation Lambda's role, is a separate
``aws.kms.KeyPolicy`` written once those roles exist: the roles' own policies
need this key's ARN, so the key cannot wait for them.

Pulumi never schedules the key's deletion (``retain_on_delete``): neither
``pulumi destroy`` nor taking the key out of the program does more than forget
it. A key pending deletion cannot decrypt, so every label written under it would
become unreadable at once; deleting the key is left to a person who has checked
that nothing needs it (docs/teardown.md). The alias is kept with it, so the key
can still be found by name.
"""

from __future__ import annotations

import re

import pulumi
import pulumi_aws as aws

#: Characters KMS allows in an alias name; anything else in a stack name becomes "-".
_NOT_IN_ALIAS = re.compile(r"[^a-zA-Z0-9:/_-]")


def alias_prefix(project: str, stack: str) -> str:
    """``alias/<project>-<stack>-``; KMS appends a unique suffix, so stacks never collide."""
    return _NOT_IN_ALIAS.sub("-", f"alias/{project}-{stack}-")


class DataKey(pulumi.ComponentResource):
    key: aws.kms.Key
    key_arn: pulumi.Output[str]
    key_id: pulumi.Output[str]

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pose-labeling:kms:DataKey", name, {}, opts)
        kept = pulumi.ResourceOptions(parent=self, retain_on_delete=True)
        self.key = aws.kms.Key(
            f"{name}-key",
            description="pose-labeling: images, manifests and labels in the data bucket",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            opts=kept,
        )
        aws.kms.Alias(
            f"{name}-alias",
            name_prefix=alias_prefix(pulumi.get_project(), pulumi.get_stack()),
            target_key_id=self.key.key_id,
            opts=kept,
        )
        self.key_arn = self.key.arn
        self.key_id = self.key.key_id
        self.register_outputs({"key_arn": self.key_arn, "key_id": self.key_id})
