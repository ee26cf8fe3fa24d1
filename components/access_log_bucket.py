"""``AccessLogBucket``: where the production profile's access logs go, and for how long.

A bucket of its own, as private as the data bucket (public access blocked, ACLs
off, TLS only, versioned), encrypted with SSE-S3 because S3 server access
logging cannot write to a bucket whose default key is KMS. Its policy lets
exactly two writers in: S3 server access logging for the data bucket, and
CloudWatch's log delivery for the distribution's standard logs. A lifecycle
rule expires logs after the configured number of days.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import policies
from components.private_bucket import private_bucket

#: Folder of the data bucket's server access logs.
S3_ACCESS_LOG_PREFIX = "s3-access/"
#: Folder of CloudFront's standard (v2) access logs.
CLOUDFRONT_LOG_PREFIX = "cloudfront/"


@dataclass(frozen=True)
class AccessLogBucketArgs:
    #: Days a log is kept before the lifecycle rule deletes it.
    retention_days: int
    #: Delete the bucket with its logs on destroy.
    force_destroy: bool
    #: The bucket whose server access logs come here.
    source_bucket_arn: pulumi.Input[str]
    #: The CloudWatch Logs delivery source of the distribution's access logs.
    delivery_source_arn: pulumi.Input[str]
    account_id: pulumi.Input[str]


class AccessLogBucket(pulumi.ComponentResource):
    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    #: Log deliveries wait for it, or CloudWatch would write a bucket policy of its own.
    policy: aws.s3.BucketPolicy

    def __init__(
        self, name: str, args: AccessLogBucketArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pose-labeling:logs:AccessLogBucket", name, {}, opts)
        child = pulumi.ResourceOptions(parent=self)

        private = private_bucket(
            name,
            force_destroy=args.force_destroy,
            encryption_rule={
                "apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}
            },
            opts=child,
        )
        bucket, public_access = private.bucket, private.public_access
        guarded = private.guard_options
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket.id,
            rules=[
                {
                    "id": "expire-logs",
                    "status": "Enabled",
                    "filter": {"prefix": ""},
                    "expiration": {"days": args.retention_days},
                    # Versioning keeps deleted logs as noncurrent versions: drop them too.
                    "noncurrent_version_expiration": {"noncurrent_days": 1},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 1},
                }
            ],
            opts=guarded,
        )
        self.policy = aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=bucket.id,
            policy=pulumi.Output.all(
                log_bucket_arn=bucket.arn,
                source_bucket_arn=args.source_bucket_arn,
                delivery_source_arn=args.delivery_source_arn,
                account_id=args.account_id,
            ).apply(
                lambda v: policies.log_bucket_policy(
                    **v, s3_prefix=S3_ACCESS_LOG_PREFIX, cloudfront_prefix=CLOUDFRONT_LOG_PREFIX
                )
            ),
            opts=pulumi.ResourceOptions.merge(
                guarded, pulumi.ResourceOptions(depends_on=[public_access])
            ),
        )

        self.bucket_name = bucket.bucket
        self.bucket_arn = bucket.arn
        self.register_outputs({"bucket_name": self.bucket_name, "bucket_arn": self.bucket_arn})
