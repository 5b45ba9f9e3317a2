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
