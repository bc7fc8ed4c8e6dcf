"""Object stores for checkpoints and delivered records: Function Storage (S3), a local directory, memory.

Every write replaces a whole object atomically (S3 ``put_object``; a temp file and ``os.replace``
locally), so a reader never sees half a checkpoint or half a page.
"""

from __future__ import annotations

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


def _check_key(key: str) -> str:
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        msg = f"invalid storage key `{key}`: use relative keys like `checkpoints/stream.json`"
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


def _error_code(e: BaseException) -> str:
    response = getattr(e, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""
