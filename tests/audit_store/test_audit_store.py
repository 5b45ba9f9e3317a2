"""The audit store: idempotent loading, records kept whole with their coordinates, where
indexing stands, and counts for reports, on every backend."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from gateway.audit_store import (
    AuditCoordinates,
    AuditStore,
    DecisionQuery,
    DecodedRecord,
    PartitionMark,
    open_store,
)
from gateway.envelope.models import AuditOutcome, AuditRecord, AuditStage, Reason
from gateway.errors import AuditStoreError, AuditStoreUnavailable, ConfigError

RecordFactory = Callable[..., AuditRecord]
Loadable = Callable[..., list[DecodedRecord]]


def test_loading_the_same_records_twice_keeps_one_row_per_decision(
    store_url: str, record_factory: RecordFactory, loadable: Loadable
) -> None:
    records = [record_factory() for _ in range(5)]
    store = open_store(store_url)

    first = store.load(loadable(records))
    again = store.load(loadable(records))
    store.close()
    reopened = open_store(store_url)

    assert (first, again) == (5, 0)
    assert reopened.count() == 5
    assert sorted(i.record.decision_id for i in reopened.decisions(DecisionQuery())) == sorted(
        r.decision_id for r in records
    )
    reopened.close()


def test_a_record_redelivered_at_another_offset_keeps_the_coordinates_it_was_first_read_at(
    store: AuditStore, record_factory: RecordFactory, loadable: Loadable
) -> None:
    record = record_factory()

    store.load(loadable([record], first_offset=7))
    store.load(loadable([record], first_offset=900))

    (stored,) = store.decisions(DecisionQuery())
    assert stored.source.offset == 7


def test_a_stored_decision_reads_back_exactly_as_it_was_loaded_with_its_coordinates(
    store: AuditStore, record_factory: RecordFactory
) -> None:
    record = record_factory(
        stage=AuditStage.RESPONSE,
        outcome=AuditOutcome.REDACTED,
        reasons=[
            Reason(code="agreement.allows", message='quotes " and \\ survive'),
            Reason(code="fields.withheld", message="fields withheld: address.postcode"),
        ],
        fields_released=["immigration_status", "conditions.right_to_work"],
        fields_transformed=["date_of_birth"],
        fields_withheld=["address.postcode", "employments[].employer_name"],
        subject_key="ab" * 16,
        request_id=None,
    )
    source = AuditCoordinates("dx.audit", 3, 41, "f" * 64)

    store.load([DecodedRecord.of(record, source)])

    (stored,) = store.decisions(DecisionQuery())
    assert stored.record == record
    assert stored.source == source


def test_the_store_remembers_where_each_partition_stands_with_the_batch_that_moved_it(
    store_url: str, record_factory: RecordFactory, loadable: Loadable
) -> None:
    store = open_store(store_url)
    store.load(loadable([record_factory()]), [PartitionMark("dx.audit", 0, 1, 1, "a" * 64)])
    store.load(
        [],
        [PartitionMark("dx.audit", 0, 5, 3, "b" * 64), PartitionMark("dx.audit", 2, 9, None, None)],
    )
    store.close()

    with closing(open_store(store_url)) as reopened:
        marks = reopened.marks("dx.audit")

    assert marks == {
        0: PartitionMark("dx.audit", 0, 5, 3, "b" * 64),
        2: PartitionMark("dx.audit", 2, 9, None, None),
    }


def test_tally_counts_outcomes_refusal_reasons_and_approvals_per_hour_within_the_period(
    store: AuditStore, record_factory: RecordFactory, loadable: Loadable, t0: datetime
) -> None:
    denied = Reason(code="purpose.not_allowed", message="not allowed")
    store.load(
        loadable(
            [
                record_factory(at=t0),
                record_factory(at=t0 + timedelta(minutes=5)),
                record_factory(at=t0 + timedelta(hours=1), outcome=AuditOutcome.APPROVED_MINIMISED),
                record_factory(at=t0, outcome=AuditOutcome.DENIED, reasons=[denied]),
                record_factory(at=t0, stage=AuditStage.RESPONSE, outcome=AuditOutcome.RELEASED),
                record_factory(at=t0 + timedelta(days=40)),  # outside the period
            ]
        )
    )

    tally = store.tally(t0 - timedelta(days=1), t0 + timedelta(days=1))

    counts = {(c.agreement_id, c.purpose, c.outcome): c.count for c in tally.outcomes}
    key = ("nhs-ho-status-check", "overseas-visitor-charging")
    assert counts == {
        (*key, "APPROVED"): 2,
        (*key, "APPROVED_MINIMISED"): 1,
        (*key, "DENIED"): 1,
        (*key, "RELEASED"): 1,
    }
    assert [(r.outcome, r.code, r.count) for r in tally.reasons] == [
        ("DENIED", "purpose.not_allowed", 1)
    ]
    hours = {(v.hour - t0.replace(minute=0)): v.count for v in tally.approved_per_hour}
    assert hours == {timedelta(0): 2, timedelta(hours=1): 1}


def test_text_with_nul_characters_loads_and_is_found_on_every_backend(
    store: AuditStore, store_url: str, record_factory: RecordFactory, loadable: Loadable
) -> None:
    """A department chooses its request ids and purposes, so a record may hold U+0000, which
    PostgreSQL cannot store: there it becomes U+FFFD (the audit topic keeps the exact bytes),
    rather than the whole batch being refused and indexing stopping at that record."""
    record = record_factory(
        request_id="req\x00id",
        purpose="over\x00seas",
        reasons=[Reason(code="purpose.unknown", message="purpose 'over\x00seas' is unknown")],
        fields_requested=["a\x00b", "not\\u0000a nul", "\\\x00"],
        outcome=AuditOutcome.DENIED,
    )

    added = store.load(loadable([record]))

    stored = store.decisions(DecisionQuery(purpose="over\x00seas"))
    kept = "\x00" if store_url.startswith("sqlite") else "\ufffd"
    assert added == 1 and [s.record.decision_id for s in stored] == [record.decision_id]
    assert stored[0].record == record.model_copy(
        update={
            "request_id": f"req{kept}id",
            "purpose": f"over{kept}seas",
            "reasons": [
                Reason(code="purpose.unknown", message=f"purpose 'over{kept}seas' is unknown")
            ],
            "fields_requested": [f"a{kept}b", "not\\u0000a nul", f"\\{kept}"],
        }
    )


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
def test_a_postgresql_store_that_lost_its_connection_says_so_retriably_then_reconnects(
    store_url: str, postgres_url: str, record_factory: RecordFactory, loadable: Loadable
) -> None:
    """The indexer retries a batch while the store is unavailable: after the server dropped the
    connection (a restart, a failover), the retry must reach the server again."""
    import psycopg

    store = open_store(f"{store_url}&application_name=cut-off")
    store.load(loadable([record_factory()]))
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'cut-off'"
        )

    with pytest.raises(AuditStoreUnavailable) as lost:
        store.load(loadable([record_factory()], first_offset=1))
    retried = store.load(loadable([record_factory()], first_offset=1))

    assert lost.value.retriable
    assert (retried, store.count()) == (1, 2)
    store.close()


def test_an_unknown_store_url_or_a_missing_directory_is_a_configuration_error(
    tmp_path: Path,
) -> None:
    with pytest.raises(ConfigError, match="unsupported audit store URL scheme 'mysql'"):
        open_store("mysql://db/audit")
    with pytest.raises(ConfigError, match="does not exist"):
        open_store(f"sqlite:///{tmp_path / 'missing' / 'audit.db'}")


def test_a_store_of_another_schema_version_is_refused_rather_than_misread(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    open_store(url).close()
    with sqlite3.connect(tmp_path / "audit.db") as db:
        db.execute("UPDATE audit_store_meta SET value = '99' WHERE name = 'schema_version'")

    with pytest.raises(AuditStoreError, match="schema version 99"):
        open_store(url)


def test_pages_of_decisions_follow_one_another_without_gaps_or_repeats(
    store: AuditStore, record_factory: RecordFactory, loadable: Loadable
) -> None:
    records = [record_factory() for _ in range(7)]  # a minute apart
    store.load(loadable(records))

    pages = [store.decisions(DecisionQuery(limit=3, offset=o)) for o in (0, 3, 6)]
    skipped = store.decisions(DecisionQuery(offset=5))

    ids = [[i.record.decision_id for i in page] for page in pages]
    newest_first = [r.decision_id for r in reversed(records)]
    assert ids == [newest_first[:3], newest_first[3:6], newest_first[6:]]
    assert [i.record.decision_id for i in skipped] == newest_first[5:]


def test_a_requests_sent_at_is_stored_and_reads_back(
    store: AuditStore, record_factory: RecordFactory, loadable: Loadable
) -> None:
    record = record_factory()
    sent = record.model_copy(update={"sent_at": record.at - timedelta(seconds=2)})

    store.load(loadable([sent]))

    (stored,) = store.decisions(DecisionQuery())
    assert stored.record.sent_at == sent.sent_at
    assert stored.record == sent


def test_a_store_of_version_1_gains_the_sent_at_column_and_keeps_its_rows(
    tmp_path: Path, record_factory: RecordFactory, loadable: Loadable
) -> None:
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    old = record_factory()
    with closing(open_store(url)) as store:
        store.load(loadable([old]))
    with closing(sqlite3.connect(tmp_path / "audit.db")) as db, db:  # as version 1 left it
        db.execute("ALTER TABLE audit_decision DROP COLUMN sent_at_ms")
        db.execute("UPDATE audit_store_meta SET value = '1' WHERE name = 'schema_version'")

    new = record_factory()
    new = new.model_copy(update={"sent_at": new.at})
    with closing(open_store(url)) as store:
        store.load(loadable([new], first_offset=1))
        stored = {i.record.decision_id: i.record for i in store.decisions(DecisionQuery())}

    assert stored == {old.decision_id: old, new.decision_id: new}
    assert stored[old.decision_id].sent_at is None
