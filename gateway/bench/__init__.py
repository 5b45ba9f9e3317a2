"""The benchmarks, each run on its own; none is part of the gateway's runtime path.

- ``gateway bench``: raw Kafka pass-through against the gateway's full request and response
  path, on the embedded broker, with the measured side alone on one CPU.
  :mod:`~gateway.bench.driver` runs the phases in this process (broker, inputs and providers in
  ``_workload``, read-back checks in ``_checks``); :mod:`~gateway.bench.worker` is the measured
  child process, started and always ended by ``_process``; :mod:`~gateway.bench.report` renders
  a run into the README.
- :mod:`~gateway.bench.processor`: the processor alone, without Kafka.
- :mod:`~gateway.bench.policy`: policy decisions and redaction, in-process.
- :mod:`~gateway.bench.audit` (``gateway audit bench``): chain verification and sealing.
- :mod:`~gateway.bench.audit_index` (``gateway audit index --bench``): indexing into SQLite.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway._exports import lazy_exports

if TYPE_CHECKING:
    from gateway.bench.driver import GOAL_RATIO, BenchConfig, CpuPlan, run_bench
    from gateway.bench.errors import BenchError

__all__ = ["GOAL_RATIO", "BenchConfig", "BenchError", "CpuPlan", "run_bench"]

__getattr__ = lazy_exports(
    __name__,
    {
        "GOAL_RATIO": "driver",
        "BenchConfig": "driver",
        "BenchError": "errors",
        "CpuPlan": "driver",
        "run_bench": "driver",
    },
)
"""Imported on first use, so that the in-process benchmarks do not load the Kafka driver."""
