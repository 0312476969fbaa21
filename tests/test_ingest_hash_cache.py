"""A landing file keeps its hash while os.lstat says it is unchanged (pipeline/ingest/ledger.py,
``meta.landing_stats``): every run lists every delivery ever made, and reading them all again
cost about 1 s per GB. A file rewritten in place is read again, even at the same size and
modification time (its change time moved)."""

from __future__ import annotations

import hashlib
import os

from ingest_support import drop, land, make_settings, query

from pipeline.warehouse import open_warehouse, run

HEADER = (
    "order_id,contact_id,email,ordered_at,status,currency,gross_amount,discount_amount,"
    "refund_amount,updated_at\n"
)
A = HEADER + "A1,c1,,2024-01-05,completed,EUR,10,,,\n"
B = HEADER + "B1,c1,,2024-01-06,completed,EUR,20,,,\n"  # same length as A, other bytes


def stats(s) -> dict[str, str]:
    got = query(s, "select source_file, file_sha256 from meta.landing_stats")
    return dict(got.rows())


def test_an_unchanged_file_keeps_its_recorded_hash(data_dir):
    s = make_settings(data_dir)
    path = drop(s, "orders", "a.csv", A)
    assert land(s, "orders")[0].status == "landed"
    # The recorded hash is the file's SHA-256, worked out here by hashlib.
    assert stats(s) == {"crm/orders/a.csv": hashlib.sha256(A.encode()).hexdigest()}
    # The cache is what the next run reads: point it at another content's hash and the file,
    # unread, is taken for that content (a new delivery): proof that it was not hashed again.
    other = hashlib.sha256(b"other bytes").hexdigest()
    with open_warehouse(s.warehouse_path) as con:
        run(con, "update meta.landing_stats set file_sha256 = ?", [other])
    report = land(s, "orders")[0]
    assert (report.status, report.rows_landed) == ("landed", 1)
    got = query(s, "select order_id, _file_sha256 from raw_orders order by _delivery_seq")
    assert got.rows() == [("A1", hashlib.sha256(A.encode()).hexdigest()), ("A1", other)]
    assert path.read_text() == A


def test_a_file_rewritten_at_the_same_size_and_mtime_is_read_again(data_dir):
    s = make_settings(data_dir)
    path = drop(s, "orders", "a.csv", A)
    land(s, "orders")
    before = os.stat(path)
    path.write_text(B)  # same size; the modification time put back as it was
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert os.stat(path).st_size == before.st_size
    report = land(s, "orders")[0]
    assert (report.status, report.rows_landed) == ("landed", 1)
    assert stats(s) == {"crm/orders/a.csv": hashlib.sha256(B.encode()).hexdigest()}
    got = query(s, "select order_id from raw_orders order by 1")
    assert got["order_id"].to_list() == ["A1", "B1"]


def test_a_touched_file_with_the_same_bytes_is_skipped_as_before(data_dir):
    s = make_settings(data_dir)
    path = drop(s, "orders", "a.csv", A)
    land(s, "orders")
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))  # touched: hashed again, same bytes
    report = land(s, "orders")[0]
    assert report.status == "skipped" and "same bytes as crm/orders/a.csv" in report.reason
