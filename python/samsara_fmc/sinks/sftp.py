"""The SFTP sink: one CSV file per batch on the FMC's SFTP server, over paramiko.

A batch for ``stream`` under ``key`` becomes ``<directory>/<stream>/<key>.csv``, the key's segments as
subdirectories (``…/vehicle_stats/org1/vehicle-stats/e0001/00000042.csv``), created as needed. The file
is written as ``<name>.csv.part`` and then renamed over the final name (OpenSSH's atomic
``posix-rename``; on servers without it, or that deny it, the old file is removed first and the rename
is not atomic), so a reader that skips ``*.part`` never sees half a file, and a re-delivery of the key
replaces the file.

CSV: UTF-8, RFC 4180 quoting, ``\\r\\n`` line ends, a header row. Columns come from the stream's record
type (:func:`samsara_fmc.records.csv_header`; keys a record has beyond it are appended in first-seen
order); for a stream without one, the union of the batch's keys in first-seen order. Objects and
arrays are written as compact JSON text, ``null`` and absent fields as empty cells, booleans as
``true``/``false``.

The server's host key is pinned: the connection is refused before authenticating (so before any
write) unless the key's SHA-256 fingerprint equals ``SFTP_HOST_KEY_FINGERPRINT``.

Secrets (:meth:`SftpSink.from_secrets`):

======================================  ==========================================================
``SFTP_HOST``                           the server's host name or address
``SFTP_PORT``                           its port (default ``22``)
``SFTP_USERNAME``                       the login
``SFTP_PASSWORD``                       password auth, or:
``SFTP_PRIVATE_KEY``                    key auth: the private key's text (PEM or OpenSSH; RSA, ECDSA
                                        or Ed25519); a password too is tried when the key is refused
``SFTP_PRIVATE_KEY_PASSPHRASE``         the key's passphrase, when it is encrypted
``SFTP_HOST_KEY_FINGERPRINT``           ``SHA256:<base64>``, as ``ssh-keygen -lf`` prints it for the
                                        server's host key (``ssh-keyscan -p PORT HOST | ssh-keygen
                                        -lf -`` from a trusted network)
``SFTP_DIRECTORY``                      the directory files go under (absolute, or relative to the
                                        login directory)
======================================  ==========================================================

A password, key or passphrase never appears in an error, a log line or the sink's ``repr``.

Connection failures (refused, reset, timed out, dropped mid-transfer) are retried with a new
connection, a few times with backoff, then raised as :class:`DeliveryError`; a refused login, a wrong
host key and a directory the login cannot write to are :class:`ConfigurationError` at once.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import errno
import hashlib
import io
import logging
import posixpath
import re
import secrets as _secrets
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from samsara_fmc import records as _records
from samsara_fmc.exceptions import ConfigurationError, DeadlineExceeded, DeliveryError
from samsara_fmc.sinks import Batch, DeliveryResult, Sink, check_key, check_stream

__all__ = ["SftpSink", "host_key_fingerprint"]

log = logging.getLogger(__name__)

_FINGERPRINT = re.compile(r"^SHA256:([A-Za-z0-9+/]{43})=?$")
_FINGERPRINT_HINT = (
    "run `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` on the server (or `ssh-keyscan -p PORT HOST"
    " | ssh-keygen -lf -` from a trusted network) and set `SFTP_HOST_KEY_FINGERPRINT` to the"
    " `SHA256:…` it prints"
)


def host_key_fingerprint(key_blob: bytes) -> str:
    """The ``SHA256:<base64>`` fingerprint of a public host key (its wire form), as ssh-keygen prints it."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(key_blob).digest()).decode().rstrip("=")


def _parse_fingerprint(value: str) -> str | None:
    """The ``SHA256:…`` fingerprint in ``value`` (also a whole ``ssh-keygen -lf`` line), or ``None``."""
    for token in value.split():
        m = _FINGERPRINT.match(token)
        if m:
            return f"SHA256:{m.group(1)}"
    return None


class _Retryable(Exception):
    """A connection-level failure: worth a new connection and another attempt."""


class SftpSink:
    """Delivers batches as CSV files to an SFTP server (see the module doc).

    Args:
        host: The server's host name or address.
        username: The login.
        host_key_fingerprint: The pinned host key, ``SHA256:<base64>``.
        directory: Where files go (absolute, or relative to the login directory).
        port: The server's port.
        password: Password auth (also tried after a refused key).
        private_key: Key auth: the private key's text (PEM or OpenSSH).
        private_key_passphrase: The key's passphrase.
        timeout: Seconds for connecting, the SSH handshake and each SFTP request.
        retry_delays: Seconds to wait before each retry of a failed connection; its length is the
            number of retries.
    """

    name = "sftp"
    thread_safe = True
    """One connection, used under a lock."""
    replaces_by_key = True
    """A re-delivery of a key replaces its file (the engine needs no outbox)."""

    def __init__(
        self,
        *,
        host: str,
        username: str,
        host_key_fingerprint: str,
        directory: str,
        port: int = 22,
        password: str | None = None,
        private_key: str | None = None,
        private_key_passphrase: str | None = None,
        timeout: float = 20.0,
        retry_delays: Sequence[float] = (1.0, 3.0, 9.0),
    ) -> None:
        pinned = _parse_fingerprint(host_key_fingerprint)
        if pinned is None:
            msg = f"invalid SFTP host key fingerprint `{host_key_fingerprint}`: {_FINGERPRINT_HINT}"
            raise ConfigurationError(msg)
        if not password and not private_key:
            msg = "the SFTP sink needs a password or a private key: set `SFTP_PASSWORD` or `SFTP_PRIVATE_KEY`"
            raise ConfigurationError(msg)
        if not directory.strip():
            msg = (
                "the SFTP sink needs a directory: set `SFTP_DIRECTORY` (absolute, or relative to the login's)"
            )
            raise ConfigurationError(msg)
        self.host = host
        self.port = port
        self.username = username
        self.fingerprint = pinned
        self.directory = directory.rstrip("/") or "/"
        self.timeout = timeout
        self.retry_delays = tuple(retry_delays)
        self._password = password or None
        self._passphrase = private_key_passphrase or None
        self._pkey = _load_private_key(private_key, self._passphrase) if private_key else None
        self._transport: Any = None
        self._sftp: Any = None
        self._made_dirs: set[str] = set()
        self._columns: dict[str, Callable[[str], bool]] = {}
        self._posix_rename = True
        self._lock = threading.RLock()

    @classmethod
    def from_secrets(cls, secrets: Mapping[str, str], **options: Any) -> SftpSink:
        """The sink the ``SFTP_*`` secrets describe (see the module doc); ``options`` go to the constructor.

        Raises:
            ConfigurationError: One error naming every secret that is missing or wrong, and the fix.
        """

        def get(name: str) -> str:
            return (secrets.get(name) or "").strip()

        problems: list[str] = []
        missing = [n for n in ("SFTP_HOST", "SFTP_USERNAME", "SFTP_DIRECTORY") if not get(n)]
        password = secrets.get("SFTP_PASSWORD") or ""
        private_key = get("SFTP_PRIVATE_KEY")
        passphrase = secrets.get("SFTP_PRIVATE_KEY_PASSPHRASE") or ""
        if not password and not private_key:
            missing.append("`SFTP_PASSWORD` or `SFTP_PRIVATE_KEY`")
        fingerprint = get("SFTP_HOST_KEY_FINGERPRINT")
        if missing:
            names = ", ".join(m if m.startswith("`") else f"`{m}`" for m in missing)
            problems.append(f"set {names}")
        port_text = get("SFTP_PORT") or "22"
        port = int(port_text) if port_text.isdigit() else 0
        if not 1 <= port <= 65535:
            problems.append(f"`SFTP_PORT` `{port_text}` is not a port number: use 1 to 65535 (default 22)")
        if not fingerprint:
            problems.append(f"the host key is not pinned: {_FINGERPRINT_HINT}")
        elif _parse_fingerprint(fingerprint) is None:
            problems.append(
                f"`SFTP_HOST_KEY_FINGERPRINT` `{fingerprint}` is not a SHA-256 fingerprint:"
                f" {_FINGERPRINT_HINT}"
            )
        if private_key:
            try:
                _load_private_key(private_key, passphrase or None)
            except ConfigurationError as e:
                problems.append(str(e))
        if problems:
            msg = "the SFTP sink is not configured: " + "; ".join(problems)
            raise ConfigurationError(_scrub(msg, password, passphrase, private_key))
        return cls(
            host=get("SFTP_HOST"),
            port=port,
            username=get("SFTP_USERNAME"),
            password=password or None,
            private_key=private_key or None,
            private_key_passphrase=passphrase or None,
            host_key_fingerprint=fingerprint,
            directory=get("SFTP_DIRECTORY"),
            **options,
        )

    def __repr__(self) -> str:
        auth = "key" if self._pkey is not None else "password"
        return (
            f"SftpSink(host={self.host!r}, port={self.port}, username={self.username!r},"
            f" directory={self.directory!r}, auth={auth!r})"
        )

    # --- paths and CSV -----------------------------------------------------------------------------

    def path(self, stream: str, key: str) -> str:
        """The remote path a batch for ``stream`` under ``key`` is written to."""
        return posixpath.join(self.directory, check_stream(stream), check_key(key) + ".csv")

    def restrict_columns(self, stream: str, keep: Callable[[str], bool]) -> None:
        """Writes only the top-level columns ``keep`` accepts for ``stream`` (privacy rules use it)."""
        self._columns[stream] = keep

    def header(self, stream: str, rows: Sequence[Mapping[str, Any]]) -> list[str]:
        """The CSV header of a batch: the record type's columns then extra keys, or the batch's keys."""
        header = list(_records.csv_header(stream) or [])
        seen = set(header)
        for r in rows:
            for k in r:
                if k not in seen:
                    seen.add(k)
                    header.append(k)
        keep = self._columns.get(stream)
        return [h for h in header if h == "id" or keep is None or keep(h)]

    def to_csv(self, stream: str, batch: Batch) -> bytes:
        """The batch as the CSV file's bytes."""
        rows = batch.records()
        t = _records.for_stream(stream)
        if t is not None and not t.version_written:
            rows = [r if "schemaVersion" in r else {**r, "schemaVersion": t.version} for r in rows]
        return _records.write_csv(self.header(stream, rows), rows)

    # --- delivery ----------------------------------------------------------------------------------

    def deliver(
        self, stream: str, key: str, batch: Batch, *, deadline: float | None = None
    ) -> DeliveryResult:
        """Writes the batch's CSV to :meth:`path` as ``*.part``, then renames it over the final name."""
        final = self.path(stream, key)
        data = self.to_csv(stream, batch)
        with self._lock:
            self._with_retries(lambda sftp: self._write(sftp, final, data), f"write `{final}`", deadline)
        return DeliveryResult(records=len(batch), location=final, details={"bytes": len(data)})

    def deliver_file(
        self, stream: str, key: str, data: bytes, *, content_type: str, deadline: float | None = None
    ) -> DeliveryResult:
        """Writes ``data`` to ``<directory>/<stream>/<key>`` as ``*.part``, then renames it over the
        final name, as batches are (``content_type`` has no place on SFTP)."""
        final = posixpath.join(self.directory, check_stream(stream), check_key(key))
        with self._lock:
            self._with_retries(lambda sftp: self._write(sftp, final, data), f"write `{final}`", deadline)
        return DeliveryResult(records=0, location=final, details={"bytes": len(data)})

    def check(self, *, deadline: float | None = None) -> None:
        """Connects, authenticates, and writes and removes a probe file in the directory."""
        probe = posixpath.join(self.directory, f".samsara-fmc-check-{_secrets.token_hex(4)}.part")

        def write_probe(sftp: Any) -> None:
            self._makedirs(sftp, self.directory)
            self._sftp_call(lambda: sftp.putfo(io.BytesIO(b"ok\n"), probe, file_size=3, confirm=True), probe)
            self._sftp_call(lambda: sftp.remove(probe), probe)

        with self._lock:
            self._with_retries(write_probe, f"check `{self.directory}`", deadline)

    def close(self) -> None:
        """Closes the SFTP session and the SSH connection."""
        with self._lock:
            self._disconnect()

    def __enter__(self) -> SftpSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- internals ---------------------------------------------------------------------------------

    def _with_retries(self, op: Callable[[Any], None], what: str, deadline: float | None) -> None:
        delays = (*self.retry_delays, None)
        for attempt, delay in enumerate(delays, start=1):
            if deadline is not None and time.time() >= deadline:
                msg = f"the deadline passed before the SFTP sink could {what}"
                raise DeadlineExceeded(msg, attempts=attempt - 1)
            try:
                op(self._connect(deadline))
                return
            except _Retryable as e:
                self._disconnect()
                reason = str(e)
                if delay is None:
                    msg = (
                        f"could not {what} on `{self.host}:{self.port}` after {attempt} attempts: {reason};"
                        " check that the server is up and reachable"
                    )
                    raise DeliveryError(self._scrub(msg)) from None
                if deadline is not None and time.time() + delay >= deadline:
                    msg = f"the deadline would pass before the SFTP sink could {what} again ({reason})"
                    raise DeadlineExceeded(self._scrub(msg), attempts=attempt) from None
                log.warning(
                    "SFTP %s failed (attempt %d): %s; retrying in %.1fs", what, attempt, reason, delay
                )
                time.sleep(delay)

    def _connect(self, deadline: float | None) -> Any:
        if self._sftp is not None and self._transport is not None and self._transport.is_active():
            return self._sftp
        self._disconnect()
        import paramiko

        timeout = self.timeout
        if deadline is not None:
            timeout = max(0.1, min(timeout, deadline - time.time()))
        where = f"`{self.host}:{self.port}`"
        try:
            sock = socket.create_connection((self.host, self.port), timeout=timeout)
        except OSError as e:
            raise _Retryable(
                f"cannot connect to {where} ({self._scrub(str(e)) or type(e).__name__})"
            ) from None
        transport = paramiko.Transport(sock)
        transport.banner_timeout = timeout
        transport.handshake_timeout = timeout
        try:
            transport.start_client(timeout=timeout)
            seen = host_key_fingerprint(transport.get_remote_server_key().asbytes())
        except (paramiko.SSHException, EOFError, OSError) as e:
            transport.close()
            raise _Retryable(
                f"SSH handshake with {where} failed ({self._scrub(str(e)) or type(e).__name__})"
            ) from None
        if seen != self.fingerprint:
            transport.close()
            msg = (
                f"the SFTP server {where} presented the host key `{seen}`, not the pinned"
                f" `SFTP_HOST_KEY_FINGERPRINT` `{self.fingerprint}`: if the server's key really changed,"
                f" set the secret to the new fingerprint ({_FINGERPRINT_HINT}); otherwise something is"
                " intercepting the connection"
            )
            raise ConfigurationError(msg)
        try:
            self._authenticate(transport, paramiko)
            sftp = paramiko.SFTPClient.from_transport(transport)
            if sftp is None:
                raise paramiko.SSHException("the server did not open the sftp subsystem")
            sftp.get_channel().settimeout(self.timeout)
        except ConfigurationError:
            transport.close()
            raise
        except (paramiko.SSHException, EOFError, OSError) as e:
            transport.close()
            raise _Retryable(
                f"SFTP session with {where} failed ({self._scrub(str(e)) or type(e).__name__})"
            ) from None
        self._transport, self._sftp = transport, sftp
        return sftp

    def _authenticate(self, transport: Any, paramiko: Any) -> None:
        tried: list[str] = []
        if self._pkey is not None:
            tried.append("`SFTP_PRIVATE_KEY`")
            with contextlib.suppress(paramiko.AuthenticationException):
                transport.auth_publickey(self.username, self._pkey)
        if not transport.is_authenticated() and self._password is not None:
            tried.append("`SFTP_PASSWORD`")
            with contextlib.suppress(paramiko.AuthenticationException):
                transport.auth_password(self.username, self._password)
        if not transport.is_authenticated():
            msg = (
                f"the SFTP server `{self.host}:{self.port}` refused the login `{self.username}` with"
                f" {' and '.join(tried)}: check `SFTP_USERNAME` and {' and '.join(tried)}"
            )
            raise ConfigurationError(msg)

    def _disconnect(self) -> None:
        sftp, transport = self._sftp, self._transport
        self._sftp = self._transport = None
        self._made_dirs.clear()
        for closable in (sftp, transport):
            if closable is not None:
                try:
                    closable.close()
                except Exception:
                    log.debug("closing the SFTP connection failed", exc_info=True)

    def _sftp_call(self, call: Callable[[], Any], path: str) -> Any:
        """``call()``; a dropped connection is retryable, a refusal by the server is not."""
        try:
            return call()
        except (TimeoutError, EOFError) as e:
            raise _Retryable(f"the connection dropped ({type(e).__name__})") from None
        except OSError as e:
            if self._transport is None or not self._transport.is_active():
                raise _Retryable(f"the connection dropped ({type(e).__name__})") from None
            if e.errno in (errno.EACCES, errno.EPERM):
                msg = (
                    f"the SFTP server refused to let `{self.username}` write `{path}`: make `SFTP_DIRECTORY`"
                    f" `{self.directory}` writable by it, or point the secret at a directory that is"
                )
                raise ConfigurationError(msg) from None
            msg = f"the SFTP server refused `{path}`: {self._scrub(str(e))}"
            raise DeliveryError(msg) from None
        except Exception as e:
            import paramiko

            if isinstance(e, paramiko.SSHException):
                raise _Retryable(
                    f"the connection dropped ({self._scrub(str(e)) or type(e).__name__})"
                ) from None
            raise

    def _makedirs(self, sftp: Any, directory: str) -> None:
        if directory in self._made_dirs or directory in ("", "/", "."):
            return
        try:
            is_dir = self._sftp_call(lambda: _is_dir(sftp, directory), directory)
        except DeliveryError:
            is_dir = False
        if not is_dir:
            self._makedirs(sftp, posixpath.dirname(directory))
            try:
                self._sftp_call(lambda: sftp.mkdir(directory), directory)
            except DeliveryError:
                # Another writer may have made it meanwhile; anything else shows up on the write.
                if not self._sftp_call(lambda: _is_dir(sftp, directory), directory):
                    raise
        self._made_dirs.add(directory)

    def _write(self, sftp: Any, final: str, data: bytes) -> None:
        self._makedirs(sftp, posixpath.dirname(final))
        part = final + ".part"
        self._sftp_call(lambda: sftp.putfo(io.BytesIO(data), part, file_size=len(data), confirm=True), part)
        if self._posix_rename:
            try:
                self._sftp_call(lambda: sftp.posix_rename(part, final), final)
                return
            except (DeliveryError, ConfigurationError):
                # The server lacks posix-rename@openssh.com, or its policy denies it (OpenSSH's
                # `sftp-server -P posix-rename` answers "permission denied").
                log.info("SFTP server `%s` does not allow posix-rename: renaming in two steps", self.host)
                self._posix_rename = False
        # SFTP v3 rename does not replace a file, so the old one goes first (not atomic).
        if self._sftp_call(lambda: _exists(sftp, final), final):
            self._sftp_call(lambda: sftp.remove(final), final)
        self._sftp_call(lambda: sftp.rename(part, final), final)

    def _scrub(self, text: str) -> str:
        return _scrub(text, self._password, self._passphrase)


def _is_dir(sftp: Any, path: str) -> bool:
    import stat

    try:
        return stat.S_ISDIR(sftp.stat(path).st_mode or 0)
    except FileNotFoundError:
        return False
    except OSError as e:
        if e.errno == errno.ENOENT:
            return False
        raise


def _exists(sftp: Any, path: str) -> bool:
    try:
        sftp.stat(path)
    except OSError as e:
        if isinstance(e, FileNotFoundError) or e.errno == errno.ENOENT:
            return False
        raise
    return True


def _scrub(text: str, *secret_values: str | None) -> str:
    for value in secret_values:
        if value and len(value) >= 4:
            text = text.replace(value, "***")
    return text


def _load_private_key(text: str, passphrase: str | None) -> Any:
    """A paramiko key from PEM or OpenSSH text, or a :class:`ConfigurationError` that quotes none of it."""
    import paramiko

    if "\\n" in text and "\n" not in text.strip():
        # Pasted into a one-line secret with escaped newlines.
        text = text.replace("\\n", "\n")
    text = text.strip() + "\n"
    if "PRIVATE KEY-----" not in text:
        msg = (
            "`SFTP_PRIVATE_KEY` is not a private key: paste the whole key file, from"
            " `-----BEGIN … PRIVATE KEY-----` to the END line"
        )
        raise ConfigurationError(msg)
    kinds = [getattr(paramiko, n) for n in ("Ed25519Key", "ECDSAKey", "RSAKey") if hasattr(paramiko, n)]
    encrypted = False
    for kind in kinds:
        try:
            return kind.from_private_key(io.StringIO(text), password=passphrase)
        except paramiko.PasswordRequiredException:
            encrypted = True
        except (paramiko.SSHException, ValueError, TypeError, binascii.Error, IndexError):
            continue
    if encrypted and not passphrase:
        msg = "`SFTP_PRIVATE_KEY` is encrypted: set `SFTP_PRIVATE_KEY_PASSPHRASE` to its passphrase"
    elif passphrase:
        msg = (
            "`SFTP_PRIVATE_KEY` cannot be read with `SFTP_PRIVATE_KEY_PASSPHRASE`: check the passphrase,"
            " and that the key is RSA, ECDSA or Ed25519 in PEM or OpenSSH form"
        )
    else:
        msg = "`SFTP_PRIVATE_KEY` cannot be read: use an RSA, ECDSA or Ed25519 key in PEM or OpenSSH form"
    raise ConfigurationError(msg)


if TYPE_CHECKING:  # the sink implements the protocol
    _checked: Sink = SftpSink(host="h", username="u", host_key_fingerprint="", directory="", password="p")
