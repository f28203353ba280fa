"""Fixtures for attack tests: the real server, real vaults, and a hostile operator.

`org` is the integration suite's organisation (a live server on SQLite, one coordinator);
`operator` edits that server's database and blob directory behind its back.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.adversarial.operator import HostileOperator
from tests.integration.conftest import Org, running_org


@pytest.fixture
def org(tmp_path: Path) -> Iterator[Org]:
    with running_org(tmp_path) as value:
        yield value


@pytest.fixture
def operator(org: Org) -> HostileOperator:
    return HostileOperator(org.server)
