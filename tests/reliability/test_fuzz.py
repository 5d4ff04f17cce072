"""Fixed-seed mutational fuzzing of every reader (see fuzzlib.py for the modes and outcomes).

Every case must end in the exact values or a typed nanotf error; ``changed``
values are accepted only where no checksum covers the mutated bytes.
fuzz_long.py runs the same campaign (and a coverage-guided one) for longer.
"""

import pytest

import fuzzlib

CASES = 15  # per target and mode: ~500 cases in all
SEED = 6


@pytest.mark.parametrize("target", fuzzlib.TARGETS, ids=lambda t: t.name)
def test_mutated_files_give_exact_values_or_typed_errors(tmp_path, target):
    for mode in fuzzlib.modes_of(target):
        result = fuzzlib.run_target(target, mode, CASES, SEED, tmp_path)
        assert result.failures == []
        assert sum(result.counts.values()) == CASES
