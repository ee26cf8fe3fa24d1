"""``DataKey``: the production profile's customer-managed KMS key for the data bucket.

The key is created with AWS's default key policy (the account administers it
through IAM) and rotates yearly. Its final policy, which also names the Ground
Truth execution role and the post-annotation Lambda's role, is a separate
``aws.kms.KeyPolicy`` written once those roles exist: the roles' own policies
need this key's ARN, so the key cannot wait for them.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws


class DataKey(pulumi.ComponentResource):
    key_arn: pulumi.Output[str]
    key_id: pulumi.Output[str]

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pose-labeling:kms:DataKey", name, {}, opts)
        key = aws.kms.Key(
            f"{name}-key",
            description="pose-labeling: images, manifests and labels in the data bucket",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.kms.Alias(
            f"{name}-alias",
            name=f"alias/{pulumi.get_project()}-{pulumi.get_stack()}",
            target_key_id=key.key_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.key_arn = key.arn
        self.key_id = key.key_id
        self.register_outputs({"key_arn": self.key_arn, "key_id": self.key_id})
