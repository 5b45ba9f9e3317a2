"""Input gaps: offsets the gateway never read are noticed and audited, never skipped silently."""

from __future__ import annotations

import logging

import pytest
from audit_factories import CODEC, NOW
from processor_support import ProcessorFactory

from gateway.audit.gaps import InputGap, InputGapDetector
from gateway.envelope.models import AuditOutcome, AuditRecord, AuditStage
from gateway.exchange.messages import InputMessage
from gateway.exchange.processor import ExchangeProcessor


def test_contiguous_offsets_are_no_gap() -> None:
    gaps = InputGapDetector()

    assert [gaps.observe("t", 0, offset) for offset in range(5)] == [None] * 5


def test_a_jump_past_the_next_offset_is_a_gap_naming_the_missing_range() -> None:
    gaps = InputGapDetector()
    gaps.observe("t", 0, 4)

    gap = gaps.observe("t", 0, 10)

    assert gap == InputGap("t", 0, 5, 9)
    assert gap.count == 5
    assert gap.describe().startswith("offsets 5-9 (5 record(s)) of t partition 0 were never read")


def test_the_first_offset_read_after_taking_a_partition_over_is_compared_to_the_committed_one() -> (
    None
):
    gaps = InputGapDetector()
    gaps.expect("t", 1, 100)

    assert gaps.observe("t", 1, 43108) == InputGap("t", 1, 100, 43107)
    assert gaps.observe("t", 2, 43108) is None  # nothing known about partition 2


def test_a_redelivery_from_an_earlier_offset_is_no_gap() -> None:
    gaps = InputGapDetector()
    gaps.observe("t", 0, 7)

    assert gaps.observe("t", 0, 3) is None
    assert gaps.observe("t", 0, 4) is None


def test_a_forgotten_partition_is_no_longer_tracked() -> None:
    gaps = InputGapDetector()
    gaps.expect("t", 0, 5)

    gaps.forget("t", 0)

    assert not gaps.tracks("t", 0)
    assert gaps.observe("t", 0, 50) is None


@pytest.fixture
def processor(processor_factory: ProcessorFactory) -> ExchangeProcessor:
    return processor_factory()


def test_the_processor_audits_a_gap_before_the_record_after_it_and_warns(
    processor: ExchangeProcessor, caplog: pytest.LogCaptureFixture
) -> None:
    processor.take_over({("dx.requests.nhs", 0): 3})

    with caplog.at_level(logging.WARNING, logger="gateway.audit"):
        out = processor.process_batch([InputMessage("dx.requests.nhs", 0, 9, b"k", b"junk")], NOW)

    gap, dead_letter = (CODEC.decode(m.value, AuditRecord) for m in out.audit)
    assert (gap.stage, gap.outcome) == (AuditStage.INPUT, AuditOutcome.INPUT_GAP)
    assert [r.code for r in gap.reasons] == ["input.gap"]
    assert "offsets 3-8 (6 record(s)) of dx.requests.nhs partition 0" in gap.reasons[0].message
    assert (gap.input_topic, gap.input_partition, gap.input_offset) == ("dx.requests.nhs", 0, 3)
    assert dead_letter.outcome is AuditOutcome.DEAD_LETTERED
    assert gap.sequence + 1 == dead_letter.sequence
    assert "input gap" in caplog.text
