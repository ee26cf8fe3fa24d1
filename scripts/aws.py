"""The boto3 clients a script uses, created on first use and injectable for tests.

Tests pass ``AwsClients(s3=..., sagemaker=..., dynamodb=...)`` (moto-server S3 and
DynamoDB clients, a SageMaker client under ``botocore.stub.Stubber``) to a script's
``main``; real runs create them for the stack's region.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient

#: Uploads and HEAD requests run on this many threads; the connection pool matches it.
DEFAULT_CONCURRENCY = 16


class AwsClients:
    def __init__(
        self,
        region: str | None = None,
        *,
        s3: S3Client | None = None,
        sagemaker: SageMakerClient | None = None,
        dynamodb: DynamoDBClient | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        self.region = region
        self._s3 = s3
        self._sagemaker = sagemaker
        self._dynamodb = dynamodb
        self._concurrency = concurrency

    def _config(self) -> Config:
        return Config(
            retries={"mode": "standard", "max_attempts": 5},
            max_pool_connections=self._concurrency,
        )

    @property
    def s3(self) -> S3Client:
        if self._s3 is None:
            session = boto3.session.Session(region_name=self.region)
            self._s3 = session.client("s3", config=self._config())
        return self._s3

    @property
    def sagemaker(self) -> SageMakerClient:
        if self._sagemaker is None:
            session = boto3.session.Session(region_name=self.region)
            self._sagemaker = session.client("sagemaker", config=self._config())
        return self._sagemaker

    @property
    def dynamodb(self) -> DynamoDBClient:
        """The self-hosted runner's table."""
        if self._dynamodb is None:
            session = boto3.session.Session(region_name=self.region)
            self._dynamodb = session.client("dynamodb", config=self._config())
        return self._dynamodb
