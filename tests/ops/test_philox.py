"""The Philox random kernels against numbers real TensorFlow 2.21 (CPU) produced.

EXPECTED holds, per case, the output's raw little-endian bytes: in hex when
they fit in 32 bytes, otherwise as a SHA-256. The live test at the bottom runs
`_TF_SNIPPET` under TensorFlow, which recomputes every entry and fails on any
drift; to regenerate the table, paste the JSON that snippet prints.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import math

import ml_dtypes
import numpy as np
import pytest

from nanotf import errors
from nanotf.ops import libm as nanotf_libm
from nanotf.ops import philox

SEED = philox.DEFAULT_GRAPH_SEED  # what tf.random_*(seed=s) pairs with s when no graph seed is set

# name: (op type, shape, dtype, seed, seed2, run, (minval, maxval) or None).
# `run` r is the r+1-th execution of the same op in one session. Sizes cross
# the 4-value group (1, 3, 4, 5), its 2-value float64 twin, and odd large ones.
KERNEL_CASES = {
    "uniform_f32_1": ("RandomUniform", [1], "float32", 1, 2, 0, None),
    "uniform_f32_3": ("RandomUniform", [3], "float32", 1, 2, 0, None),
    "uniform_f32_4": ("RandomUniform", [4], "float32", 1, 2, 0, None),
    "uniform_f32_5": ("RandomUniform", [5], "float32", 1, 2, 0, None),
    "uniform_f32_1000": ("RandomUniform", [1000], "float32", 1, 2, 0, None),
    "uniform_f32_4099": ("RandomUniform", [4099], "float32", 1, 2, 0, None),
    "uniform_f32_2d": ("RandomUniform", [7, 3], "float32", SEED, 3, 0, None),
    "uniform_f64_3": ("RandomUniform", [3], "float64", SEED, 1, 0, None),
    "uniform_f64_4099": ("RandomUniform", [4099], "float64", SEED, 1, 0, None),
    "uniform_f16_7": ("RandomUniform", [7], "float16", SEED, 1, 0, None),
    "uniform_bf16_7": ("RandomUniform", [7], "bfloat16", SEED, 1, 0, None),
    "uniform_negative_seed": ("RandomUniform", [5], "float32", -5, 123456789012, 0, None),
    "uniform_huge_seeds": ("RandomUniform", [5], "float32", 2**62 + 12345, -(2**40), 0, None),
    "uniform_seed2_only": ("RandomUniform", [5], "float32", 0, 7, 0, None),
    "uniform_run2": ("RandomUniform", [5], "float32", 1, 2, 2, None),
    "normal_f32_2": ("RandomStandardNormal", [2], "float32", SEED, 1, 0, None),
    "normal_f32_5": ("RandomStandardNormal", [5], "float32", SEED, 1, 0, None),
    "normal_f32_1000": ("RandomStandardNormal", [1000], "float32", SEED, 1, 0, None),
    "normal_f32_4099": ("RandomStandardNormal", [4099], "float32", 7, 9, 0, None),
    "normal_f32_100k": ("RandomStandardNormal", [100, 1000], "float32", 11, 12, 0, None),
    "normal_f64_1": ("RandomStandardNormal", [1], "float64", SEED, 1, 0, None),
    "normal_f64_3": ("RandomStandardNormal", [3], "float64", SEED, 1, 0, None),
    "normal_f64_4099": ("RandomStandardNormal", [4099], "float64", 3, 4, 0, None),
    "normal_f16_9": ("RandomStandardNormal", [9], "float16", SEED, 1, 0, None),
    "normal_bf16_9": ("RandomStandardNormal", [9], "bfloat16", SEED, 1, 0, None),
    "normal_run1": ("RandomStandardNormal", [5], "float32", 1, 2, 1, None),
    "normal_run2": ("RandomStandardNormal", [5], "float32", 1, 2, 2, None),
    "truncated_f32_1": ("TruncatedNormal", [1], "float32", SEED, 2, 0, None),
    "truncated_f32_5": ("TruncatedNormal", [5], "float32", SEED, 2, 0, None),
    "truncated_f32_4099": ("TruncatedNormal", [4099], "float32", SEED, 2, 0, None),
    "truncated_f32_100k": ("TruncatedNormal", [100000], "float32", 5, 6, 0, None),
    "truncated_f64_3": ("TruncatedNormal", [3], "float64", SEED, 2, 0, None),
    "truncated_f64_4099": ("TruncatedNormal", [4099], "float64", SEED, 2, 0, None),
    "truncated_f16_33": ("TruncatedNormal", [33], "float16", SEED, 2, 0, None),
    "truncated_bf16_33": ("TruncatedNormal", [33], "bfloat16", SEED, 2, 0, None),
    "truncated_run1": ("TruncatedNormal", [6], "float32", 1, 2, 1, None),
    "int32_small_range": ("RandomUniformInt", [1000], "int32", 3, 4, 0, (-7, 3)),
    "int32_full_range": ("RandomUniformInt", [5], "int32", 3, 4, 0, (-(2**31), 2**31 - 1)),
    "int32_single_value": ("RandomUniformInt", [3], "int32", 3, 4, 0, (5, 6)),
    "int64_small_range": ("RandomUniformInt", [4099], "int64", 3, 4, 0, (0, 10)),
    "int64_full_range": ("RandomUniformInt", [3], "int64", 3, 4, 0, (-(2**63), 2**63 - 1)),
    "int_run1": ("RandomUniformInt", [3], "int32", 1, 2, 1, (0, 100)),
}

# The Python-level APIs: TF's expression, and how nanotf's graph composes the
# same result from the kernel (float32 arithmetic, in TF's op order).
_F = np.float32
GLOROT_LIMIT = math.sqrt(3.0 / ((30 + 40) / 2.0))
COMPOSED_CASES = {
    "random_normal_mean_stddev": (
        "tf.random_normal([4099], mean=1.5, stddev=0.3, seed=1)",
        lambda: philox.random_standard_normal([4099], "float32", SEED, 1) * _F(0.3) + _F(1.5),
    ),
    "truncated_normal_mean_stddev": (
        "tf.truncated_normal([1000], 0.5, 0.1, seed=2)",
        lambda: philox.truncated_normal([1000], "float32", SEED, 2) * _F(0.1) + _F(0.5),
    ),
    "random_uniform_min_max": (
        "tf.random_uniform([4099], -0.25, 0.75, seed=3)",
        lambda: philox.random_uniform([4099], "float32", SEED, 3) * (_F(0.75) - _F(-0.25)) + _F(-0.25),
    ),
    "random_uniform_int_max": (
        "tf.random_uniform([1000], 0, 5, seed=4)",
        lambda: philox.random_uniform([1000], "float32", SEED, 4) * _F(5),
    ),
    "glorot_uniform": (
        "tf.glorot_uniform_initializer(seed=5)([30, 40])",
        lambda: (
            philox.random_uniform([30, 40], "float32", SEED, 5) * (_F(GLOROT_LIMIT) - _F(-GLOROT_LIMIT))
            + _F(-GLOROT_LIMIT)
        ),
    ),
}

EXPECTED = {
    "glorot_uniform": "sha256:23787666f6fb1c414ec5d3a4458d7698dc816cd1c618847fe5566346f63ebf6f",
    "int32_full_range": "013df6f6446aaf0d915e798b1a6de81d6f104546",
    "int32_single_value": "050000000500000005000000",
    "int32_small_range": "sha256:44ec4ea140a1027e9b5f19dc17a769823c5a804fd2e9a1c4b2ba8b6a32c208c1",
    "int64_full_range": "013df676446aaf0d915e790b1a6de81d6f1045c67cc3faf4",
    "int64_small_range": "sha256:669b0da2aadb6ac9cab881cede6113880e5b40a55d982b2ce03f3a203fcb746d",
    "int_run1": "430000003b00000022000000",
    "normal_bf16_9": "50bfbe3f863d1cc0cb3d173f183f08c039bf",
    "normal_f16_9": "7ebaf03d2e2ce3c05a2ebb38be383fc0c8b9",
    "normal_f32_1000": "sha256:7c4149846cbc89e755e50eff425e161b523e14d323d996232bf77fdae8570373",
    "normal_f32_100k": "sha256:da1acb6ca81f4e58c185811fcaf42669f10698575476afa652aacc6eadb61aed",
    "normal_f32_2": "8db24fbf5507be3f",
    "normal_f32_4099": "sha256:7a7fc1f7447a768c586ddafa1e74177cc4ea6f6633acb58244b1320957b7e0ac",
    "normal_f32_5": "8db24fbf5507be3f68cb853d44551cc0bf42cb3d",
    "normal_f64_1": "48704918f914cf3f",
    "normal_f64_3": "48704918f914cf3f680795d68597d6bf4f8fe9fcabc4eabf",
    "normal_f64_4099": "sha256:8af0d999b55a1c51679d6f6b89ff6423b930b92d9d4a6861e77c884a37f1ab73",
    "normal_run1": "02be9a3fc41abebf9cba21be54fb89be6d5c00bf",
    "normal_run2": "d2265839f7f1abbf9ba3b53e4d0b1abfb1bc89be",
    "random_normal_mean_stddev": "sha256:39d4373e98677243ed82062817d8f58a7442a43bea1c459ebf81118e78516f51",
    "random_uniform_int_max": "sha256:dd5cf71ba966ab96dd46d8aba87c50ad1c622e4ffe2a2d0a40dd0969112d0e99",
    "random_uniform_min_max": "sha256:3f826d538e2f9a16390d47591c88680ad1080c1de63afdb3ff8aac001088662e",
    "truncated_bf16_33": "sha256:158f2d7f3f9ecf300567fab84a8e5defa4116b669b0a6eadde9312d3c888d894",
    "truncated_f16_33": "sha256:eced6265613bddc92c46ec119e14d1b87ffcb695899c51ccca796044af6d8c3c",
    "truncated_f32_1": "27ad5bbf",
    "truncated_f32_100k": "sha256:9111751fb9d84aefcce02214347456e346611245bb2cf66ce1bcb6f473461d68",
    "truncated_f32_4099": "sha256:94e184a6e78b198e43f037c3bb8fb8425d70672aad1e26dad0a3dc62da08468c",
    "truncated_f32_5": "27ad5bbf895749be07490e3ecc529cbffaeb54be",
    "truncated_f64_3": "a51aed5718c2f4bf10ac544ba7d4b13f58b5926f72e4f33f",
    "truncated_f64_4099": "sha256:bdbc2d4ced651d178f9519a35d3be0bae8c80faf9c8bc1c6058fd907ebae33ef",
    "truncated_normal_mean_stddev": "sha256:0dc15900af9cbf94f12743e7acb5dafa0323e93c2b9996e48b5e26986f336799",
    "truncated_run1": "3c17e83e45388b3fd589983f4872ba3e0b0c73bfe049613f",
    "uniform_bf16_7": "0e3f9c3ec43ee03d4a3f443f143f",
    "uniform_f16_7": "38324e3b623a7030ca38c43a943a",
    "uniform_f32_1": "3c13d03e",
    "uniform_f32_1000": "sha256:da7f817e310a5ce885967590d63fe05abe6632ffd478939f2167f29bd75f3411",
    "uniform_f32_2d": "sha256:3d182ebf5856a2a92d52454b0abb5934213dc4004007d7526ca1ced1712a8c13",
    "uniform_f32_3": "3c13d03ea68b5b3fc0e6623d",
    "uniform_f32_4": "3c13d03ea68b5b3fc0e6623dd0ddaf3d",
    "uniform_f32_4099": "sha256:5751de062dc5200d47608108830c18d987da1e9e263d93c07fd3068cbad86827",
    "uniform_f32_5": "3c13d03ea68b5b3fc0e6623dd0ddaf3dcc05d33e",
    "uniform_f64_3": "4e9feb9b8f31ed3f38d2fd30c5dcd93fc4c60689cbe4e53f",
    "uniform_f64_4099": "sha256:9e80635d0e12740c67121e7fd7c508500e509288c927f6bf822709d30944c66a",
    "uniform_huge_seeds": "f65a033f20152a3f0c9f053f00984d3d24879b3e",
    "uniform_negative_seed": "b419823e4c2b083fe4fdff3ee419693fee1b593f",
    "uniform_run2": "c8b1cf3eccfcff3e2094483f3097d43e38fb603f",
    "uniform_seed2_only": "bab7783f824a383fe6a33f3fc4a2f13e9ac26d3f",
}
EXPECTED_NORMAL_SEED_1 = [-0.8113182187080383, 1.4845987558364868]


def _digest(values: np.ndarray) -> str:
    raw = np.ascontiguousarray(values).tobytes()
    return raw.hex() if len(raw) <= 32 else "sha256:" + hashlib.sha256(raw).hexdigest()


def _run_kernel(op, shape, dtype, seed, seed2, run, bounds):
    skip = run * philox.reserved_blocks(math.prod(shape))
    if op == "RandomUniformInt":
        return philox.random_uniform_int(shape, *bounds, dtype, seed, seed2, skip=skip)
    kernel = {
        "RandomUniform": philox.random_uniform,
        "RandomStandardNormal": philox.random_standard_normal,
        "TruncatedNormal": philox.truncated_normal,
    }[op]
    return kernel(shape, dtype, seed, seed2, skip=skip)


_NUMPY_TYPES = {
    "float16": np.float16,
    "bfloat16": ml_dtypes.bfloat16,
    "float32": np.float32,
    "float64": np.float64,
    "int32": np.int32,
    "int64": np.int64,
}


@pytest.mark.parametrize("name", sorted(KERNEL_CASES))
def test_kernel_matches_tensorflow(name):
    _, shape, dtype, *_ = KERNEL_CASES[name]
    values = _run_kernel(*KERNEL_CASES[name])
    assert values.dtype == _NUMPY_TYPES[dtype]
    assert values.shape == tuple(shape)
    assert _digest(values) == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(COMPOSED_CASES))
def test_composed_api_matches_tensorflow(name):
    values = COMPOSED_CASES[name][1]()
    assert values.dtype == np.float32
    assert _digest(values) == EXPECTED[name]


def test_random_normal_seed_1_values():
    # tf.random_normal([2], seed=1) in a fresh graph, as exact float32 values.
    values = philox.random_standard_normal([2], "float32", SEED, 1)
    assert values.tolist() == EXPECTED_NORMAL_SEED_1


# --- Philox itself ---------------------------------------------------------------


@pytest.mark.parametrize(
    "counter, key, expected",
    [
        # Known-answer vectors of the Random123 reference implementation.
        ([0, 0, 0, 0], (0, 0), [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]),
        ([0xFFFFFFFF] * 4, (0xFFFFFFFF, 0xFFFFFFFF), [0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD]),
        (
            [0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344],
            (0xA4093822, 0x299F31D0),
            [0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1],
        ),
    ],
)
def test_philox_known_answers(counter, key, expected):
    out = philox.philox4x32(np.array([counter], dtype=np.uint32), key)
    assert out.dtype == np.uint32
    assert out[0].tolist() == expected


def test_skip_continues_the_stream():
    whole = philox.random_bits(1, 2, 10)
    assert np.array_equal(philox.random_bits(1, 2, 4, skip=6), whole[6:])


def test_counter_carries_into_seed2_half():
    # Counter 2**64 - 1 under seed2 = 5 is followed by the low half 0, seed2 6.
    across = philox.random_bits(1, 5, 2, skip=2**64 - 1)
    assert np.array_equal(across[1], philox.random_bits(1, 6, 1)[0])


def test_reserved_blocks_is_256_per_element():
    assert philox.reserved_blocks(0) == 0
    assert philox.reserved_blocks(5) == 1280


# --- seeds -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "graph_seed, op_seed, op_count, expected",
    [
        # All observed on TF 2.21 graphs (random_seed.get_seed).
        (None, None, 0, (None, None)),
        (None, 1, 0, (87654321, 1)),
        (None, 2**40, 0, (87654321, 512)),
        (5, None, 0, (5, 0)),
        (5, None, 3, (5, 3)),
        (5, 7, 9, (5, 7)),
        (-3, 2**40, 0, (2147483644, 512)),
        (0, 0, 0, (0, 2147483647)),
        (0, None, 0, (0, 2147483647)),
        (2**31 - 1, None, 0, (0, 2147483647)),
    ],
)
def test_op_seeds(graph_seed, op_seed, op_count, expected):
    assert philox.op_seeds(graph_seed, op_seed, op_count) == expected


def test_unseeded_ops_are_nondeterministic():
    first = philox.random_uniform([8], "float32", 0, 0)
    second = philox.random_uniform([8], "float32", 0, 0)
    assert not np.array_equal(first, second)


def test_resolve_seeds_keeps_given_seeds():
    assert philox.resolve_seeds(0, 3) == (0, 3)
    assert philox.resolve_seeds(4, 0) == (4, 0)


# --- contracts -------------------------------------------------------------------


def test_empty_and_scalar_shapes():
    assert philox.random_standard_normal([0, 3], "float32", 1, 2).shape == (0, 3)
    assert philox.truncated_normal([0], "float64", 1, 2).shape == (0,)
    scalar = philox.random_uniform([], "float32", 1, 2)
    assert scalar.shape == () and scalar == philox.random_uniform([1], "float32", 1, 2)[0]


def test_dtype_spellings_agree():
    reference = philox.random_uniform([5], "float32", 1, 2)
    for spelling in (np.float32, np.dtype("float32"), "float"):
        assert np.array_equal(philox.random_uniform([5], spelling, 1, 2), reference)


def test_uniform_int_needs_min_below_max():
    with pytest.raises(errors.InvalidArgumentError, match="Need minval < maxval, got 3 >= 3"):
        philox.random_uniform_int([2], 3, 3, "int32", 1, 2)


def test_float_kernels_reject_integer_dtypes():
    with pytest.raises(errors.InvalidArgumentError, match="int32"):
        philox.random_standard_normal([2], "int32", 1, 2)


def test_truncated_values_stay_inside_two_stddev():
    values = philox.truncated_normal([20000], "float32", 3, 4)
    assert np.abs(values).max() < 2.0
    assert abs(float(values.std()) - 0.8796) < 0.02  # the std of N(0, 1) cut at +-2


def test_glibc_float_emulation_matches_the_c_library(monkeypatch):
    # Box-Muller's float32 logf/sincosf, evaluated in NumPy alone, against the
    # C library itself where it is glibc's (TF's own on Linux). Development
    # checked every input the kernels can produce (2**23 each); this samples.
    libm = nanotf_libm._glibc_libm()
    if libm is None:
        pytest.skip("needs glibc's libm")
    monkeypatch.setattr(nanotf_libm, "_glibc_libm", lambda: None)  # no fallback to libm
    rng = np.random.default_rng(0)
    u = np.maximum(rng.integers(0, 2**23, 4000).astype(np.float32) * _F(2.0**-23), _F(1e-7))
    angle = (2 * math.pi * rng.random(4000)).astype(np.float32)
    logs = nanotf_libm.logf(u)
    sin, cos = nanotf_libm.sincosf(angle)
    assert [libm.logf(x) for x in u.tolist()] == logs.tolist()
    out_sin, out_cos = ctypes.c_float(), ctypes.c_float()
    for x, s, c in zip(angle.tolist(), sin.tolist(), cos.tolist()):
        libm.sincosf(x, ctypes.byref(out_sin), ctypes.byref(out_cos))
        assert (out_sin.value, out_cos.value) == (s, c)


# --- live: TensorFlow itself -----------------------------------------------------

_TF_SNIPPET = """
import hashlib, json, math
import numpy as np
from tensorflow.python.ops import gen_random_ops

def digest(values):
    raw = np.ascontiguousarray(values).tobytes()
    return raw.hex() if len(raw) <= 32 else "sha256:" + hashlib.sha256(raw).hexdigest()

kernel_cases = json.loads({kernel_cases!r})
composed = json.loads({composed!r})
out = {{}}
for name, (op, shape, dtype, seed, seed2, run, bounds) in kernel_cases.items():
    with tf.Graph().as_default():
        dt = tf.as_dtype(dtype)
        if op == "RandomUniformInt":
            t = gen_random_ops.random_uniform_int(
                shape, tf.constant(bounds[0], dt), tf.constant(bounds[1], dt), seed=seed, seed2=seed2)
        else:
            make = {{"RandomUniform": gen_random_ops.random_uniform,
                     "RandomStandardNormal": gen_random_ops.random_standard_normal,
                     "TruncatedNormal": gen_random_ops.truncated_normal}}[op]
            t = make(shape, dt, seed=seed, seed2=seed2)
        with tf.Session() as sess:
            for _ in range(run + 1):
                value = sess.run(t)
        out[name] = digest(value)
for name, expression in composed.items():
    with tf.Graph().as_default():
        t = eval(expression)
        with tf.Session() as sess:
            out[name] = digest(sess.run(t))
with tf.Graph().as_default():
    t = tf.random_normal([2], seed=1)
    with tf.Session() as sess:
        out["normal_seed_1_values"] = [float(v) for v in sess.run(t)]
print(json.dumps(out))
"""


@pytest.mark.live
def test_live_tensorflow_agrees_with_the_table(tf_runner):
    composed = {name: expression for name, (expression, _) in COMPOSED_CASES.items()}
    code = _TF_SNIPPET.format(kernel_cases=json.dumps(KERNEL_CASES), composed=json.dumps(composed))
    live = tf_runner.run_json(code)
    assert live.pop("normal_seed_1_values") == EXPECTED_NORMAL_SEED_1
    assert live == EXPECTED


@pytest.mark.live
def test_live_large_tensors(tf_runner):
    # Bigger than the table can hold: a million normals and truncated normals.
    live = tf_runner.run_json(
        """
        import hashlib, json
        from tensorflow.python.ops import gen_random_ops as g
        ts = [g.random_standard_normal([1000, 1000], tf.float32, seed=21, seed2=22),
              g.truncated_normal([1000, 1000], tf.float32, seed=23, seed2=24),
              g.random_standard_normal([250000], tf.float64, seed=25, seed2=26)]
        with tf.Session() as sess:
            values = sess.run(ts)
        print(json.dumps([hashlib.sha256(v.tobytes()).hexdigest() for v in values]))
        """
    )
    ours = [
        philox.random_standard_normal([1000, 1000], "float32", 21, 22),
        philox.truncated_normal([1000, 1000], "float32", 23, 24),
        philox.random_standard_normal([250000], "float64", 25, 26),
    ]
    assert [hashlib.sha256(v.tobytes()).hexdigest() for v in ours] == live
