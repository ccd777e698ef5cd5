"""What a queued message is counted as (``coalesce.message_size``): arrays held
inside a property value count in full, so a lagging session's merged run of
image frames is bounded by ``queue_max_bytes`` like any other queue."""

from __future__ import annotations

import numpy as np

from wsbridge.hub.coalesce import Run, message_size
from wsbridge.wire.messages import Patch


def frame_patch(seq: int, nbytes: int) -> Patch:
    data = np.zeros(nbytes, np.uint8)
    return Patch(seq=seq, model="m", state={"frame": {"data": data, "mime": "raw"}})


def test_arrays_inside_a_property_value_are_counted() -> None:
    assert message_size(frame_patch(1, 1_000_000)) >= 1_000_000
    nested = Patch(seq=1, model="m", state={"v": {"a": [np.zeros(5000, np.uint8)]}})
    assert message_size(nested) >= 5000
    assert message_size(Patch(seq=1, model="m", state={"value": 1.5})) < 1000


def test_a_run_of_merged_frames_counts_the_latest_frame() -> None:
    run = Run(frame_patch(1, 1_000_000))
    for seq in range(2, 10):
        run.add(frame_patch(seq, 1_000_000))
    assert 1_000_000 <= run.size < 1_100_000  # one frame: the latest
    assert run.message().seq == 9 and run.message().first == 1
