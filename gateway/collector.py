"""The garbage collector tuned for a long-running gateway process.

The gateway makes and drops many small objects per record, nearly all freed by reference
counting; CPython's default thresholds still run a young-generation collection every 700
allocations, and each full one walks the compiled policies, schemas and generated codecs built
at start. Measured with ``python -m gateway.bench.processor --messages 20000``, the collector
took about a sixth of the processor's time. Once the gateway is built, :func:`settle` moves what
exists into the permanent generation (``gc.freeze``), which collections skip, and collects young
objects every 20,000 allocations. Cyclic garbage is still collected; what the freeze keeps is
only the start-up objects (a policy set replaced later is freed by reference counting unless it
holds cycles).
"""

from __future__ import annotations

import gc

__all__ = ["THRESHOLDS", "settle"]

THRESHOLDS = (20_000, 50, 100)
"""``gc.set_threshold`` for the gateway: young, middle and old generation."""


def settle() -> None:
    """Collect once, freeze what survives, and set :data:`THRESHOLDS`: for after start-up."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
