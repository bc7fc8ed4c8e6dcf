"""A real OpenSSH SFTP server for the SFTP sink tests: ``sshd`` on 127.0.0.1, in the foreground.

The ``sftp_server`` fixture (one per test session) generates a throwaway Ed25519 host key and a
client key pair in a temp dir, creates the test user ``samsara-fmc-sftp`` when missing (the tests run
as root, as in CI) with a fresh random password, and starts ``/usr/sbin/sshd -D -e -f <config>`` on a
free port with password and public key authentication and ``Subsystem sftp internal-sftp``. Uploads
go to a directory in the temp dir owned by the test user, so a test reads what arrived from the local
file system. sshd is stopped and the temp dir removed afterwards.

``sshd`` comes from Debian's ``openssh-server``: ``make sftp-server`` installs it. Without it (or
without root) the tests are skipped, except under CI (``CI`` set), where that is a failure.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SSHD = Path("/usr/sbin/sshd")
USER = "samsara-fmc-sftp"
KEY_PASSPHRASE = "pass phrase 'with' \"quotes\""


@dataclass
class SftpServer:
    """A running sshd: where it listens, how to log in, and where uploads land."""

    host: str
    port: int
    no_posix_rename_port: int
    """Another port of the same server, whose SFTP subsystem denies ``posix-rename``."""
    username: str
    password: str
    fingerprint: str
    """The host key's ``SHA256:<base64>`` fingerprint, as ``ssh-keygen -lf`` prints it."""
    private_key: str
    """An OpenSSH-format Ed25519 private key (no passphrase) in ``authorized_keys``."""
    encrypted_private_key: str
    """An RSA private key in PEM form, encrypted with :data:`KEY_PASSPHRASE`, also authorised."""
    root: Path
    """The upload directory on the local file system (``SFTP_DIRECTORY`` is its path too)."""
    log: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    def secrets(self, **overrides: str | None) -> dict[str, str]:
        """Secrets for password auth; ``overrides`` replace or (with ``None``) remove entries."""
        out = {
            "SFTP_HOST": self.host,
            "SFTP_PORT": str(self.port),
            "SFTP_USERNAME": self.username,
            "SFTP_PASSWORD": self.password,
            "SFTP_HOST_KEY_FINGERPRINT": self.fingerprint,
            "SFTP_DIRECTORY": str(self.root),
        }
        for k, v in overrides.items():
            if v is None:
                out.pop(k, None)
            else:
                out[k] = v
        return out

    def files(self) -> list[str]:
        """Every file under the upload directory, relative, sorted."""
        return sorted(str(p.relative_to(self.root)) for p in self.root.rglob("*") if p.is_file())

    def clear(self) -> None:
        """Removes everything under the upload directory."""
        for p in self.root.iterdir():
            if p.is_dir():
                shutil.rmtree(p)
            else:
                p.unlink()


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: the SFTP sink tests need it in CI")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _ensure_user(password: str) -> pwd.struct_passwd:
    try:
        pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/bin/sh",
                "--home-dir",
                "/nonexistent",
                USER,
            ],
            check=True,
            capture_output=True,
        )
    subprocess.run(["chpasswd"], input=f"{USER}:{password}".encode(), check=True, capture_output=True)
    return pwd.getpwnam(USER)


def _keygen(path: Path, *args: str) -> None:
    subprocess.run(["ssh-keygen", "-q", "-C", "samsara-fmc-test", "-f", str(path), *args], check=True)


def _wait_for_banner(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"sshd exited with {proc.returncode}: {log.read_text(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                if s.recv(64).startswith(b"SSH-2.0-"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"sshd did not answer on port {port}: {log.read_text(errors='replace')}")


def start_sftp_server() -> SftpServer:
    """Starts sshd as described in the module doc; :func:`stop_sftp_server` ends it."""
    if not SSHD.exists():
        _unavailable(f"`{SSHD}` is missing: run `make sftp-server`")
    if os.geteuid() != 0:
        _unavailable("the SFTP server fixture creates a test user and starts sshd: run the tests as root")
    # A password with characters a naive scrubber or a shell would trip on.
    password = "pw'\"\\ " + secrets.token_urlsafe(12)
    user = _ensure_user(password)
    tmp = Path(tempfile.mkdtemp(prefix="samsara-fmc-sshd-"))
    tmp.chmod(0o755)
    _keygen(tmp / "host_key", "-t", "ed25519", "-N", "")
    _keygen(tmp / "client_ed25519", "-t", "ed25519", "-N", "")
    _keygen(tmp / "client_rsa", "-t", "rsa", "-b", "2048", "-m", "PEM", "-N", KEY_PASSPHRASE)
    keys = tmp / "authorized_keys"
    keys.mkdir(mode=0o755)
    pub = (tmp / "client_ed25519.pub").read_text() + (tmp / "client_rsa.pub").read_text()
    (keys / USER).write_text(pub)
    (keys / USER).chmod(0o644)
    root = tmp / "upload"
    root.mkdir()
    os.chown(root, user.pw_uid, user.pw_gid)
    fingerprint = subprocess.run(
        ["ssh-keygen", "-lf", str(tmp / "host_key.pub")], check=True, capture_output=True, text=True
    ).stdout.split()[1]
    port = _free_port()
    plain_port = _free_port()
    while plain_port == port:
        plain_port = _free_port()
    config = tmp / "sshd_config"
    config.write_text(
        "\n".join(
            [
                f"Port {port}",
                "ListenAddress 127.0.0.1",
                f"HostKey {tmp / 'host_key'}",
                "PidFile none",
                "UsePAM no",
                "PasswordAuthentication yes",
                "KbdInteractiveAuthentication no",
                "PubkeyAuthentication yes",
                f"AuthorizedKeysFile {keys}/%u",
                "StrictModes no",
                "PermitRootLogin no",
                f"AllowUsers {USER}",
                "Subsystem sftp internal-sftp",
                "ForceCommand internal-sftp",
                "AllowTcpForwarding no",
                "X11Forwarding no",
                "MaxAuthTries 10",
                "MaxStartups 100",
                "LogLevel VERBOSE",
                # A second port whose SFTP server denies posix-rename, as some servers lack it.
                f"Port {plain_port}",
                f"Match LocalPort {plain_port}",
                "    ForceCommand internal-sftp -P posix-rename",
                "",
            ]
        )
    )
    # sshd needs its privilege separation directory (the package's service creates it at boot).
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    log = tmp / "sshd.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(SSHD), "-D", "-e", "-f", str(config)], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        _wait_for_banner(port, proc, log)
        _wait_for_banner(plain_port, proc, log)
    except BaseException:
        proc.kill()
        proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return SftpServer(
        host="127.0.0.1",
        port=port,
        no_posix_rename_port=plain_port,
        username=USER,
        password=password,
        fingerprint=fingerprint,
        private_key=(tmp / "client_ed25519").read_text(),
        encrypted_private_key=(tmp / "client_rsa").read_text(),
        root=root,
        log=log,
        process=proc,
    )


def stop_sftp_server(server: SftpServer) -> None:
    """Stops sshd (the process this module started) and removes its temp dir."""
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
    shutil.rmtree(server.root.parent, ignore_errors=True)


@pytest.fixture(scope="session")
def sftp_server() -> Iterator[SftpServer]:
    """A running OpenSSH SFTP server for the session (see the module doc)."""
    server = start_sftp_server()
    try:
        yield server
    finally:
        stop_sftp_server(server)


@pytest.fixture
def sftp(sftp_server: SftpServer) -> Iterator[SftpServer]:
    """The session's server with an empty upload directory."""
    sftp_server.clear()
    yield sftp_server
    sftp_server.clear()
