"""Live tier: TensorFlow's own readers on the same corrupted files nanotf's readers face.

This records, it does not judge TensorFlow: the assertions are that every
case ran through both, and that nanotf kept its rules on the very same files
(report.py prints the side-by-side table for RELIABILITY.md).
"""

import tf_campaign

CASES = 8  # per target and mode


def test_tensorflow_and_nanotf_on_the_same_corrupted_files(tmp_path, tf_runner):
    cases, rows = tf_campaign.write_cases(tmp_path, CASES, seed=6)
    tf_campaign.run_tensorflow(tf_runner.python, cases, rows, tmp_path)
    print("\n" + tf_campaign.table(rows))
    for row in rows:
        assert sum(row.tf.values()) == sum(row.nanotf.values()) == CASES, (row.target, row.mode)
        assert row.nanotf["crash"] + row.nanotf["hang"] == 0, (row.target, row.mode)
