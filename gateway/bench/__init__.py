"""``gateway bench``: raw Kafka pass-through against the gateway's full request and response
path, on the embedded broker, with the measured side alone on one CPU.

:mod:`~gateway.bench.driver` runs the phases in this process (broker, inputs and providers in
``_workload``, read-back checks in ``_checks``); :mod:`~gateway.bench.worker` is the measured
child process, started and always ended by ``_process``. :mod:`~gateway.bench.processor` times
the processor alone, without Kafka.
"""

from gateway.bench.driver import GOAL_RATIO, BenchConfig, CpuPlan, run_bench
from gateway.bench.errors import BenchError

__all__ = ["GOAL_RATIO", "BenchConfig", "BenchError", "CpuPlan", "run_bench"]
