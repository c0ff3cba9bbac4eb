from __future__ import annotations

import pytest

from app.contract import operations
from app.geography import Geography
from app.territoriality.rulings import load_catalogue


@pytest.fixture(scope="module")
def reference(geography: Geography) -> operations.Reference:
    """The contract's operations in-process, on the real geodata and rulings (no commune index)."""
    return operations.Reference(geography, load_catalogue())
