"""The indexing benchmark runs end to end, either way the indexer reads records, and checks what
it measured: every record stored, every chain whole."""

from __future__ import annotations

import pytest

from gateway.bench.audit_index import run_bench


@pytest.mark.parametrize("decoder_process", [False, True], ids=["in-process", "decoder-process"])
def test_the_benchmark_stores_every_record_and_finds_no_chain_break(decoder_process: bool) -> None:
    result = run_bench(300, batch=100, decoder_process=decoder_process)

    assert (result["stored"], result["chain_breaks"]) == (300, 0)
    assert result["decoder_process"] is decoder_process
    assert result["records_per_s"] > 0
