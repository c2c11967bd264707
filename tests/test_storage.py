"""Storage backends (a real folder; S3 against a local moto server) and signed links."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
import pytest

from exporter import links
from exporter.errors import ExportError
from exporter.links import LINK_DAYS, LinkClaims, LinkError, default_expiry, sign, verify
from exporter.storage import (
    LocalStorage,
    S3Storage,
    Storage,
    StorageError,
    clean_name,
    key_for,
    make_storage,
    s3_storage,
)

JOB = "0f3c2a9e8b7d4c1a"
SECRET = "test-secret-not-for-production"
MB = 1 << 20


def write_file(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def read_all(storage: Storage, key: str) -> bytes:
    with storage.open(key) as f:
        return f.read()


@pytest.fixture
def local(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "exports")


# --- LocalStorage --------------------------------------------------------------------


def test_put_open_size_delete_round_trip(local: LocalStorage, tmp_path: Path) -> None:
    source = write_file(tmp_path / ".orders.csv.part", b"id,total\n1,9.50\n")
    key = local.put(7, JOB, "orders.csv", source)
    assert key == f"7/{JOB}/orders.csv"
    assert not source.exists()
    assert local.exists(key)
    assert local.size(key) == 16
    assert read_all(local, key) == b"id,total\n1,9.50\n"
    assert local.local_path(key) == local.root / "7" / JOB / "orders.csv"
    local.delete(key)
    assert not local.exists(key)
    assert not (local.root / "7" / JOB).exists()
    local.delete(key)  # deleting again is fine


def test_files_are_laid_out_per_org(local: LocalStorage, tmp_path: Path) -> None:
    a = local.put(1, "job-a", "a.csv", write_file(tmp_path / "a", b"a"))
    b = local.put(2, "job-b", "b.csv", write_file(tmp_path / "b", b"b"))
    assert (local.root / "1" / "job-a" / "a.csv").read_bytes() == b"a"
    assert (local.root / "2" / "job-b" / "b.csv").read_bytes() == b"b"
    assert (a, b) == ("1/job-a/a.csv", "2/job-b/b.csv")


def test_delete_keeps_the_job_folder_while_it_holds_another_file(
        local: LocalStorage, tmp_path: Path) -> None:
    a = local.put(1, JOB, "a.csv", write_file(tmp_path / "a", b"a"))
    b = local.put(1, JOB, "b.csv", write_file(tmp_path / "b", b"b"))
    local.delete(a)
    assert local.exists(b)


def test_missing_file_is_reported_as_not_found(local: LocalStorage) -> None:
    key = key_for(1, JOB, "gone.csv")
    assert not local.exists(key)
    for call in (local.open, local.size):
        with pytest.raises(StorageError) as err:
            call(key)
        assert err.value.code == "STORAGE_NOT_FOUND"


@pytest.fixture
def other_device_dir(tmp_path: Path) -> Iterator[Path]:
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("no second filesystem to move across")
    folder = shm / f"storage-test-{os.getpid()}"
    folder.mkdir()
    yield folder
    for item in folder.iterdir():
        item.unlink()
    folder.rmdir()


def test_put_across_filesystems_copies_then_renames(
        local: LocalStorage, other_device_dir: Path) -> None:
    source = write_file(other_device_dir / "x.part", b"x" * 3 * MB)
    key = local.put(3, JOB, "x.csv", source)
    assert not source.exists()
    assert local.size(key) == 3 * MB
    assert os.listdir(local.root / "3" / JOB) == ["x.csv"]  # no temp file left beside it


def test_big_file_streams_without_growing_memory(local: LocalStorage, tmp_path: Path) -> None:
    block = os.urandom(MB)
    source = tmp_path / "big.part"
    with source.open("wb") as f:
        for _ in range(50):
            f.write(block)
    expected = hashlib.sha256(block * 50).hexdigest()
    process = psutil.Process()
    before = process.memory_info().rss
    key = local.put(1, JOB, "big.csv", source)
    digest, peak = hashlib.sha256(), 0
    with local.open(key) as f:
        while chunk := f.read(MB):
            digest.update(chunk)
            peak = max(peak, process.memory_info().rss)
    assert local.size(key) == 50 * MB
    assert digest.hexdigest() == expected
    assert peak - before < 20 * MB


@pytest.mark.parametrize("key", [
    "../x", "/etc/passwd", "1/../../x", "1/job/../../../etc/passwd", "1/job/..", "1/job/.x",
    "1/job", "1/job/a/b", "", "x/job/a.csv", "1//a.csv", "1/job/a\\b", "1/job/a\x00b",
])
def test_unsafe_keys_are_refused(local: LocalStorage, key: str) -> None:
    for call in (local.open, local.size, local.exists, local.delete, local.local_path):
        with pytest.raises(StorageError) as err:
            call(key)
        assert err.value.code == "STORAGE_BAD_KEY"


def test_a_symlink_out_of_root_is_refused(local: LocalStorage, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    write_file(outside / "secret.csv", b"secret")
    (local.root / "1").mkdir(parents=True)
    (local.root / "1" / JOB).symlink_to(outside)
    key = f"1/{JOB}/secret.csv"
    for call in (local.open, local.exists, local.delete):
        with pytest.raises(StorageError) as err:
            call(key)
        assert err.value.code == "STORAGE_BAD_KEY"
    with pytest.raises(StorageError):
        local.put(1, JOB, "secret.csv", write_file(tmp_path / "s", b"overwrite"))
    assert (outside / "secret.csv").read_bytes() == b"secret"


@pytest.mark.parametrize(("name", "clean"), [
    ("orders.csv", "orders.csv"),
    ("../../etc/passwd", "_.._etc_passwd"),
    ("a/b\\c.csv", "a_b_c.csv"),
    ("/abs.csv", "_abs.csv"),
    ("..", "export"),
    ("", "export"),
    ("Aufträge 2026.xlsx", "Aufträge 2026.xlsx"),
    ("line\nbreak.csv", "line_break.csv"),
])
def test_file_names_are_made_plain(name: str, clean: str) -> None:
    assert clean_name(name) == clean


def test_a_long_file_name_keeps_its_extension() -> None:
    name = clean_name("ä" * 300 + ".xlsx")
    assert name.endswith(".xlsx") and len(name.encode()) <= 200


def test_put_with_slashes_in_the_name_stays_in_the_job_folder(
        local: LocalStorage, tmp_path: Path) -> None:
    key = local.put(1, JOB, "../../evil.csv", write_file(tmp_path / "e", b"e"))
    assert key == f"1/{JOB}/_.._evil.csv"
    assert (local.root / "1" / JOB / "_.._evil.csv").exists()


@pytest.mark.parametrize(("org", "job"), [(-1, JOB), (1, "../x"), (1, "a/b"), (1, "")])
def test_keys_need_a_plain_org_and_job(org: int, job: str) -> None:
    with pytest.raises(StorageError):
        key_for(org, job, "a.csv")


def test_make_storage_builds_local_and_refuses_unknown_kinds(tmp_path: Path) -> None:
    storage = make_storage("local", tmp_path)
    assert isinstance(storage, LocalStorage) and storage.root == tmp_path.resolve()
    with pytest.raises(ExportError) as err:
        make_storage("ftp", tmp_path)
    assert err.value.code == "STORAGE_CONFIG"


def test_module_imports_and_explains_without_boto3() -> None:
    code = (
        "import sys; sys.modules['boto3'] = None\n"
        "from exporter.storage import make_storage, ExportError\n"
        "try:\n    make_storage('s3', '.', bucket='b')\n"
        "except ExportError as e:\n    print(e.code)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "STORAGE_CONFIG"


# --- S3Storage ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A real S3 API: moto's server on 127.0.0.1, no network and no fake client."""
    pytest.importorskip("boto3")
    server_mod = pytest.importorskip("moto.server")
    try:
        server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
    except OSError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"moto server did not start: {exc}")
        pytest.skip(f"moto server did not start: {exc}")
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch, request: Any) -> S3Storage:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "test")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    bucket = "exports-" + hashlib.sha1(request.node.name.encode()).hexdigest()[:12]
    storage = make_storage("s3", Path("."), bucket, "/data/", s3_endpoint, "us-east-1")
    assert isinstance(storage, S3Storage)
    storage.client.create_bucket(Bucket=bucket)  # type: ignore[attr-defined]
    return storage


def test_s3_round_trip_under_the_prefix(s3: S3Storage, tmp_path: Path) -> None:
    source = write_file(tmp_path / "o.part", b"id\n1\n")
    key = s3.put(7, JOB, "orders.csv", source)
    assert key == f"7/{JOB}/orders.csv"
    assert not source.exists()
    head = s3.client.head_object(Bucket=s3.bucket, Key=f"data/7/{JOB}/orders.csv")
    assert head["ContentLength"] == 5
    assert s3.exists(key) and s3.size(key) == 5
    assert read_all(s3, key) == b"id\n1\n"
    assert s3.local_path(key) is None
    s3.delete(key)
    assert not s3.exists(key)
    s3.delete(key)


def test_s3_big_file_uploads_in_parts_and_streams_back(s3: S3Storage, tmp_path: Path) -> None:
    data = os.urandom(9 * MB)  # above boto3's 8 MB multipart threshold
    key = s3.put(1, JOB, "big.csv", write_file(tmp_path / "b.part", data))
    head = s3.client.head_object(Bucket=s3.bucket, Key=f"data/{key}")
    assert "-" in head["ETag"]  # a multipart upload's ETag ends in "-<parts>"
    with s3.open(key) as body:
        chunks = list(iter(lambda: body.read(MB), b""))
    assert len(chunks) >= 9 and b"".join(chunks) == data


def test_s3_missing_file_and_bad_keys(s3: S3Storage) -> None:
    key = key_for(1, JOB, "gone.csv")
    for call in (s3.open, s3.size):
        with pytest.raises(StorageError) as err:
            call(key)
        assert err.value.code == "STORAGE_NOT_FOUND"
    for bad in ("../x", "/etc/passwd", "1/../../x"):
        with pytest.raises(StorageError) as err:
            s3.open(bad)
        assert err.value.code == "STORAGE_BAD_KEY"


def test_s3_storage_needs_a_bucket() -> None:
    with pytest.raises(ExportError) as err:
        s3_storage("")
    assert err.value.field == "EXPORTER_S3_BUCKET"


# --- signed links --------------------------------------------------------------------------

NOW = datetime(2026, 12, 4, 14, 0, tzinfo=UTC)
KEY = f"7/{JOB}/orders.csv"


def token(secret: str = SECRET, org: int = 7, expires: datetime = NOW + timedelta(days=7)) -> str:
    return sign(secret, org, JOB, KEY, expires)


def test_a_signed_link_verifies_to_its_claims() -> None:
    claims = verify(SECRET, token(), now=NOW)
    assert claims == LinkClaims(7, JOB, KEY, NOW + timedelta(days=7))


def test_a_link_is_url_safe() -> None:
    assert set(token()) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


def test_links_last_seven_days_by_default() -> None:
    assert LINK_DAYS == 7 and default_expiry(NOW) == NOW + timedelta(days=7)


def test_a_link_for_one_org_carries_that_org_only() -> None:
    assert verify(SECRET, token(org=1), now=NOW).org_id == 1
    assert verify(SECRET, token(org=2), now=NOW).org_id == 2


def forge_payload(tok: str, **changes: object) -> str:
    payload, signature = tok.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data.update(changes)
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode() + "." + signature


def flip_last(text: str) -> str:
    return text[:-1] + ("A" if text[-1] != "A" else "B")


@pytest.mark.parametrize("bad", [
    forge_payload(token(), o=8),                     # another org
    forge_payload(token(), e=4_000_000_000),         # a later expiry
    forge_payload(token(), k="8/x/orders.csv"),      # another file
    token().split(".")[0] + "." + flip_last(token().split(".")[1]),   # tampered signature
    flip_last(token().split(".")[0]) + "." + token().split(".")[1],   # tampered payload
    token(secret="another-secret"),
    token() + "=",
    token() + ".x",
    token().replace(".", ""),
    "", ".", "garbage", "a.b", "!!!.???", "é.é", "x" * 5000,
])
def test_a_forged_or_malformed_link_is_invalid(bad: str) -> None:
    with pytest.raises(LinkError) as err:
        verify(SECRET, bad, now=NOW)
    assert err.value.code == "LINK_INVALID"
    assert err.value.message == "This download link is not valid."


def test_a_signed_but_malformed_payload_is_invalid() -> None:
    raw = b'{"o":"7"}'
    mac = links._mac(SECRET.encode(), raw)
    forged = links._b64(raw) + "." + links._b64(mac)
    with pytest.raises(LinkError) as err:
        verify(SECRET, forged, now=NOW)
    assert err.value.code == "LINK_INVALID"


def test_an_expired_link_says_when_it_expired() -> None:
    expires = datetime(2026, 12, 11, 14, 0, tzinfo=UTC)
    tok = token(expires=expires)
    assert verify(SECRET, tok, now=expires - timedelta(seconds=1)).expires_at == expires
    with pytest.raises(LinkError) as err:
        verify(SECRET, tok, now=expires)
    assert err.value.code == "LINK_EXPIRED"
    assert err.value.message == "This download link expired on 2026-12-11 14:00 UTC."


@pytest.mark.parametrize("secret", ["", "   "])
def test_an_empty_secret_is_refused(secret: str) -> None:
    with pytest.raises(ValueError):
        token(secret=secret)
    with pytest.raises(ValueError):
        verify(secret, token(), now=NOW)


def test_signing_needs_a_timezone_aware_expiry() -> None:
    with pytest.raises(ValueError):
        sign(SECRET, 7, JOB, KEY, datetime(2026, 12, 11, 14, 0))
