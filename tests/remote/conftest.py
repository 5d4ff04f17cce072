"""Object stores for the remote-storage tests: fsspec's ``memory://``, an S3 server and a GCS emulator on loopback.

The S3 server is moto's standalone server, bound to 127.0.0.1 on a free
port for the whole session; clients (this process and the children the
crash tests start) find it through the ``AWS_ENDPOINT_URL_S3`` variable and
dummy credentials, so nothing leaves the machine.

Google Cloud Storage is gcp-storage-emulator's server, in memory, bound the
same way; gcsfs finds it through ``STORAGE_EMULATOR_HOST`` and connects
anonymously (``FSSPEC_GS_TOKEN=anon``), so it never looks for credentials
(a lookup that would also ask the cloud metadata server). Two gaps of the
emulator are bridged here:

* gcsfs's default filesystem class asks the gRPC Storage Control API for each
  bucket's layout, which the emulator does not serve (every lookup would wait
  out a 60 s retry deadline), so ``GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT=false``
  selects the plain JSON-API class (what gcsfs falls back to anyway);
* the emulator has no route for cancelling a resumable upload (``DELETE`` on
  the session URI); one is added that does what GCS documents: the session
  is dropped and the answer is 499.

The tests skip, saying why, when fsspec, s3fs, moto, gcsfs or
gcp-storage-emulator are missing (``pip install -e '.[test]'`` installs
them).
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import socket
import types
import uuid
from http import HTTPStatus

import pytest

BUCKET = "nanotf-tests"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _set_env(env: dict) -> dict:
    """Set ``env`` in ``os.environ``; returns the values it replaced (None: was unset)."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    return saved


def _restore_env(saved: dict) -> None:
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


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
    saved = _set_env(env)
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()
    s3fs.S3FileSystem().mkdir(BUCKET)
    yield env
    s3fs.S3FileSystem.clear_instance_cache()
    server.stop()
    _restore_env(saved)


@pytest.fixture
def s3_dir(s3_env, request) -> str:
    """A fresh directory URL in the test bucket."""
    return f"s3://{BUCKET}/{request.node.name.replace('[', '-').rstrip(']')}-{uuid.uuid4().hex[:8]}"


# GCS answers a cancelled resumable upload with this status (gcsfs takes it as success).
_UPLOAD_CANCELLED = types.SimpleNamespace(value=499, phrase="Client Closed Request")
_GCS_SERVER = pytest.StashKey()


def _cancel_resumable_upload(request, response, storage):
    upload_id = (request.query.get("upload_id") or [""])[0]
    if upload_id not in storage.resumable:
        response.status = HTTPStatus.NOT_FOUND
        return
    storage.delete_resumable_file_obj(upload_id)
    response.status = _UPLOAD_CANCELLED


@pytest.fixture(scope="session")
def gcs_env(request):
    """The environment variables that point gcsfs at the loopback GCS emulator (which this starts)."""
    fsspec = pytest.importorskip("fsspec", reason="remote storage tests need fsspec (pip install -e '.[test]')")
    for module, package in (("gcsfs", "gcsfs"), ("gcp_storage_emulator", "gcp-storage-emulator")):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"GCS tests need {package} (pip install -e '.[test]')")
    env = {
        "STORAGE_EMULATOR_HOST": f"http://127.0.0.1:{_free_port()}",
        "FSSPEC_GS_TOKEN": "anon",  # fsspec reads it when imported, i.e. in the crash tests' children
        "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false",  # gcsfs reads it when imported: set before the import
    }
    with contextlib.ExitStack() as undo:
        undo.callback(_restore_env, _set_env(env))
        import gcsfs
        from gcp_storage_emulator import server as emulator
        from gcp_storage_emulator import settings

        # A gcsfs imported before this fixture ran kept its default (gRPC-probing) class: use the plain one.
        if gcsfs.GCSFileSystem is not gcsfs.core.GCSFileSystem:
            for protocol in ("gs", "gcs"):
                undo.callback(fsspec.register_implementation, protocol, fsspec.get_filesystem_class(protocol),
                              clobber=True)  # fmt: skip
                fsspec.register_implementation(protocol, gcsfs.core.GCSFileSystem, clobber=True)
        # This process imported fsspec before the variable was set, so it is told directly.
        saved_conf = fsspec.config.conf.get("gs")
        if saved_conf is None:
            undo.callback(fsspec.config.conf.pop, "gs", None)
        else:
            undo.callback(fsspec.config.conf.__setitem__, "gs", saved_conf)
        fsspec.config.conf["gs"] = {**(saved_conf or {}), "token": "anon"}
        routes = [methods for regex, methods in emulator.HANDLERS
                  if regex.startswith(f"^{settings.UPLOAD_API_ENDPOINT}/b/") and regex.endswith("/o$")]
        assert len(routes) == 1, "gcp-storage-emulator's upload route has changed: update this fixture"
        if routes[0].setdefault("DELETE", _cancel_resumable_upload) is _cancel_resumable_upload:
            undo.callback(routes[0].pop, "DELETE")
        host, port = env["STORAGE_EMULATOR_HOST"].removeprefix("http://").split(":")
        server = emulator.create_server(host, int(port), in_memory=True)
        server.start()
        undo.callback(server.stop)
        request.config.stash[_GCS_SERVER] = server
        undo.callback(request.config.stash.__delitem__, _GCS_SERVER)
        fs_class = fsspec.get_filesystem_class("gs")
        fs_class.clear_instance_cache()
        undo.callback(fs_class.clear_instance_cache)  # its clients hold connections to the server
        fs = fsspec.filesystem("gs")
        assert fs.credentials.method == "anon"
        fs.mkdir(BUCKET)
        yield env


@pytest.fixture
def gcs_dir(gcs_env, request) -> str:
    """A fresh directory URL in the emulator's test bucket."""
    return f"gs://{BUCKET}/{request.node.name.replace('[', '-').rstrip(']')}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def gcs_unfinished_uploads(gcs_env, request):
    """A function giving the object names of the resumable uploads the emulator holds that were neither
    completed nor cancelled (GCS itself cannot list them)."""
    storage = request.config.stash[_GCS_SERVER]._storage
    return lambda: sorted(obj["name"] for obj in storage.resumable.values())


@pytest.fixture
def memory_dir(request):
    """A fresh ``memory://`` directory URL, emptied afterwards."""
    fsspec = pytest.importorskip("fsspec", reason="remote storage tests need fsspec (pip install -e '.[test]')")
    name = f"nanotf-{uuid.uuid4().hex[:8]}"
    yield f"memory://{name}"
    fs = fsspec.filesystem("memory")
    if fs.exists(f"/{name}"):
        fs.rm(f"/{name}", recursive=True)


@pytest.fixture(params=["memory", "s3", "gcs"])
def remote_dir(request) -> str:
    """A fresh directory URL in each store: ``memory://`` (fast), S3 and GCS on loopback."""
    return request.getfixturevalue(f"{request.param}_dir")
