"""Regenerate nanotf's ``*_pb2.py`` files from ``src/nanotf/protos/*.proto``.

The generated modules are committed, so users never need protoc. We generate
with the protoc of ``grpcio-tools==1.62.3`` (protobuf 25.x): its output carries
no runtime-version check and imports warning-free under protobuf 4.25 through
7.x, which is the range ``pyproject.toml`` declares.

Usage (in any throwaway virtualenv)::

    pip install grpcio-tools==1.62.3
    python scripts/gen_protos.py
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

GRPC_TOOLS_VERSION = "1.62.3"
ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
PROTO_DIR = SRC / "nanotf" / "protos"


def main() -> int:
    try:
        import grpc_tools
        from importlib.metadata import version
    except ImportError:
        print(f"needs grpcio-tools=={GRPC_TOOLS_VERSION}: pip install grpcio-tools=={GRPC_TOOLS_VERSION}", file=sys.stderr)
        return 2
    found = version("grpcio-tools")
    if found != GRPC_TOOLS_VERSION:
        print(f"grpcio-tools {found} found; generate with {GRPC_TOOLS_VERSION} so the output "
              "works with every protobuf runtime nanotf supports", file=sys.stderr)
        return 2
    well_known = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    protos = sorted(str(p.relative_to(SRC)) for p in PROTO_DIR.glob("*.proto"))
    cmd = [sys.executable, "-m", "grpc_tools.protoc", f"-I{SRC}", f"-I{well_known}", f"--python_out={SRC}", *protos]
    subprocess.run(cmd, check=True, cwd=SRC)
    print(f"generated {len(protos)} modules in {PROTO_DIR.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
