from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import Stubber

from tests.scripts import aws_fakes


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    with aws_fakes.moto_server() as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def shared_clients(moto_endpoint: str) -> tuple[Any, Any]:
    """(S3, SageMaker) clients built once for a module: building a SageMaker client loads
    a service model of several MB, which cost most of each test's time."""
    return aws_fakes.s3_client(moto_endpoint), aws_fakes.sagemaker_client()[0]


@pytest.fixture
def s3(shared_clients: tuple[Any, Any]) -> Any:
    """The shared S3 client; each test still gets a bucket of its own (``bucket``)."""
    return shared_clients[0]


@pytest.fixture
def bucket(s3: Any) -> str:
    return aws_fakes.new_bucket(s3)


@pytest.fixture
def sagemaker(shared_clients: tuple[Any, Any]) -> Iterator[tuple[Any, Stubber]]:
    """(client, a fresh Stubber); every queued response must be used by the end of the test."""
    client = shared_clients[1]
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()
