"""Object stores for state and delivered records: Function Storage (S3), a local directory, memory.

Every write replaces a whole object atomically (S3 ``put_object``; a temp file and ``os.replace``
locally), so a reader never sees half a state document or half a page. Conditional writes
(:meth:`ObjectStore.put_if`) let two runs that race for the same state or lease find out: the
local and memory stores compare under a lock; Function Storage sends S3's ``If-Match`` /
``If-None-Match`` and reads the object back, so a store that ignores the condition is caught too.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
import threading
from pathlib import Path
from typing import Any, Protocol

from samsara_fmc.exceptions import ConfigurationError, DeliveryError

__all__ = ["FunctionStorage", "LocalStorage", "MemoryStorage", "ObjectStore"]


class ObjectStore(Protocol):
    """Whole-object get and put by key."""

    def get(self, key: str) -> bytes | None:
        """The object's bytes, or ``None`` when there is none."""
        ...

    def put(self, key: str, data: bytes, *, content_type: str = "application/json") -> None:
        """Creates or replaces the object."""
        ...

    def get_versioned(self, key: str) -> tuple[bytes | None, str | None]:
        """The object's bytes and version (``None``, ``None`` when there is none)."""
        ...

    def put_if(self, key: str, data: bytes, *, version: str | None) -> bool:
        """Writes only if the object is still at ``version`` (``None``: only if it does not exist).

        Returns whether the write happened.
        """
        ...

    def delete(self, key: str) -> None:
        """Removes the object (no error when there is none)."""
        ...


def _version(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


def _check_key(key: str) -> str:
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        msg = f"invalid storage key `{key}`: use relative keys like `state/org/stream.json`"
        raise ConfigurationError(msg)
    return key


class MemoryStorage:
    """An in-memory store, for tests."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            return self.objects.get(_check_key(key))

    def put(self, key: str, data: bytes, *, content_type: str = "application/json") -> None:
        with self._lock:
            self.objects[_check_key(key)] = bytes(data)

    def get_versioned(self, key: str) -> tuple[bytes | None, str | None]:
        data = self.get(key)
        return data, None if data is None else _version(data)

    def put_if(self, key: str, data: bytes, *, version: str | None) -> bool:
        with self._lock:
            current = self.objects.get(_check_key(key))
            if (None if current is None else _version(current)) != version:
                return False
            self.objects[key] = bytes(data)
            return True

    def delete(self, key: str) -> None:
        with self._lock:
            self.objects.pop(_check_key(key), None)


class LocalStorage:
    """Objects as files under ``root``, written atomically; for running outside Functions."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def get(self, key: str) -> bytes | None:
        try:
            return (self.root / _check_key(key)).read_bytes()
        except FileNotFoundError:
            return None

    def put(self, key: str, data: bytes, *, content_type: str = "application/json") -> None:
        path = self.root / _check_key(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get_versioned(self, key: str) -> tuple[bytes | None, str | None]:
        data = self.get(key)
        return data, None if data is None else _version(data)

    def put_if(self, key: str, data: bytes, *, version: str | None) -> bool:
        path = self.root / _check_key(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.parent / f".{path.name}.lock", "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                if self.get_versioned(key)[1] != version:
                    return False
                self.put(key, data)
                return True
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def delete(self, key: str) -> None:
        (self.root / _check_key(key)).unlink(missing_ok=True)


class FunctionStorage:
    """Samsara Function Storage: the S3 bucket named by ``SamsaraFunctionStorageName``.

    Credentials come from STS ``assume_role`` on ``SamsaraFunctionExecRoleArn``, as the runtime
    expects. Build it while the handler module is imported (``samsara-fn`` swaps in its fake boto3
    only then); it keeps that ``boto3`` to refresh expired credentials later, in a warm container.
    """

    def __init__(self, boto3_module: Any, *, bucket: str, role_arn: str, session_name: str) -> None:
        self._boto3 = boto3_module
        self.bucket = bucket
        self._role_arn = role_arn
        self._session_name = session_name
        self._client = self._connect()

    @classmethod
    def from_environment(cls) -> FunctionStorage:
        """Function Storage as the Functions runtime describes it in the environment."""
        import boto3

        names = ["SamsaraFunctionStorageName", "SamsaraFunctionExecRoleArn", "SamsaraFunctionName"]
        missing = [n for n in names if not os.environ.get(n)]
        if missing:
            msg = f"Function Storage needs the environment variables {', '.join(f'`{m}`' for m in missing)}"
            raise ConfigurationError(msg + ", which the Functions runtime sets; outside it use LocalStorage")
        return cls(
            boto3,
            bucket=os.environ["SamsaraFunctionStorageName"],
            role_arn=os.environ["SamsaraFunctionExecRoleArn"],
            session_name=os.environ["SamsaraFunctionName"],
        )

    def _connect(self) -> Any:
        sts = self._boto3.client("sts")
        creds = sts.assume_role(RoleArn=self._role_arn, RoleSessionName=self._session_name)["Credentials"]
        return self._boto3.client(
            "s3",
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )

    def _call(self, op: str, **kwargs: Any) -> Any:
        try:
            return getattr(self._client, op)(Bucket=self.bucket, **kwargs)
        except Exception as e:
            if _error_code(e) in {"ExpiredToken", "ExpiredTokenException", "InvalidToken"}:
                self._client = self._connect()
                return getattr(self._client, op)(Bucket=self.bucket, **kwargs)
            raise

    def get(self, key: str) -> bytes | None:
        try:
            body: bytes = self._call("get_object", Key=_check_key(key))["Body"].read()
        except Exception as e:
            if _error_code(e) in {"NoSuchKey", "404", "NotFound"} or type(e).__name__ == "NoSuchKey":
                return None
            raise
        return body

    def put(self, key: str, data: bytes, *, content_type: str = "application/json") -> None:
        try:
            self._call("put_object", Key=_check_key(key), Body=data, ContentType=content_type)
        except Exception as e:
            msg = f"Function Storage refused `{key}` ({len(data)} bytes): {type(e).__name__}: {e}"
            raise DeliveryError(msg) from e

    def get_versioned(self, key: str) -> tuple[bytes | None, str | None]:
        try:
            response = self._call("get_object", Key=_check_key(key))
        except Exception as e:
            if _error_code(e) in {"NoSuchKey", "404", "NotFound"} or type(e).__name__ == "NoSuchKey":
                return None, None
            raise
        body: bytes = response["Body"].read()
        return body, str(response.get("ETag") or _version(body))

    def put_if(self, key: str, data: bytes, *, version: str | None) -> bool:
        if self.get_versioned(key)[1] != version:
            return False
        condition = {"IfNoneMatch": "*"} if version is None else {"IfMatch": version}
        try:
            self._call(
                "put_object", Key=_check_key(key), Body=data, ContentType="application/json", **condition
            )
        except Exception as e:
            if _error_code(e) in {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}:
                return False
            msg = f"Function Storage refused `{key}` ({len(data)} bytes): {type(e).__name__}: {e}"
            raise DeliveryError(msg) from e
        # A store that ignores the condition (a stand-in) is caught by reading back: the last
        # writer wins there, and a loser sees someone else's bytes.
        return self.get(key) == data

    def delete(self, key: str) -> None:
        self._call("delete_object", Key=_check_key(key))


def _error_code(e: BaseException) -> str:
    response = getattr(e, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""
