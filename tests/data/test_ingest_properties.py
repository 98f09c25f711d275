"""Property: whatever the row order or repetition, ingest accounts for every row and a
shuffled copy of a loaded file adds nothing."""

from __future__ import annotations

import random
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import liucun

row = st.tuples(
    st.sampled_from(["u1", "u2", "007", ""]),
    st.sampled_from(["2024-01-01 10:00:00", "2024-01-02T00:00:00Z", "bad", "1704067200"]),
    st.sampled_from(["view", "purchase", "nope"]),
    st.sampled_from(["i1", "i2", ""]),
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(row, min_size=1, max_size=30), seed=st.integers(0, 1000))
def test_shuffled_reingest_is_all_duplicates(tmp_path: Path, rows, seed: int) -> None:
    wsdir = tmp_path / f"ws{seed}-{len(rows)}-{abs(hash(tuple(rows))) % 10**8}"
    header = "user_id,ts,event_type,item_id\n"
    a = wsdir.with_suffix(".a.csv")
    b = wsdir.with_suffix(".b.csv")
    a.write_text(header + "".join(",".join(r) + "\n" for r in rows), encoding="utf-8")
    shuffled = rows[:]
    random.Random(seed).shuffle(shuffled)
    b.write_text(header + "".join(",".join(r) + "\n" for r in shuffled), encoding="utf-8")
    with liucun.Workspace(wsdir) as ws:
        [first] = ws.ingest("events", a, max_bad_share=1)
        assert first.balanced and first.read == len(rows)
        assert first.duplicates == 0 and first.updated == 0
        [second] = ws.ingest("events", b, max_bad_share=1)
        assert second.balanced
        assert second.loaded == 0
        assert second.duplicates == first.loaded
        assert second.quarantined == first.quarantined
        assert ws.warehouse.count("events") == first.loaded
