"""OAuth 2.0 against the sandbox's authorization server: rotating refresh tokens kept in storage, a
refresh once on a 401, and a revoked grant that ends the run with "re-authorise"."""

from __future__ import annotations

import base64
import json
import urllib.parse
import urllib.request
from typing import Any

import pytest

from samsara_fmc.runtime import FunctionRuntime
from samsara_fmc.storage import MemoryStorage
from tests.support.sandbox import SandboxProcess
from tests.test_runtime import VEHICLE_STATS, FakeSecrets

pytestmark = pytest.mark.sandbox
CLIENT = ("sandbox-client", "sandbox-secret")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _form(sb: SandboxProcess, path: str, fields: dict[str, str]) -> dict[str, Any]:
    basic = base64.b64encode(":".join(CLIENT).encode()).decode()
    req = urllib.request.Request(
        sb.url + path,
        data=urllib.parse.urlencode(fields).encode(),
        headers={"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        raw = resp.read()
    return dict(json.loads(raw)) if raw else {}


def grant(sb: SandboxProcess) -> str:
    """The refresh token of a new grant (the authorization-code flow a user completes once)."""
    query = urllib.parse.urlencode(
        {
            "client_id": CLIENT[0],
            "state": "s1",
            "response_type": "code",
            "redirect_uri": "http://127.0.0.1/cb",
        }
    )
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        opener.open(f"{sb.url}/oauth2/authorize?{query}", timeout=10)
    except urllib.error.HTTPError as e:
        location = e.headers["Location"]
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)["code"][0]
    return str(
        _form(sb, "/oauth2/token", {"grant_type": "authorization_code", "code": code})["refresh_token"]
    )


def runtime(sb: SandboxProcess, storage: MemoryStorage, refresh: str) -> FunctionRuntime:
    secrets = {
        "SAMSARA_BASE_URL": sb.url,
        "SAMSARA_OAUTH_CLIENT_ID": CLIENT[0],
        "SAMSARA_OAUTH_CLIENT_SECRET": CLIENT[1],
        "SAMSARA_OAUTH_REFRESH_TOKEN": refresh,
    }
    return FunctionRuntime(VEHICLE_STATS, storage=storage, secret_source=FakeSecrets(secrets))


EVENT = {
    "types": "engineStates",
    "SamsaraFunctionTriggerSource": "manual",
    "SamsaraFunctionCorrelationId": "c1",
}


def test_oauth_rotates_refreshes_on_401_and_asks_to_reauthorise(
    sandbox: SandboxProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    storage = MemoryStorage()
    first_refresh = grant(sandbox)
    out = runtime(sandbox, storage, first_refresh).invoke(EVENT, None)
    assert out["ok"] and out["records"] > 0, out
    stored = json.loads(storage.objects["oauth/vehicle-stats.json"])
    assert stored["refreshToken"] != first_refresh, "the rotated refresh token is kept"
    # A cold container: the stored refresh token is used, not the spent one in the secret.
    sandbox.advance(3700)  # the access token has expired on Samsara's clock: a 401, then one refresh
    again = runtime(sandbox, storage, first_refresh).invoke(
        {**EVENT, "SamsaraFunctionCorrelationId": "c2"}, None
    )
    assert again["ok"], again
    rotated = json.loads(storage.objects["oauth/vehicle-stats.json"])
    assert rotated["refreshToken"] != stored["refreshToken"]
    _form(sandbox, "/oauth2/revoke", {"token": rotated["refreshToken"]})
    sandbox.advance(3700)
    revoked = runtime(sandbox, storage, first_refresh).invoke(
        {**EVENT, "SamsaraFunctionCorrelationId": "c3"}, None
    )
    assert revoked["ok"] is False and "re-authorise" in revoked["message"]
    health = json.loads(storage.objects["health/vehicle-stats.json"])
    assert "re-authorise" in health["lastError"]
    printed = capsys.readouterr().out + json.dumps([out, again, revoked])
    for token in (first_refresh, stored["refreshToken"], stored["accessToken"], rotated["accessToken"]):
        assert token not in printed, "no token reaches a log line or a summary"
    fresh = grant(sandbox)
    assert runtime(sandbox, storage, fresh).invoke({**EVENT, "SamsaraFunctionCorrelationId": "c4"}, None)[
        "ok"
    ], "a new grant pasted into the secret is picked up"


def test_missing_auth_names_both_ways() -> None:
    secrets = {"SAMSARA_OAUTH_CLIENT_ID": "x"}
    rt = FunctionRuntime(VEHICLE_STATS, storage=MemoryStorage(), secret_source=FakeSecrets(secrets))
    out = rt.invoke(EVENT, None)
    assert out["ok"] is False and "`SAMSARA_API_TOKEN`" in out["message"]
    assert (
        "`SAMSARA_OAUTH_CLIENT_SECRET`" in out["message"]
        and "`SAMSARA_OAUTH_CLIENT_ID`" not in out["message"]
    )
