"""The SFTP sink against a real OpenSSH server on 127.0.0.1 (``tests/support/sftp.py``)."""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from samsara_fmc import records
from samsara_fmc.exceptions import ConfigurationError, DeadlineExceeded, DeliveryError
from samsara_fmc.sinks import Batch
from samsara_fmc.sinks.sftp import SftpSink, host_key_fingerprint
from tests.support.sftp import KEY_PASSPHRASE, SftpServer, sftp, sftp_server

__all__ = ["sftp", "sftp_server"]  # the fixtures, imported for pytest

KEY = "org1/vehicle-stats/vehicle_stats/e0001/00000042"
STATS = (
    b'{"id":"112:gps:2024-05-01T12:00:05Z","schemaVersion":1,'
    b'"vehicleId":"112","vehicleName":"Truck, \\"12\\"",'
    b'"externalIds":{"maintenanceId":"250020"},"stat":"gps","time":"2024-05-01T12:00:05Z",'
    b'"latitude":37.77,"longitude":-122.41,"speed":80.4672,"unit":"km/h","isEcuSpeed":false}\n'
    b'{"id":"112:engineStates:2024-05-01T12:00:06Z","schemaVersion":1,'
    b'"vehicleId":"112","vehicleName":"Truck, \\"12\\"",'
    b'"externalIds":{"maintenanceId":"250020"},"stat":"engineStates","time":"2024-05-01T12:00:06Z",'
    b'"value":"Idle"}\n'
)


@pytest.fixture
def sink(sftp: SftpServer) -> Iterator[SftpSink]:
    s = SftpSink.from_secrets(sftp.secrets(), retry_delays=(0.05, 0.05))
    yield s
    s.close()


def read_csv(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


def test_delivery_writes_the_csv_with_the_schema_header_and_values(sftp: SftpServer, sink: SftpSink) -> None:
    result = sink.deliver("vehicle_stats", KEY, Batch(ndjson=STATS))
    path = sftp.root / "vehicle_stats" / f"{KEY}.csv"
    assert result.records == 2 and result.location == str(path)
    assert sftp.files() == [f"vehicle_stats/{KEY}.csv"]
    rows = read_csv(path)
    header = records.VEHICLE_STAT.csv_header()
    assert rows[0] == header
    first = dict(zip(header, rows[1], strict=True))
    assert first["id"] == "112:gps:2024-05-01T12:00:05Z"
    assert first["schemaVersion"] == "1"
    assert first["vehicleName"] == 'Truck, "12"'
    assert json.loads(first["externalIds"]) == {"maintenanceId": "250020"}
    assert (first["latitude"], first["speed"], first["unit"], first["isEcuSpeed"]) == (
        "37.77",
        "80.4672",
        "km/h",
        "false",
    )
    assert first["value"] == ""
    second = dict(zip(header, rows[2], strict=True))
    assert (second["stat"], second["value"], second["latitude"]) == ("engineStates", "Idle", "")
    assert len(rows) == 3
    assert path.read_bytes().endswith(b"\r\n")


def test_redelivery_replaces_the_file_without_duplicates_or_leftovers(
    sftp: SftpServer, sink: SftpSink
) -> None:
    sink.deliver("vehicle_stats", KEY, Batch(ndjson=STATS))
    sink.deliver("vehicle_stats", KEY, Batch(ndjson=STATS))
    path = sftp.root / "vehicle_stats" / f"{KEY}.csv"
    assert [r[0] for r in read_csv(path)] == [
        "id",
        "112:gps:2024-05-01T12:00:05Z",
        "112:engineStates:2024-05-01T12:00:06Z",
    ]
    one = STATS.splitlines(keepends=True)[1]
    sink.deliver("vehicle_stats", KEY, Batch(ndjson=one))
    assert [r[0] for r in read_csv(path)] == ["id", "112:engineStates:2024-05-01T12:00:06Z"]
    assert sftp.files() == [f"vehicle_stats/{KEY}.csv"]
    assert sink._posix_rename, "OpenSSH replaces the file atomically with posix-rename"


def test_a_stream_without_a_record_type_uses_the_union_of_keys_in_first_seen_order(
    sftp: SftpServer, sink: SftpSink
) -> None:
    batch = Batch.of(
        [{"id": "d1", "name": "Ann", "tags": ["a", "b"]}, {"id": "d2", "phone": "+1 555", "name": "Bo"}]
    )
    sink.deliver("drivers", "k1", batch)
    assert read_csv(sftp.root / "drivers" / "k1.csv") == [
        ["id", "name", "tags", "phone"],
        ["d1", "Ann", '["a","b"]', ""],
        ["d2", "Bo", "", "+1 555"],
    ]


def test_an_empty_batch_writes_a_header_only_file(sftp: SftpServer, sink: SftpSink) -> None:
    sink.deliver("_health", "k1", Batch(ndjson=b""))
    assert read_csv(sftp.root / "_health" / "k1.csv") == [records.HEALTH.csv_header()]


def test_a_wrong_host_key_is_refused_before_any_write(sftp: SftpServer) -> None:
    wrong = "SHA256:" + "A" * 43
    s = SftpSink.from_secrets(sftp.secrets(SFTP_HOST_KEY_FINGERPRINT=wrong), retry_delays=())
    with pytest.raises(ConfigurationError) as e:
        s.deliver("vehicle_stats", KEY, Batch(ndjson=STATS))
    message = str(e.value)
    assert (
        f"`{sftp.fingerprint}`" in message and "`SFTP_HOST_KEY_FINGERPRINT`" in message and wrong in message
    )
    assert sftp.files() == []
    with pytest.raises(ConfigurationError, match="presented the host key"):
        s.check()
    s.close()


def test_the_fingerprint_matches_ssh_keygen_and_a_whole_keygen_line_is_accepted(sftp: SftpServer) -> None:
    import paramiko

    with socket.create_connection((sftp.host, sftp.port)) as sock:
        t = paramiko.Transport(sock)
        t.start_client(timeout=10)
        assert host_key_fingerprint(t.get_remote_server_key().asbytes()) == sftp.fingerprint
        t.close()
    line = f"256 {sftp.fingerprint} samsara-fmc-test (ED25519)"
    with SftpSink.from_secrets(sftp.secrets(SFTP_HOST_KEY_FINGERPRINT=line)) as s:
        s.check()


@pytest.mark.parametrize("auth", ["password", "openssh-key", "encrypted-pem-key", "bad-key-then-password"])
def test_password_and_key_auth_both_work(sftp: SftpServer, auth: str) -> None:
    secrets = {
        "password": sftp.secrets(),
        "openssh-key": sftp.secrets(SFTP_PASSWORD=None, SFTP_PRIVATE_KEY=sftp.private_key),
        "encrypted-pem-key": sftp.secrets(
            SFTP_PASSWORD=None,
            SFTP_PRIVATE_KEY=sftp.encrypted_private_key,
            SFTP_PRIVATE_KEY_PASSPHRASE=KEY_PASSPHRASE,
        ),
        # A key the server does not know, then the password.
        "bad-key-then-password": sftp.secrets(SFTP_PRIVATE_KEY=_other_key()),
    }[auth]
    with SftpSink.from_secrets(secrets) as s:
        assert repr(s).endswith(f"auth={'password' if auth == 'password' else 'key'!r})")
        s.check()
        s.deliver("vehicle_stats", KEY, Batch(ndjson=STATS))
    assert sftp.files() == [f"vehicle_stats/{KEY}.csv"]


def _other_key() -> str:
    import paramiko

    buf = io.StringIO()
    paramiko.RSAKey.generate(2048).write_private_key(buf)
    return buf.getvalue()


def test_a_wrong_password_is_a_configuration_error_without_the_password(
    sftp: SftpServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "wrong'\"\\pw" + sftp.password[::-1]
    s = SftpSink.from_secrets(sftp.secrets(SFTP_PASSWORD=wrong), retry_delays=(0.05,))
    with pytest.raises(ConfigurationError) as e:
        s.deliver("vehicle_stats", KEY, Batch(ndjson=STATS))
    message = str(e.value)
    assert "refused the login `samsara-fmc-sftp`" in message and "`SFTP_PASSWORD`" in message
    assert wrong not in message and sftp.password not in message and wrong not in repr(s)
    assert caplog.records and wrong not in caplog.text
    assert sftp.files() == []


def test_secrets_stay_out_of_the_logs_of_a_flaky_connection(
    sftp: SftpServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    secrets = sftp.secrets(
        SFTP_PORT=str(port),
        SFTP_PRIVATE_KEY=sftp.encrypted_private_key,
        SFTP_PRIVATE_KEY_PASSPHRASE=KEY_PASSPHRASE,
    )
    with pytest.raises(DeliveryError):
        SftpSink.from_secrets(secrets, retry_delays=(0.01,)).deliver("s", "k", Batch(ndjson=STATS))
    assert "retrying" in caplog.text
    for secret in (sftp.password, KEY_PASSPHRASE, sftp.encrypted_private_key.splitlines()[5]):
        assert secret not in caplog.text


def test_bad_secrets_are_one_error_naming_everything(sftp: SftpServer) -> None:
    bad = {"SFTP_PORT": "twenty-two", "SFTP_PASSWORD": sftp.password}
    with pytest.raises(ConfigurationError) as e:
        SftpSink.from_secrets(bad)
    message = str(e.value)
    for part in (
        "`SFTP_HOST`",
        "`SFTP_USERNAME`",
        "`SFTP_DIRECTORY`",
        "`SFTP_PORT` `twenty-two`",
        "ssh-keygen -lf",
    ):
        assert part in message
    assert sftp.password not in message


def test_missing_auth_and_a_malformed_fingerprint_are_named(sftp: SftpServer) -> None:
    with pytest.raises(ConfigurationError) as e:
        SftpSink.from_secrets(sftp.secrets(SFTP_PASSWORD=None, SFTP_HOST_KEY_FINGERPRINT="MD5:aa:bb"))
    message = str(e.value)
    assert "`SFTP_PASSWORD` or `SFTP_PRIVATE_KEY`" in message and "`MD5:aa:bb` is not a SHA-256" in message


@pytest.mark.parametrize(
    ("key_secrets", "expected"),
    [
        ({"SFTP_PRIVATE_KEY": "not a key"}, "`SFTP_PRIVATE_KEY` is not a private key"),
        ({"SFTP_PRIVATE_KEY": "enc"}, "`SFTP_PRIVATE_KEY` is encrypted: set `SFTP_PRIVATE_KEY_PASSPHRASE`"),
        (
            {"SFTP_PRIVATE_KEY": "enc", "SFTP_PRIVATE_KEY_PASSPHRASE": "nope nope"},
            "cannot be read with `SFTP_PRIVATE_KEY_PASSPHRASE`",
        ),
    ],
)
def test_unreadable_keys_are_named_without_their_text(
    sftp: SftpServer, key_secrets: dict[str, str], expected: str
) -> None:
    if key_secrets["SFTP_PRIVATE_KEY"] == "enc":
        key_secrets = {**key_secrets, "SFTP_PRIVATE_KEY": sftp.encrypted_private_key}
    with pytest.raises(ConfigurationError, match="the SFTP sink is not configured") as e:
        SftpSink.from_secrets(sftp.secrets(SFTP_PASSWORD=None, **key_secrets))
    message = str(e.value)
    assert expected in message
    body = sftp.encrypted_private_key.splitlines()[5]
    assert body not in message and "nope nope" not in message


def test_a_key_pasted_with_escaped_newlines_is_read(sftp: SftpServer) -> None:
    one_line = sftp.private_key.strip().replace("\n", "\\n")
    with SftpSink.from_secrets(sftp.secrets(SFTP_PASSWORD=None, SFTP_PRIVATE_KEY=one_line)) as s:
        s.check()


def test_check_finds_an_unwritable_directory(sftp: SftpServer) -> None:
    locked = sftp.root / "locked"
    locked.mkdir(mode=0o555)
    with (
        SftpSink.from_secrets(sftp.secrets(SFTP_DIRECTORY=str(locked))) as s,
        pytest.raises(ConfigurationError) as e,
    ):
        s.check()
    assert f"`SFTP_DIRECTORY` `{locked}` writable" in str(e.value)
    assert list(locked.iterdir()) == []


def test_check_passes_and_leaves_nothing_behind(sftp: SftpServer, sink: SftpSink) -> None:
    sink.check()
    assert sftp.files() == []


def test_an_unreachable_server_is_retried_then_a_delivery_error(sftp: SftpServer) -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    s = SftpSink.from_secrets(sftp.secrets(SFTP_PORT=str(port)), retry_delays=(0.01, 0.01))
    started = time.monotonic()
    with pytest.raises(DeliveryError, match=rf"`127\.0\.0\.1:{port}` after 3 attempts") as e:
        s.deliver("vehicle_stats", KEY, Batch(ndjson=STATS))
    assert time.monotonic() - started < 5
    assert sftp.password not in str(e.value)


def test_a_deadline_too_close_for_the_backoff_is_deadline_exceeded(sftp: SftpServer) -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    s = SftpSink.from_secrets(sftp.secrets(SFTP_PORT=str(port)), retry_delays=(30.0,))
    with pytest.raises(DeadlineExceeded):
        s.deliver("vehicle_stats", KEY, Batch(ndjson=STATS), deadline=time.time() + 5)


@pytest.mark.parametrize("noticed", [True, False], ids=["noticed", "mid-request"])
def test_a_dropped_connection_reconnects(sftp: SftpServer, sink: SftpSink, noticed: bool) -> None:
    sink.deliver("vehicle_stats", KEY, Batch(ndjson=STATS))
    first = sink._transport
    # Drop the TCP connection under the session, as a server restart or a NAT timeout would; the
    # next delivery finds it closed, or fails on it and connects again.
    first.sock.shutdown(socket.SHUT_RDWR)
    deadline = time.monotonic() + 5
    while noticed and first.is_active() and time.monotonic() < deadline:
        time.sleep(0.02)
    sink.deliver("vehicle_stats", "k2", Batch(ndjson=STATS))
    assert sink._transport is not first
    assert sftp.files() == ["vehicle_stats/k2.csv", f"vehicle_stats/{KEY}.csv"]


def test_concurrent_deliveries_from_threads_share_the_connection(sftp: SftpServer, sink: SftpSink) -> None:
    errors: list[BaseException] = []

    def deliver(i: int) -> None:
        try:
            sink.deliver("vehicle_stats", f"k{i}", Batch(ndjson=STATS))
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sftp.files() == [f"vehicle_stats/k{i}.csv" for i in range(6)]


def test_the_upload_is_owned_by_the_login_and_no_part_file_remains(sftp: SftpServer, sink: SftpSink) -> None:
    sink.deliver("vehicle_stats", KEY, Batch(ndjson=STATS))
    path = sftp.root / "vehicle_stats" / f"{KEY}.csv"
    import pwd

    assert pwd.getpwuid(os.stat(path).st_uid).pw_name == sftp.username
    assert not any(p.endswith(".part") for p in sftp.files())


def test_privacy_rules_keep_personal_fields_out_of_the_file(sftp: SftpServer, sink: SftpSink) -> None:
    from samsara_fmc.sinks.privacy import FilteredSink

    filtered = FilteredSink(sink, "drivers:-phone,-email; vehicle_stats:-latitude,-longitude")
    batch = Batch.of([{"id": "d1", "name": "Ann", "phone": "+1 555 0100", "email": "ann@example.com"}])
    filtered.deliver("drivers", "k1", batch)
    filtered.deliver("vehicle_stats", "k1", Batch(ndjson=STATS))
    assert read_csv(sftp.root / "drivers" / "k1.csv") == [["id", "name"], ["d1", "Ann"]]
    stats = (sftp.root / "vehicle_stats" / "k1.csv").read_text()
    assert "latitude" not in stats and "37.77" not in stats and "Idle" in stats


def test_without_posix_rename_a_redelivery_still_replaces_the_file(sftp: SftpServer) -> None:
    secrets = sftp.secrets(SFTP_PORT=str(sftp.no_posix_rename_port))
    with SftpSink.from_secrets(secrets) as s:
        s.deliver("vehicle_stats", KEY, Batch(ndjson=STATS))
        s.deliver("vehicle_stats", KEY, Batch(ndjson=STATS.splitlines(keepends=True)[1]))
        assert s._posix_rename is False
    path = sftp.root / "vehicle_stats" / f"{KEY}.csv"
    assert [r[0] for r in read_csv(path)] == ["id", "112:engineStates:2024-05-01T12:00:06Z"]
    assert sftp.files() == [f"vehicle_stats/{KEY}.csv"]


def test_a_file_is_written_as_part_then_renamed_and_replaced_by_its_key(
    sftp: SftpServer, sink: SftpSink
) -> None:
    out = sink.deliver_file(
        "camera_media", "r-1/dashcamRoadFacing.jpeg", b"\xff\xd8\xffone", content_type="image/jpeg"
    )
    path = sftp.root / "camera_media" / "r-1" / "dashcamRoadFacing.jpeg"
    assert (
        out.location.endswith("/camera_media/r-1/dashcamRoadFacing.jpeg")
        and path.read_bytes() == b"\xff\xd8\xffone"
    )
    sink.deliver_file(
        "camera_media", "r-1/dashcamRoadFacing.jpeg", b"\xff\xd8\xfftwo", content_type="image/jpeg"
    )
    assert path.read_bytes() == b"\xff\xd8\xfftwo"
    assert not any(p.endswith(".part") for p in sftp.files())
