"""Which native CRC-32C package nanotf uses: the PyPI candidates, measured.

    pip install crc32c google-crc32c anycrc && python bench/crc32c_candidates.py

Random bytes in memory; 50 calls on 1 MiB, one call on 256 MiB, 100k calls on
16 bytes (the per-call overhead that small tensors and table blocks pay).
Median of 7 rounds, candidates alternating within each round.
"""

from __future__ import annotations

import statistics
import time

import numpy as np


def candidates() -> dict:
    found = {}
    try:
        import crc32c

        found["crc32c"] = crc32c.crc32c
    except ImportError:
        pass
    try:
        import google_crc32c

        found["google-crc32c"] = google_crc32c.value
    except ImportError:
        pass
    try:
        import anycrc

        found["anycrc"] = anycrc.Model("CRC32C").calc
    except ImportError:
        pass
    return found


def main() -> None:
    big = np.random.default_rng(0).integers(0, 256, 256 << 20, dtype=np.uint8).tobytes()
    mib = big[: 1 << 20]
    small = [big[i * 16 : (i + 1) * 16] for i in range(100_000)]
    funcs = candidates()
    assert len({f(mib) for f in funcs.values()}) == 1, "candidates disagree"
    times: dict[str, dict[str, list[float]]] = {k: {"1MiB": [], "256MiB": [], "16B": []} for k in funcs}
    for _ in range(7):
        for name, f in funcs.items():
            t = time.perf_counter()
            for _ in range(50):
                f(mib)
            times[name]["1MiB"].append((time.perf_counter() - t) / 50)
            t = time.perf_counter()
            f(big)
            times[name]["256MiB"].append(time.perf_counter() - t)
            t = time.perf_counter()
            for s in small:
                f(s)
            times[name]["16B"].append((time.perf_counter() - t) / len(small))
    for name, r in times.items():
        m1, m256, ms = (statistics.median(r[k]) for k in ("1MiB", "256MiB", "16B"))
        print(f"{name:14s} 1 MiB {m1 * 1e6:7.1f} us ({(1 << 20) / m1 / 1e9:5.1f} GB/s)  "
              f"256 MiB {m256 * 1e3:6.1f} ms ({(256 << 20) / m256 / 1e9:5.1f} GB/s)  16 B call {ms * 1e9:5.0f} ns")


if __name__ == "__main__":
    main()
