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


@pytest.fixture
def s3(moto_endpoint: str) -> Any:
    return aws_fakes.s3_client(moto_endpoint)


@pytest.fixture
def bucket(s3: Any) -> str:
    return aws_fakes.new_bucket(s3)


@pytest.fixture
def sagemaker() -> Iterator[tuple[Any, Stubber]]:
    """(client, stubber); every queued response must have been used by the end of the test."""
    client, stubber = aws_fakes.sagemaker_client()
    with stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()
