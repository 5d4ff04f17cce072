import mmap

import numpy as np
import pytest

from nanotf.errors import DataLossError
from nanotf.formats import crc32c
from nanotf.formats.varint import decode_varint, encode_varint


def test_check_value_and_mask():
    assert crc32c.crc32c(b"123456789") == 0xE3069283
    assert crc32c.mask(0) == 0xA282EAD8
    assert crc32c.mask(crc32c.crc32c(b"\x00\x00\x00\x40")) == 0x4F78FD10  # the seed model's bias
    for v in (0, 1, 0xFFFFFFFF, 0x12345678):
        assert crc32c.unmask(crc32c.mask(v)) == v


def test_extend_equals_whole():
    data = bytes(range(256)) * 40
    assert crc32c.extend(crc32c.crc32c(data[:1000]), data[1000:]) == crc32c.crc32c(data)
    assert crc32c.extend(0, data) == crc32c.crc32c(data)


def test_buffers_without_copy(tmp_path):
    data = np.arange(1000, dtype=np.float32)
    expect = crc32c.crc32c(data.tobytes())
    assert crc32c.crc32c(data) == expect
    assert crc32c.crc32c(memoryview(bytearray(data.tobytes()))) == expect
    path = tmp_path / "f"
    path.write_bytes(b"xx" + data.tobytes())
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        view = memoryview(m)
        assert crc32c.crc32c(view[2:]) == expect
        view.release()


@pytest.mark.parametrize("value,encoded", [(0, "00"), (1, "01"), (127, "7f"), (128, "8001"), (300, "ac02"),
                                           (2**64 - 1, "ffffffffffffffffff01")])
def test_varint_round_trip(value, encoded):
    assert encode_varint(value).hex() == encoded
    raw = bytes.fromhex(encoded)
    assert decode_varint(raw, 0, len(raw), "t") == (value, len(raw))


@pytest.mark.parametrize("raw,max_bytes", [("80", 10), ("ffffffffffffffffff7f", 10), ("ffffffff7f", 5), ("", 10)])
def test_varint_rejects_truncated_and_overlong(raw, max_bytes):
    data = bytes.fromhex(raw)
    with pytest.raises(DataLossError, match="offset 0"):
        decode_varint(data, 0, len(data), "t", max_bytes)
