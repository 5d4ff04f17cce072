"""The seed tutorials run with only the import changed, and print what TensorFlow prints.

Each program runs as subprocesses (one per "session") in a temporary directory;
see seed_programs.py. The live tier (tests/live/test_saver_live.py) runs the
same programs under TensorFlow and compares.
"""

import ast
import subprocess
import sys

import pytest

from seed_programs import EXPECTED, PROGRAMS, steps


def run_steps(program: list, cwd) -> str:
    out = []
    for source in program:
        proc = subprocess.run([sys.executable, "-c", source], cwd=cwd, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr[-3000:]
        out.append(proc.stdout)
    return "".join(out)


@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED.items() if e is not None))
def test_seed_program_prints_what_tensorflow_prints(name, tmp_path):
    assert run_steps(steps(name), tmp_path) == EXPECTED[name]


def test_random_variables_restored_by_name_in_a_new_process(tmp_path):
    saved, restored, variables = run_steps(steps("restore_w1"), tmp_path).splitlines()
    assert ast.literal_eval(saved) == ast.literal_eval(restored)
    assert len(ast.literal_eval(saved)) == 2
    assert variables == "[<tf.Variable 'w1:0' shape=(2,) dtype=float32_ref>, <tf.Variable 'w2:0' shape=(5,) dtype=float32_ref>]"


def test_every_program_has_an_expectation():
    assert set(PROGRAMS) == set(EXPECTED)
