"""glibc's logf, sincosf, log and sincos, reproduced bit for bit in NumPy.

TensorFlow's Box-Muller transform calls the C library's logarithm and sine/
cosine, which are not correctly rounded, so NumPy's own functions give other
last bits for about 1.5% of float32 normals. These functions follow glibc's
algorithms (its tables and coefficients are the facts used here) so nanotf's
random normals are TensorFlow's on Linux. Results within a hair of a rounding
tie are handed to the real libm through ctypes when it is glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import platform

import numpy as np

# --- glibc's logf and sincosf ------------------------------------------------------
# Both compute in double and round once to float. Below are the facts of
# glibc >= 2.28 (sysdeps/ieee754/flt-32: e_logf.c, s_sincosf.c): its tables,
# polynomial coefficients and reductions. Its x86-64 build may contract a*b+c
# into FMA, which moves the double result by a few ulps; only results that
# close to a float rounding tie can differ, and those go to the real libm.

# logf: x = 2^k * z with z in [0x3f330000, 2 * 0x3f330000) as float bits; the
# 16 sub-intervals of z (4 mantissa bits) each have c near their centre, with
# (1/c, log c), and log x = log1p(z/c - 1) + log c + k log 2.
_LOGF_OFFSET = np.uint32(0x3F330000)
_LOGF_INV_C = np.array([float.fromhex(h) for h in (
    "0x1.661ec79f8f3bep+0", "0x1.571ed4aaf883dp+0", "0x1.49539f0f010bp+0", "0x1.3c995b0b80385p+0",
    "0x1.30d190c8864a5p+0", "0x1.25e227b0b8eap+0", "0x1.1bb4a4a1a343fp+0", "0x1.12358f08ae5bap+0",
    "0x1.0953f419900a7p+0", "0x1p+0", "0x1.e608cfd9a47acp-1", "0x1.ca4b31f026aap-1",
    "0x1.b2036576afce6p-1", "0x1.9c2d163a1aa2dp-1", "0x1.886e6037841edp-1", "0x1.767dcf5534862p-1",
)])
_LOGF_LOG_C = np.array([float.fromhex(h) for h in (
    "-0x1.57bf7808caadep-2", "-0x1.2bef0a7c06ddbp-2", "-0x1.01eae7f513a67p-2", "-0x1.b31d8a68224e9p-3",
    "-0x1.6574f0ac07758p-3", "-0x1.1aa2bc79c81p-3", "-0x1.a4e76ce8c0e5ep-4", "-0x1.1973c5a611cccp-4",
    "-0x1.252f438e10c1ep-5", "0x0p+0", "0x1.aa5aa5df25984p-5", "0x1.c5e53aa362eb4p-4",
    "0x1.526e57720db08p-3", "0x1.bc2860d22477p-3", "0x1.1058bc8a07ee1p-2", "0x1.4043057b6ee09p-2",
)])
_LOGF_LN2 = float.fromhex("0x1.62e42fefa39efp-1")
_LOGF_POLY = tuple(float.fromhex(h) for h in ("-0x1.00ea348b88334p-2", "0x1.5575b0be00b6ap-2", "-0x1.ffffef20a4123p-2"))

# sincosf for |x| < 120: n = round(x * 2/pi), r = x - n*pi/2 in [-pi/4, pi/4],
# then sin/cos polynomials in r chosen and signed by the quadrant n.
_SINCOSF_HPI_INV = float.fromhex("0x1.45F306DC9C883p+23")  # 2/pi * 2^24: the quadrant lands in bits 24..31
_SINCOSF_HPI = float.fromhex("0x1.921FB54442D18p0")  # 50 significant bits, so n * hpi is exact
_SINCOSF_COS = tuple(float.fromhex(h) for h in (
    "0x1p0", "-0x1.ffffffd0c621cp-2", "0x1.55553e1068f19p-5", "-0x1.6c087e89a359dp-10", "0x1.99343027bf8c3p-16",
))
_SINCOSF_SIN = tuple(float.fromhex(h) for h in (
    "-0x1.555545995a603p-3", "0x1.1107605230bc4p-7", "-0x1.994eb3774cf24p-13",
))
_TOP12_PIO4 = 0x3F4  # (float bits >> 20) of pi/4: below it, no reduction
_TOP12_TINY = 0x398  # same for 2^-12: below it sin x = x, cos x = 1
# A double result this close (relative to its size) to a float tie may round
# either way in glibc, depending on FMA contraction: ~100x the evaluation error.
_FLOAT_TIE_SLACK = 2.0**-46


@functools.cache
def _glibc_libm():
    """The process's libm if it is glibc's (what TF on Linux calls), else None."""
    if platform.libc_ver()[0] != "glibc":
        return None
    try:
        libm = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
    except OSError:
        return None
    libm.logf.argtypes, libm.logf.restype = [ctypes.c_float], ctypes.c_float
    libm.log.argtypes, libm.log.restype = [ctypes.c_double], ctypes.c_double
    libm.sincosf.argtypes = [ctypes.c_float, ctypes.POINTER(ctypes.c_float), ctypes.POINTER(ctypes.c_float)]
    libm.sincos.argtypes = [ctypes.c_double, ctypes.POINTER(ctypes.c_double), ctypes.POINTER(ctypes.c_double)]
    libm.sincosf.restype = libm.sincos.restype = None
    return libm


def _near_float32_tie(y: np.ndarray, slack: np.ndarray) -> np.ndarray:
    """Where double `y` lies within `slack` of a midpoint between two floats."""
    below = y.astype(np.float32)
    below = np.where(below.astype(np.float64) > y, np.nextafter(below, np.float32(-np.inf)), below)
    above = np.nextafter(below, np.float32(np.inf))
    midpoint = (below.astype(np.float64) + above.astype(np.float64)) * 0.5
    return np.abs(y - midpoint) < slack


def logf(x: np.ndarray) -> np.ndarray:
    """glibc's `logf` of positive, normal, finite float32 values."""
    ix = x.view(np.uint32)
    tmp = ix - _LOGF_OFFSET
    i = (tmp >> np.uint32(19)) & np.uint32(15)
    k = tmp.view(np.int32) >> 23
    z = (ix - (tmp & np.uint32(0x1FF << 23))).view(np.float32).astype(np.float64)
    r = z * _LOGF_INV_C[i] - 1.0
    y0 = _LOGF_LOG_C[i] + k * _LOGF_LN2
    r2 = r * r
    a0, a1, a2 = _LOGF_POLY
    y = (a0 * r2 + (a1 * r + a2)) * r2 + (y0 + r)
    result = y.astype(np.float32)
    libm = _glibc_libm()
    if libm is not None:
        ask = np.flatnonzero(_near_float32_tie(y, _FLOAT_TIE_SLACK * (1.0 + np.abs(y0))))
        result[ask] = [libm.logf(value) for value in x[ask].tolist()]
    return result


def _sincos_poly(r: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """sin and cos of x = r + n*pi/2 from the reduced argument r (double)."""
    # Same association as glibc, so the double results agree to the last bit
    # unless glibc fused a multiply-add.
    c0, c1, c2, c3, c4 = _SINCOSF_COS
    s1, s2, s3 = _SINCOSF_SIN
    r2 = r * r
    r3 = r2 * r
    r4 = r2 * r2
    sin_r = (r + r3 * s1) + (r3 * r2) * (s2 + r2 * s3)
    cos_r = ((c0 + r2 * c1) + r4 * c2) + (r4 * r2) * (c3 + r2 * c4)
    # Quadrant n: sin x = (sin r, cos r, -sin r, -cos r)[n % 4], cos x shifted by one.
    odd = (n & 1).astype(bool)
    flip_sin = np.where((n & 2).astype(bool), -1.0, 1.0)
    flip_cos = np.where(((n + 1) & 2).astype(bool), -1.0, 1.0)
    return np.where(odd, cos_r, sin_r) * flip_sin, np.where(odd, sin_r, cos_r) * flip_cos


def sincosf(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """glibc's `sincosf` of float32 values in [0, 120)."""
    top = (x.view(np.uint32) >> np.uint32(20)) & np.uint32(0x7FF)
    xd = x.astype(np.float64)
    n = ((xd * _SINCOSF_HPI_INV).astype(np.int32) + 0x800000) >> 24
    n = np.where(top < _TOP12_PIO4, 0, n)
    s, c = _sincos_poly(xd - n * _SINCOSF_HPI, n)
    sin, cos = s.astype(np.float32), c.astype(np.float32)
    tiny = top < _TOP12_TINY
    sin[tiny], cos[tiny] = x[tiny], np.float32(1.0)
    libm = _glibc_libm()
    if libm is not None:
        near = _near_float32_tie(s, _FLOAT_TIE_SLACK * np.abs(s)) | _near_float32_tie(c, _FLOAT_TIE_SLACK * np.abs(c))
        out_sin, out_cos = ctypes.c_float(), ctypes.c_float()
        sin_ptr, cos_ptr = ctypes.byref(out_sin), ctypes.byref(out_cos)
        ask = np.flatnonzero(near & ~tiny)
        for j, value in zip(ask, x[ask].tolist()):
            libm.sincosf(value, sin_ptr, cos_ptr)
            sin[j], cos[j] = out_sin.value, out_cos.value
    return sin, cos


# --- glibc's log and sincos (double) ------------------------------------------------
# Too table-heavy to re-derive; instead round an extended-precision value and
# let libm decide the results whose distance to a double rounding tie is below
# glibc's worst-case error (0.52 ulp for log, ~0.55 for sin/cos).
_DOUBLE_TIE_BAND = 1.0 / 16  # in units of the gap between adjacent doubles
_EXTENDED = np.longdouble if np.finfo(np.longdouble).nmant >= 63 else None


def _near_float64_tie(t: np.ndarray) -> np.ndarray:
    """Where extended `t` is within `_DOUBLE_TIE_BAND` gaps of a double rounding tie."""
    below = t.astype(np.float64)
    below = np.where(below.astype(t.dtype) > t, np.nextafter(below, -np.inf), below)
    above = np.nextafter(below, np.inf)
    gap = above.astype(t.dtype) - below.astype(t.dtype)
    return np.abs(t - below.astype(t.dtype) - gap / 2) < _DOUBLE_TIE_BAND * gap


def log(x: np.ndarray) -> np.ndarray:
    """glibc's `log` of positive finite doubles."""
    libm = _glibc_libm()
    if _EXTENDED is None:
        return np.array([libm.log(v) for v in x.tolist()]) if libm is not None else np.log(x)
    t = np.log(x.astype(_EXTENDED))
    result = t.astype(np.float64)
    if libm is not None:
        ask = np.flatnonzero(_near_float64_tie(t))
        result[ask] = [libm.log(value) for value in x[ask].tolist()]
    return result


def sincos(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """glibc's `sincos` of finite doubles."""
    libm = _glibc_libm()
    if _EXTENDED is None:
        sin, cos = np.sin(x), np.cos(x)
        ask = np.arange(x.size) if libm is not None else np.arange(0)
    else:
        precise_sin, precise_cos = np.sin(x.astype(_EXTENDED)), np.cos(x.astype(_EXTENDED))
        sin, cos = precise_sin.astype(np.float64), precise_cos.astype(np.float64)
        near = _near_float64_tie(precise_sin) | _near_float64_tie(precise_cos)
        ask = np.flatnonzero(near) if libm is not None else np.arange(0)
    out_sin, out_cos = ctypes.c_double(), ctypes.c_double()
    sin_ptr, cos_ptr = ctypes.byref(out_sin), ctypes.byref(out_cos)
    for j, value in zip(ask, x[ask].tolist()):
        libm.sincos(value, sin_ptr, cos_ptr)
        sin[j], cos[j] = out_sin.value, out_cos.value
    return sin, cos
