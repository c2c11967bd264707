"""Where finished export files live: a Storage base class, a local folder and S3.

Every backend stores one file under a key `<org_id>/<job_id>/<file_name>`, built by
`key_for` and checked by `check_key` on every call, so a key from a link or a request
can never name something outside the org's files. boto3 is imported only by
`s3_storage`, so this module works without it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Protocol, cast

from exporter.errors import ExportError

_UNSAFE = r"/\\\x00-\x1f\x7f"  # separators and control characters
_UNSAFE_CHARS = re.compile(f"[{_UNSAFE}]")
KEY_RE = re.compile(rf"[0-9]{{1,18}}/[A-Za-z0-9_-]{{1,64}}/(?!\.)[^{_UNSAFE}]+")
_MAX_NAME_BYTES = 200  # filesystems allow 255; leave room for the temp-name prefix
_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}


class StorageError(ExportError):
    """A storage key is unsafe or names no stored file."""


def _bad_key(key: object) -> StorageError:
    return StorageError("STORAGE_BAD_KEY", f"Not a valid storage key: {key!r}.")


def _missing(key: str) -> StorageError:
    return StorageError("STORAGE_NOT_FOUND", f"The export file {key} is no longer available.")


def clean_name(file_name: str) -> str:
    """A plain file name: separators and control characters become `_`, no leading dot."""
    name = _UNSAFE_CHARS.sub("_", file_name).strip().lstrip(".").strip()
    if len(name.encode()) > _MAX_NAME_BYTES:
        _, dot, ext = name.rpartition(".")
        ext = dot + ext if dot and len(ext) <= 16 else ""
        stem = name[: len(name) - len(ext)]
        room = _MAX_NAME_BYTES - len(ext.encode())
        name = stem.encode()[:room].decode(errors="ignore") + ext
    return name or "export"


def check_key(key: object) -> str:
    """Return key if it is exactly `<org_id>/<job_id>/<plain name>`; else STORAGE_BAD_KEY."""
    if not isinstance(key, str) or not KEY_RE.fullmatch(key):
        raise _bad_key(key)
    return key


def key_for(org_id: int, job_id: str, file_name: str) -> str:
    """The storage key of one job's file; file_name is sanitised, job_id must be plain."""
    if isinstance(org_id, bool) or not isinstance(org_id, int) or org_id < 0:
        raise _bad_key(org_id)
    return check_key(f"{org_id}/{job_id}/{clean_name(file_name)}")


class Storage:
    """Finished export files by key. `put` takes over (moves) the source file."""

    def put(self, org_id: int, job_id: str, file_name: str, source: Path) -> str:
        raise NotImplementedError

    def open(self, key: str) -> BinaryIO:
        """A file object to stream the stored bytes from; the caller closes it."""
        raise NotImplementedError

    def size(self, key: str) -> int:
        raise NotImplementedError

    def delete(self, key: str) -> None:
        """Remove the file; a missing file is fine."""
        raise NotImplementedError

    def exists(self, key: str) -> bool:
        raise NotImplementedError

    def local_path(self, key: str) -> Path | None:
        """The file's path when it sits on this machine's disk (to hand to a web server)."""
        return None


class LocalStorage(Storage):
    """Files in a folder: `<root>/<org_id>/<job_id>/<file_name>`."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        joined = self.root / check_key(key)
        # A symlink anywhere below root could lead out of it or into another org: refuse.
        if joined.resolve() != joined:
            raise _bad_key(key)
        return joined

    def put(self, org_id: int, job_id: str, file_name: str, source: Path) -> str:
        key = key_for(org_id, job_id, file_name)
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(source, target)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            _copy_into_place(Path(source), target)
            Path(source).unlink()
        return key

    def open(self, key: str) -> BinaryIO:
        try:
            return self._path(key).open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise _missing(key) from exc

    def size(self, key: str) -> int:
        path = self._path(key)
        if not path.is_file():
            raise _missing(key)
        return path.stat().st_size

    def delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # not empty (another file of the job) or gone
            path.parent.rmdir()

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def local_path(self, key: str) -> Path | None:
        return self._path(key)


def _copy_into_place(source: Path, target: Path) -> None:
    """Copy across filesystems to a temp name beside target, then rename: never half a file."""
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with source.open("rb") as src, os.fdopen(fd, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
            dst.flush()
            os.fsync(dst.fileno())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


class S3Client(Protocol):
    """The part of a boto3 S3 client that S3Storage uses."""

    def upload_file(self, Filename: str, Bucket: str, Key: str) -> None: ...
    def get_object(self, *, Bucket: str, Key: str) -> Any: ...
    def head_object(self, *, Bucket: str, Key: str) -> Any: ...
    def delete_object(self, *, Bucket: str, Key: str) -> Any: ...


def _is_not_found(exc: Exception) -> bool:
    response = getattr(exc, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    return str(code) in _NOT_FOUND


class S3Storage(Storage):
    """Files in an S3 (or S3-compatible) bucket under `<prefix>/<org_id>/<job_id>/<name>`."""

    def __init__(self, bucket: str, prefix: str, client: S3Client) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client

    def _object(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, org_id: int, job_id: str, file_name: str, source: Path) -> str:
        key = key_for(org_id, job_id, file_name)
        # upload_file switches to a multipart upload above 8 MB and streams from disk.
        self.client.upload_file(str(source), self.bucket, self._object(key))
        Path(source).unlink()
        return key

    def _head(self, key: str) -> Any:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=self._object(key))
        except Exception as exc:
            if _is_not_found(exc):
                raise _missing(key) from exc
            raise

    def open(self, key: str) -> BinaryIO:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._object(key))
        except Exception as exc:
            if _is_not_found(exc):
                raise _missing(key) from exc
            raise
        return cast(BinaryIO, response["Body"])  # botocore's StreamingBody: read(n), close()

    def size(self, key: str) -> int:
        return int(self._head(key)["ContentLength"])

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._object(key))

    def exists(self, key: str) -> bool:
        try:
            self._head(key)
        except StorageError as exc:
            if exc.code == "STORAGE_NOT_FOUND":
                return False
            raise
        return True


def s3_storage(bucket: str, prefix: str = "", endpoint_url: str = "",
               region: str = "") -> S3Storage:
    """An S3Storage with a boto3 client; credentials come from boto3's usual chain."""
    if not bucket:
        raise ExportError("STORAGE_CONFIG", "S3 storage needs a bucket name.",
                          "EXPORTER_S3_BUCKET")
    try:
        import boto3  # lazily: only S3 deployments need it
    except ImportError as exc:
        raise ExportError("STORAGE_CONFIG",
                          "S3 storage needs the boto3 package (pip install boto3).") from exc
    client = boto3.client("s3", endpoint_url=endpoint_url or None, region_name=region or None)
    return S3Storage(bucket, prefix, client)


def make_storage(kind: str, root: Path, bucket: str = "", prefix: str = "",
                 endpoint_url: str = "", region: str = "") -> Storage:
    """The storage backend named by kind: "local" (files under root) or "s3"."""
    if kind == "local":
        return LocalStorage(root)
    if kind == "s3":
        return s3_storage(bucket, prefix, endpoint_url, region)
    raise ExportError("STORAGE_CONFIG", f"Unknown storage {kind!r}; use 'local' or 's3'.",
                      "EXPORTER_STORAGE")
