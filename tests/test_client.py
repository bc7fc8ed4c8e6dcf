"""The client against a scripted loopback server."""

from __future__ import annotations

import datetime as dt
import inspect
import json
import socket
import threading
import time
from typing import Any

import pytest

import samsara_fmc as s
from samsara_fmc import _core
from tests.conftest import MiniFeed, Reply, ScriptedServer

TOKEN = "samsara_api_SECRETSECRET"


def make(server: ScriptedServer, **kw: object) -> s.Client:
    kw.setdefault("retry", s.RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.01))
    return s.Client(token=TOKEN, base_url=server.url, **kw)  # type: ignore[arg-type]


def test_headers_and_json(server: ScriptedServer) -> None:
    server.script = [Reply(body={"data": {"id": "7", "name": "Acme"}})]
    assert make(server).get("/me") == {"data": {"id": "7", "name": "Acme"}}
    h = server.seen[0].headers
    assert h["authorization"] == f"Bearer {TOKEN}"
    assert h["x-samsara-version"] == "2025-06-11"
    assert h["user-agent"].startswith(f"samsara-fmc/{s.__version__}")


def test_integers_beyond_18_digits_decode_exactly(server: ScriptedServer) -> None:
    # `/v1/fleet/trips` marks a trip in progress with `endMs` 2^63 - 1 (19 digits).
    text = b'{"trips": [{"endMs": 9223372036854775807, "big": 123456789012345678901234}]}'
    server.script = [Reply(body=text)]
    body = make(server).get("/v1/fleet/trips")
    assert body == {"trips": [{"endMs": 2**63 - 1, "big": 123456789012345678901234}]}


def test_pages_follow_empty_pages_and_resume(server: ScriptedServer) -> None:
    server.script = [
        Reply(body={"data": [{"id": "1"}], "pagination": {"endCursor": "c1", "hasNextPage": True}}),
        Reply(body={"data": [], "pagination": {"endCursor": "c2", "hasNextPage": True}}),
        Reply(body={"data": [{"id": "2"}], "pagination": {"endCursor": "", "hasNextPage": False}}),
        Reply(body={"data": [{"id": "3"}], "pagination": {"endCursor": "c9", "hasNextPage": False}}),
    ]
    client = make(server)
    pages = list(client.pages("/fleet/vehicles", params={"limit": 512, "tagIds": ["1", "2"]}))
    assert [p.data for p in pages] == [[{"id": "1"}], [], [{"id": "2"}]]
    assert [p.cursor for p in pages] == ["c1", "c2", "c2"]
    assert [p.has_next_page for p in pages] == [True, True, False]
    assert server.seen[0].query == {"limit": ["512"], "tagIds": ["1,2"]}
    assert server.seen[2].query["after"] == ["c2"]
    resumed = list(client.pages("/fleet/vehicles", after="c2"))
    assert resumed[0].data == [{"id": "3"}] and server.seen[3].query["after"] == ["c2"]


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, s.BadRequestError),
        (401, s.AuthenticationError),
        (403, s.PermissionDeniedError),
        (404, s.NotFoundError),
        (405, s.BadRequestError),
        (429, s.RateLimitError),
        (500, s.ServerError),
        (503, s.ServerError),
    ],
)
def test_status_errors(server: ScriptedServer, status: int, cls: type[s.ApiStatusError]) -> None:
    server.script = [Reply(status, {"message": "nope", "requestId": "req-77"}, {"Retry-After": "0.002"})]
    with pytest.raises(cls) as info:
        make(server).get("/defects/stream")
    e = info.value
    assert (e.status_code, e.request_id, e.method, e.path) == (status, "req-77", "GET", "/defects/stream")
    assert e.attempts == (3 if status in (429, 500, 503) else 1)
    assert TOKEN not in str(e) and TOKEN not in repr(e.args)
    if status == 403:
        assert isinstance(e, s.PermissionDeniedError)
        assert e.required_scope == "Read Defects" and "`Read Defects`" in str(e)
    if status == 429:
        assert isinstance(e, s.RateLimitError)
        assert e.retry_after_s == pytest.approx(0.002)


def test_plain_text_5xx_and_bad_json(server: ScriptedServer) -> None:
    server.script = [Reply(502, b"<html>Bad Gateway</html>")]
    with pytest.raises(s.ServerError, match="Bad Gateway"):
        make(server).get("/me")
    server.script = [Reply(200, b'{"data": [1, 2')]
    with pytest.raises(s.ResponseDecodeError, match="not valid JSON"):
        make(server).get("/me")
    server.script = [Reply(200, {"data": [], "pagination": {"endCursor": "", "hasNextPage": True}})]
    with pytest.raises(s.ResponseDecodeError, match="endCursor"):
        list(make(server).pages("/fleet/vehicles"))


def test_transport_errors_are_typed() -> None:
    client = s.Client(
        token=TOKEN, base_url="http://127.0.0.1:9", retry=s.RetryPolicy(max_attempts=2, base_delay=0.001)
    )
    with pytest.raises(s.TransportError) as info:
        client.get("/me")
    assert isinstance(info.value, s.ConnectError), "refused: nothing was sent"
    assert info.value.attempts == 2 and TOKEN not in str(info.value)


def test_deadline(server: ScriptedServer) -> None:
    server.script = [Reply(429, {"message": "slow down"}, {"Retry-After": "5"})]
    client = make(server, retry=s.RetryPolicy(max_attempts=5, max_delay=30))
    start = time.monotonic()
    with pytest.raises(s.DeadlineExceeded):
        client.get("/me", deadline=time.time() + 1.0)
    assert time.monotonic() - start < 0.5, "gave up at once instead of sleeping past the deadline"
    with pytest.raises(s.DeadlineExceeded):
        client.get("/me", deadline=time.time() - 1)


def test_gil_is_released_during_io(server: ScriptedServer) -> None:
    server.script = [Reply(body={"data": {}}, delay=0.3)]
    ticks = 0
    stop = threading.Event()

    def spin() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0.001)

    t = threading.Thread(target=spin)
    t.start()
    make(server).get("/me")
    stop.set()
    t.join()
    assert ticks > 50, "another Python thread ran while the request was in flight"


def test_writes(server: ScriptedServer) -> None:
    server.script = [Reply(500, {"message": "x"}), Reply(200, {"data": {"id": "1", "isResolved": True}})]
    client = make(server)
    with pytest.raises(s.ServerError):
        client.request("PATCH", "/fleet/defects/1", json_body={"isResolved": True})
    assert len(server.seen) == 1, "a non-idempotent write is not repeated after a 5xx"
    got = client.request("PATCH", "/fleet/defects/1", json_body={"isResolved": True}, idempotent=True)
    assert got["data"]["isResolved"] is True
    assert json.loads(server.seen[-1].body) == {"isResolved": True}
    server.script = [Reply(204, b"")]
    assert client.request("DELETE", "/tags/5", idempotent=True) is None


def test_params_and_ids() -> None:
    when = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    assert s.encode_params({"types": ["gps", "engineStates"], "x": None, "b": False, "t": when, "n": 3}) == [
        ("types", "gps,engineStates"),
        ("b", "false"),
        ("t", "2026-11-23T15:00:00.000Z"),
        ("n", "3"),
    ]
    with pytest.raises(s.ConfigurationError, match="naive datetime"):
        s.encode_params({"startTime": dt.datetime(2026, 1, 1)})
    assert s.path_id("samsara.vin:1M8GDM9AXKP042788") == "samsara.vin:1M8GDM9AXKP042788"
    assert s.path_id("12/3") == "12%2F3"


def test_configuration_errors() -> None:
    for kwargs, match in [
        ({"base_url": "http://api.samsara.com"}, "plain-HTTP"),
        ({"region": "mars"}, "unknown region `mars`"),
        ({"api_version": "latest"}, "invalid API version `latest`"),
        ({"retry": s.RetryPolicy(max_attempts=0)}, "max_attempts"),
    ]:
        with pytest.raises(s.ConfigurationError, match=match):
            s.Client(token=TOKEN, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(s.ConfigurationError, match="token is empty"):
        s.Client(token=" ")
    assert "SECRET" not in repr(s.Client(token=TOKEN))
    assert s.Client(token=TOKEN, region="eu").base_url == "https://api.eu.samsara.com/"


def test_stats_pages_convert(server: ScriptedServer, feed: MiniFeed) -> None:
    client = make(server)
    pages = list(client.stats_pages(types=["obdOdometerMeters"], units="imperial"))
    assert len(pages) == feed.pages
    lines = [json.loads(line) for p in pages for line in p.ndjson.splitlines()]
    assert len(lines) == feed.pages * feed.vehicles
    assert lines[0]["unit"] == "mi" and lines[0]["value"] == pytest.approx(1_000_000 / 1609.344)
    assert [p.cursor for p in pages][-1] == f"p{feed.pages}"
    with pytest.raises(s.ConfigurationError, match="1 to 3 stat types"):
        client.stats_pages(types=["gps", "a", "b", "c"])


def test_a_body_cut_short_under_a_valid_content_length_is_retried(server: ScriptedServer) -> None:
    whole = {"data": {"id": "7", "name": "Acme Leasing"}}
    text = json.dumps(whole).encode()
    server.script = [Reply(200, text[: len(text) // 2]), Reply(200, whole)]
    assert make(server).get("/me") == whole
    assert len(server.seen) == 2, "the cut-short answer was fetched again"


def _plain_http_port(accepted: list[int]) -> int:
    """A server answering every connection with a plain-HTTP 400, as a plain server does to TLS."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        with listener:
            while True:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return
                with conn:
                    accepted.append(1)
                    conn.recv(4096)
                    conn.sendall(
                        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    )

    threading.Thread(target=serve, daemon=True).start()
    port: int = listener.getsockname()[1]
    return port


def test_https_to_a_plain_http_server_fails_at_once_and_says_why() -> None:
    accepted: list[int] = []
    port = _plain_http_port(accepted)
    client = s.Client(
        token=TOKEN,
        base_url=f"https://127.0.0.1:{port}",
        retry=s.RetryPolicy(max_attempts=5, base_delay=0.001),
    )
    with pytest.raises(s.ConnectError) as info:
        client.get("/me")
    e = info.value
    assert isinstance(e, s.TransportError)
    assert e.attempts == 1 and len(accepted) == 1, "no retry: it cannot help"
    assert "answered plain HTTP to a TLS handshake" in str(e) and "`http://` only for loopback" in str(e)
    assert TOKEN not in str(e)


def test_a_401_says_to_check_or_replace_the_token_secret(server: ScriptedServer) -> None:
    server.script = [Reply(401, {"message": "Unauthorized", "requestId": "r401"})]
    with pytest.raises(s.AuthenticationError) as info:
        make(server).get("/me")
    text = str(info.value)
    assert "replace it" in text and "`SAMSARA_API_TOKEN`" in text and TOKEN not in text


def test_a_malformed_path_is_a_configuration_error(server: ScriptedServer) -> None:
    server.script = [Reply(body={"data": {}})]
    for path in ("fleet/vehicles", "//elsewhere.example.com/me"):
        with pytest.raises(s.ConfigurationError, match="invalid request path"):
            make(server).get(path)
        with pytest.raises(s.ConfigurationError, match="invalid request path"):
            list(make(server).pages(path))
    assert server.seen == []


def test_defaults_are_the_cores() -> None:
    assert s.client.DEFAULT_API_VERSION == _core.DEFAULT_API_VERSION == "2025-06-11"
    policy = s.RetryPolicy()
    assert (policy.max_attempts, policy.base_delay, policy.max_delay, policy.max_elapsed) == (
        _core.DEFAULT_MAX_ATTEMPTS,
        _core.DEFAULT_BASE_DELAY,
        _core.DEFAULT_MAX_DELAY,
        _core.DEFAULT_MAX_ELAPSED,
    )
    params = inspect.signature(s.Client).parameters
    assert params["api_version"].default == _core.DEFAULT_API_VERSION
    assert params["connect_timeout"].default == _core.DEFAULT_CONNECT_TIMEOUT
    assert params["request_timeout"].default == _core.DEFAULT_REQUEST_TIMEOUT


# --- writes, external IDs and typed reads, against the sandbox ------------------------------------------


def sandbox_client(url: str, **kw: object) -> s.Client:
    kw.setdefault("retry", s.RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.01))
    return s.Client(token="sandbox-token", base_url=url, **kw)  # type: ignore[arg-type]


def test_write_methods_take_idempotent_explicitly_and_retry_only_then(server: ScriptedServer) -> None:
    for name in ("post", "patch", "put", "delete"):
        params = inspect.signature(getattr(s.Client, name)).parameters
        assert params["idempotent"].default is inspect.Parameter.empty, f"{name}: idempotent= is required"
    client = make(server)
    for method, call in [
        ("POST", lambda idem: client.post("/tags", json={"name": "x"}, idempotent=idem)),
        ("PATCH", lambda idem: client.patch("/tags/1", json={"name": "x"}, idempotent=idem)),
        ("PUT", lambda idem: client.put("/tags/1", json={"vehicleIds": []}, idempotent=idem)),
        ("DELETE", lambda idem: client.delete("/tags/1", idempotent=idem)),
    ]:
        server.script = [Reply(502, {"message": "x"}), Reply(200, {"data": {"id": "1"}})]
        seen = len(server.seen)
        with pytest.raises(s.ServerError):
            call(False)
        assert len(server.seen) == seen + 1, f"{method}: not repeated after a 5xx unless idempotent"
        server.script = [Reply(502, {"message": "x"}), Reply(200, {"data": {"id": "1"}})]
        assert call(True) == {"data": {"id": "1"}}
        assert [r.method for r in server.seen[-2:]] == [method, method]
    server.script = [Reply(429, {"message": "slow"}, {"Retry-After": "0.001"}), Reply(200, {"data": {}})]
    client.post("/tags", json={"name": "y"}, idempotent=False)
    assert server.seen[-1].method == "POST", "a 429 was not acted on: it is retried even for a create"
    assert json.loads(server.seen[-1].body) == {"name": "y"}


def test_writes_against_the_sandbox(sandbox_url: str) -> None:
    client = sandbox_client(sandbox_url)
    tag = client.post(
        "/tags",
        json={"name": "Day-one tag", "externalIds": s.external_ids({"crmId": "dayone-1"})},
        idempotent=False,
    )["data"]
    assert tag["externalIds"] == {"crmId": "dayone-1"}
    by_ext = client.get("/tags/" + s.path_id(s.external_id("crmId", "dayone-1")))["data"]
    assert by_ext["id"] == tag["id"]
    vehicles = [v["id"] for v in client.vehicles()][:2]
    put = client.put(
        f"/tags/{tag['id']}", json={"name": "Day-one tag", "vehicles": vehicles}, idempotent=True
    )
    assert sorted(v["id"] for v in put["data"]["vehicles"]) == sorted(vehicles)
    patched = client.patch(f"/tags/{tag['id']}", json={"name": "Day-one tag 2"}, idempotent=True)["data"]
    assert patched["name"] == "Day-one tag 2"
    assert client.delete(f"/tags/{tag['id']}", idempotent=True) is None
    assert client.find(f"/tags/{tag['id']}") is None
    with pytest.raises(s.NotFoundError):
        client.delete(f"/tags/{tag['id']}", idempotent=True)


def test_external_ids_are_checked_before_the_request() -> None:
    assert s.external_ids({"maintenanceId": 250020, "payroll2": "Ty_Frec-%01+27+94%", "old": None}) == {
        "maintenanceId": "250020",
        "payroll2": "Ty_Frec-%01+27+94%",
        "old": None,
    }
    for values, match in [
        ({"samsara.vin": "1M8GDM9AXKP042788"}, r"automatic ones \(`samsara\.\*`\)"),
        ({"maintenance_id": "1"}, "`maintenance_id` must be 1 to 32 ASCII letters and digits"),
        ({"k" * 33: "1"}, "must be 1 to 32"),
        ({"crmId": "a b"}, "contains ` `"),
        ({"crmId": "a/b"}, "contains `/`"),
        ({"crmId": "a,b"}, "contains `,`"),
        ({"crmId": "é"}, "contains `é`"),
        ({"crmId": "x" * 129}, "129 characters; at most 128"),
        ({"crmId": 1.5}, "is float"),
        ({"crmId": True}, "is bool"),
    ]:
        with pytest.raises(s.ConfigurationError, match=match):
            s.external_ids(values)  # type: ignore[arg-type]
    record = {"maintenanceId": "250020", "samsara.vin": "1M8GDM9AXKP042788", "samsara.serial": "G1"}
    assert s.writable(record) == {"maintenanceId": "250020"}
    assert s.external_id("payrollId", "ABFS18600") == "payrollId:ABFS18600"
    with pytest.raises(s.ConfigurationError, match="empty value"):
        s.external_id("payrollId", "")


def test_the_sandbox_refuses_what_the_helper_refuses(sandbox_url: str) -> None:
    """The helper's rules are the sandbox's: what it lets through is accepted, what it refuses is a 400."""
    client = sandbox_client(sandbox_url)
    for key, value, ok in [
        ("crmId", "Ty_Frec-%01+27+94%", True),
        ("crmId", "has space", False),
        ("crm_id", "x1", False),
        ("samsara.name", "x2", False),
    ]:
        try:
            s.external_ids({key: value})
            helper_ok = True
        except s.ConfigurationError:
            helper_ok = False
        assert helper_ok is ok, (key, value)
        body = {"name": f"ext {key} {value}", "externalIds": {key: value}}
        if ok:
            tag = client.post("/tags", json=body, idempotent=False)["data"]
            client.delete(f"/tags/{tag['id']}", idempotent=True)
        else:
            with pytest.raises(s.BadRequestError, match="externalIds"):
                client.post("/tags", json=body, idempotent=False)


def test_create_once_never_creates_twice(sandbox_factory: Any) -> None:
    sb = sandbox_factory("--vehicles", "3", "--rate-limits", "off")
    client = sandbox_client(sb.url)
    body = {
        "name": "Dana Day-One",
        "username": "dana.dayone",
        "password": "correct-horse",
        "externalIds": s.external_ids({"payrollId": "DAYONE1"}),
    }
    # The create is stored but its answer lost: the look-up finds it, nothing is sent again.
    sb.faults({"method": "POST", "path": "/fleet/drivers", "kind": "fail_after_commit", "status": 502})
    since = len(sb.requests())
    driver, created = client.create_once("/fleet/drivers", body, key="payrollId")
    assert created and driver["externalIds"]["payrollId"] == "DAYONE1"
    posts = [r for r in sb.requests()[since:] if r["method"] == "POST"]
    assert len(posts) == 1
    # A second run finds it first.
    again, created = client.create_once("/fleet/drivers", body, key="payrollId")
    assert not created and again["id"] == driver["id"]
    named = [d for d in client.drivers() if d.get("externalIds", {}).get("payrollId") == "DAYONE1"]
    assert len(named) == 1
    # A 5xx before anything was stored: looked up, not found, sent again.
    other = {**body, "username": "dana.dayone2", "externalIds": {"payrollId": "DAYONE2"}}
    sb.faults({"method": "POST", "path": "/fleet/drivers", "kind": "status", "status": 503})
    made, created = client.create_once("/fleet/drivers", other, key="payrollId")
    assert created and made["username"] == "dana.dayone2"
    with pytest.raises(s.ConfigurationError, match=r"no `externalIds\.payrollId`"):
        client.create_once("/fleet/drivers", {"name": "x"}, key="payrollId")
    with pytest.raises(s.ConfigurationError, match="automatic"):
        client.create_once("/fleet/drivers", {"externalIds": {"samsara.x": "1"}}, key="samsara.x")


def test_typed_reads(sandbox_url: str) -> None:
    client = sandbox_client(sandbox_url)
    vehicles = list(client.vehicles())
    assert len(vehicles) == 50 and all(v["id"] and "vin" in v for v in vehicles)
    one = client.vehicle("samsara.vin:" + vehicles[0]["vin"])
    assert one["id"] == vehicles[0]["id"]
    drivers = list(client.drivers())
    assert drivers and all(d["driverActivationStatus"] == "active" for d in drivers)
    assert all(d["driverActivationStatus"] == "deactivated" for d in client.drivers(status="deactivated"))
    assert client.driver(drivers[0]["id"])["name"] == drivers[0]["name"]
    assert any(t["name"].endswith("Branch") for t in client.tags())
    start = dt.datetime(2026, 10, 31, tzinfo=dt.UTC)
    defects = list(client.defects(start_time=start))
    assert defects and all(isinstance(d["isResolved"], bool) for d in defects)
    assert any("externalIds" in d.get("vehicle", {}) for d in defects)
    events = list(client.safety_events(start_time=start))
    assert events and all(e["behaviorLabels"] for e in events)
    page = next(iter(client.stats_pages(types=["gps", "obdOdometerMeters"])))
    records = s.stat_records(page.ndjson)
    assert len(records) == page.records and {r["stat"] for r in records} <= {"gps", "obdOdometerMeters"}
    assert repr(page).startswith(f"<StatsPage records={page.records} rejected=0 cursor='")
    tags = next(iter(client.pages("/tags")))
    assert repr(tags) == f"<Page of {len(tags.data)} records cursor={tags.cursor!r} has_next_page=False>"
    one = next(iter(client.pages("/tags", params={"limit": 1})))
    assert repr(one).startswith("<Page of 1 record cursor='") and repr(one).endswith("has_next_page=True>")


def test_stat_types_must_be_a_list(server: ScriptedServer) -> None:
    client = make(server)
    with pytest.raises(s.ConfigurationError, match=r"not the string `'gps'`: write types=\['gps'\]"):
        client.stats_pages(types="gps")  # type: ignore[arg-type]
    with pytest.raises(s.ConfigurationError, match="decorations=\\['gps'\\]"):
        client.stats_pages(types=["engineStates"], decorations="gps")  # type: ignore[arg-type]
    with pytest.raises(s.ConfigurationError, match="list of stat type names"):
        client.stats_pages(types=[1, 2])  # type: ignore[list-item]
    assert server.seen == [], "nothing was sent"


def test_from_env_reads_the_functions_secret_names() -> None:
    env = {"SAMSARA_API_TOKEN": TOKEN, "SAMSARA_BASE_URL": "http://127.0.0.1:9"}
    assert s.Client.from_env(environ=env).base_url == "http://127.0.0.1:9/"
    assert s.Client.from_env(environ={"SAMSARA_API_TOKEN": TOKEN, "SAMSARA_REGION": "eu"}).base_url == (
        "https://api.eu.samsara.com/"
    )
    with pytest.raises(s.ConfigurationError, match="`SAMSARA_API_TOKEN` is not set"):
        s.Client.from_env(environ={"SAMSARA_BASE_URL": "http://127.0.0.1:9"})
    with pytest.raises(s.ConfigurationError, match="unknown region `mars`"):
        s.Client.from_env(environ={"SAMSARA_API_TOKEN": TOKEN, "SAMSARA_REGION": "mars"})


def test_clients_print_as_python_without_the_token() -> None:
    api = _core.ApiClient("SECRET-TOKEN", base_url="http://127.0.0.1:9")
    assert repr(api) == "ApiClient(base_url='http://127.0.0.1:9/', token='****')"
    fmc = _core.FmcClient("http://127.0.0.1:9", "SECRET-TOKEN")
    assert repr(fmc) == "FmcClient(base_url='http://127.0.0.1:9/', token='****')"


def test_mypy_sees_the_typed_records(tmp_path: Any) -> None:
    """What the types are for: mypy (strict) refuses a bare string of stat types and a misspelt field."""
    api = pytest.importorskip("mypy.api")
    snippet = tmp_path / "snippet.py"
    snippet.write_text(
        "import samsara_fmc as sf\n"
        "client = sf.Client.from_env()\n"
        "client.stats_pages(types='gps')\n"
        "client.stats_pages(types=['gps', 'engineStates'])\n"
        "for v in client.vehicles():\n"
        "    print(v['licencePlate'])\n"
        "    plate: str = v['licensePlate']\n"
        "for d in client.defects(start_time=__import__('datetime').datetime.now()):\n"
        "    resolved: str = d['isResolved']\n"
    )
    out, _, status = api.run(["--strict", "--cache-dir", str(tmp_path / "cache"), str(snippet)])
    assert status == 1
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert [e.split(":")[1] for e in errors] == ["3", "6", "9"], out
    assert 'has no key "licencePlate"' in errors[1] and '"bool"' in errors[2]
