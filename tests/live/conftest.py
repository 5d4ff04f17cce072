from pathlib import Path

import pytest

_HERE = Path(__file__).parent


def pytest_collection_modifyitems(items):
    # Everything under tests/live runs real TensorFlow; mark it so `-m live` selects it.
    for item in items:
        if _HERE in Path(item.fspath).parents:
            item.add_marker(pytest.mark.live)
