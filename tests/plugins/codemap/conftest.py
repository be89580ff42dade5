from __future__ import annotations

import pytest
from aegisd_codemap.model import FileExtract

from tests.plugins.codemap.helpers import extract_project


@pytest.fixture(scope="session")
def pyproj() -> dict[str, FileExtract]:
    return extract_project("pyproj")


@pytest.fixture(scope="session")
def jsproj() -> dict[str, FileExtract]:
    return extract_project("jsproj")
