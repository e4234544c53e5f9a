"""The batch log and the quarantine, as rows for the CLI and the Data page."""

from __future__ import annotations


def batch_rows(store) -> list[dict]:
    t = store.table("batches").order_by("id")
    return t.to_pyarrow().to_pylist()


def reject_rows(store, batch: int | None = None) -> list[dict]:
    t = store.table("rejects")
    if batch is not None:
        t = t.filter(t.batch == batch)
    return t.order_by(["batch", "row", "field"]).to_pyarrow().to_pylist()
