"""Object stores for the remote-storage tests: fsspec's ``memory://`` and a real S3 server on loopback.

The S3 server is moto's standalone server, bound to 127.0.0.1 on a free
port for the whole session; clients (this process and the children the
crash tests start) find it through the ``AWS_ENDPOINT_URL_S3`` variable and
dummy credentials, so nothing leaves the machine. The tests skip, saying
why, when fsspec, s3fs or moto are missing (``pip install -e '.[test]'``
installs them).
"""

from __future__ import annotations

import logging
import os
import socket
import uuid

import pytest

BUCKET = "nanotf-tests"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def s3_env():
    """The environment variables that point S3 clients at the loopback server (which this starts)."""
    pytest.importorskip("fsspec", reason="remote storage tests need fsspec (pip install -e '.[test]')")
    pytest.importorskip("s3fs", reason="S3 tests need s3fs (pip install -e '.[test]')")
    server_module = pytest.importorskip("moto.server", reason="S3 tests need moto[server] (pip install -e '.[test]')")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one log line per request otherwise
    port = _free_port()
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_S3": f"http://127.0.0.1:{port}",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()
    s3fs.S3FileSystem().mkdir(BUCKET)
    yield env
    s3fs.S3FileSystem.clear_instance_cache()
    server.stop()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture
def s3_dir(s3_env, request) -> str:
    """A fresh directory URL in the test bucket."""
    return f"s3://{BUCKET}/{request.node.name.replace('[', '-').rstrip(']')}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def memory_dir(request):
    """A fresh ``memory://`` directory URL, emptied afterwards."""
    fsspec = pytest.importorskip("fsspec", reason="remote storage tests need fsspec (pip install -e '.[test]')")
    name = f"nanotf-{uuid.uuid4().hex[:8]}"
    yield f"memory://{name}"
    fs = fsspec.filesystem("memory")
    if fs.exists(f"/{name}"):
        fs.rm(f"/{name}", recursive=True)


@pytest.fixture(params=["memory", "s3"])
def remote_dir(request) -> str:
    """A fresh directory URL in each store: ``memory://`` (fast) and S3 on loopback."""
    return request.getfixturevalue(f"{request.param}_dir")
