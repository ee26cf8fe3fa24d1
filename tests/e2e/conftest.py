from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.scripts import aws_fakes


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    with aws_fakes.moto_server() as endpoint:
        yield endpoint
