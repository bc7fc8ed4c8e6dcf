"""The Function Storage sink: NDJSON objects under ``<prefix>/<stream>/<key>.ndjson``."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from samsara_fmc.exceptions import ConfigurationError, DeadlineExceeded
from samsara_fmc.sinks import Batch
from samsara_fmc.sinks.storage import StorageSink
from samsara_fmc.storage import LocalStorage, MemoryStorage

KEY = "org1/vehicle-stats/e0001/00000042"
NDJSON = b'{"id":"1:gps:t","vehicleId":"1"}\n{"id":"2:gps:t","vehicleId":"2"}\n'


def test_ndjson_bytes_are_written_unchanged_under_stream_and_key() -> None:
    store = MemoryStorage()
    result = StorageSink(store).deliver("vehicle_stats", KEY, Batch(ndjson=NDJSON))
    where = f"deliveries/vehicle_stats/{KEY}.ndjson"
    assert store.objects == {where: NDJSON}
    assert (result.records, result.location) == (2, where)


def test_dict_records_are_written_as_ndjson_id_first() -> None:
    store = MemoryStorage()
    batch = Batch.of([{"id": "a", "name": "Ann Lee"}, {"id": "b", "nested": {"x": 1}}])
    StorageSink(store, prefix="fmc/outbox/").deliver("drivers", "k1", batch)
    data = store.objects["fmc/outbox/drivers/k1.ndjson"]
    assert data.startswith(b'{"id":"a"')
    assert [json.loads(line) for line in data.splitlines()] == batch.records()


def test_redelivery_of_a_key_replaces_the_file(tmp_path: Path) -> None:
    sink = StorageSink(LocalStorage(tmp_path), prefix="")
    sink.deliver("vehicle_stats", KEY, Batch(ndjson=NDJSON))
    sink.deliver("vehicle_stats", KEY, Batch(ndjson=NDJSON.splitlines(keepends=True)[0]))
    path = tmp_path / "vehicle_stats" / f"{KEY}.ndjson"
    assert path.read_bytes() == NDJSON.splitlines(keepends=True)[0]
    assert sorted(p.name for p in path.parent.iterdir()) == ["00000042.ndjson"]


def test_an_empty_redelivery_replaces_an_earlier_one() -> None:
    store = MemoryStorage()
    sink = StorageSink(store)
    sink.deliver("vehicle_stats", KEY, Batch(ndjson=NDJSON))
    result = sink.deliver("vehicle_stats", KEY, Batch(ndjson=b""))
    assert result.records == 0
    assert store.objects[f"deliveries/vehicle_stats/{KEY}.ndjson"] == b""


@pytest.mark.parametrize(
    ("stream", "key"), [("bad/stream", "k"), ("s", "../escape"), ("s", "/abs"), ("", "k")]
)
def test_bad_streams_and_keys_are_refused_before_a_write(stream: str, key: str) -> None:
    store = MemoryStorage()
    with pytest.raises(ConfigurationError, match="invalid"):
        StorageSink(store).deliver(stream, key, Batch(ndjson=NDJSON))
    assert store.objects == {}


def test_a_bad_prefix_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match=r"`\.\./up`"):
        StorageSink(MemoryStorage(), prefix="../up")


def test_a_passed_deadline_writes_nothing() -> None:
    store = MemoryStorage()
    with pytest.raises(DeadlineExceeded):
        StorageSink(store).deliver("s", "k", Batch(ndjson=NDJSON), deadline=time.time() - 1)
    assert store.objects == {}


@pytest.mark.parametrize(
    "ndjson",
    [
        b'{"id":"a"}\n\n{"id":"b"}\n',
        b'{"id":"a"}\r\n{"id":"b"}\r\n',
        b'\n{"id":"a"}\n{"id":"b"}',
        b'{"id":"a"}\n{"id":"b"}',
    ],
)
def test_a_batch_reads_one_record_per_nonblank_line(ndjson: bytes) -> None:
    batch = Batch(ndjson=ndjson)
    assert len(batch) == 2 and batch.ids() == ["a", "b"]
    assert json.loads(batch.json_array()) == [{"id": "a"}, {"id": "b"}]
    assert batch.ndjson() == b'{"id":"a"}\n{"id":"b"}\n'
    store = MemoryStorage()
    StorageSink(store).deliver("s", "k", batch)
    assert store.objects["deliveries/s/k.ndjson"] == b'{"id":"a"}\n{"id":"b"}\n'


def test_a_file_is_an_object_beside_the_streams_batches_and_replaced_by_its_key() -> None:
    from samsara_fmc.sinks.memory import MemorySink
    from samsara_fmc.sinks.privacy import FilteredSink
    from samsara_fmc.storage import MemoryStorage

    store = MemoryStorage()
    sink = FilteredSink(StorageSink(store), "camera_media:-files")
    out = sink.deliver_file(
        "camera_media", "r-1/dashcamRoadFacing.jpeg", b"\xff\xd8\xffone", content_type="image/jpeg"
    )
    assert out.location == "deliveries/camera_media/r-1/dashcamRoadFacing.jpeg" and out.records == 0
    sink.deliver_file(
        "camera_media", "r-1/dashcamRoadFacing.jpeg", b"\xff\xd8\xfftwo", content_type="image/jpeg"
    )
    assert store.objects == {"deliveries/camera_media/r-1/dashcamRoadFacing.jpeg": b"\xff\xd8\xfftwo"}
    memory = MemorySink()
    memory.deliver_file("camera_media", "r-1/a.jpeg", b"x", content_type="image/jpeg")
    assert memory.files == {("camera_media", "r-1/a.jpeg"): (b"x", "image/jpeg")}
