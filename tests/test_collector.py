"""The garbage collector as ``gateway run`` sets it once the gateway is built: start-up objects
frozen out of collections, young objects collected every 20,000 allocations."""

from __future__ import annotations

import json
import subprocess
import sys

from gateway.collector import THRESHOLDS


def test_settling_freezes_what_exists_and_sets_the_gateways_thresholds() -> None:
    script = (
        "import gc, json; from gateway import collector; before = gc.get_freeze_count(); "
        "collector.settle(); print(json.dumps([before, gc.get_freeze_count(), gc.get_threshold()]))"
    )
    ran = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)

    assert ran.returncode == 0, ran.stderr
    before, after, thresholds = json.loads(ran.stdout)
    assert before == 0 and after > 1000
    assert tuple(thresholds) == THRESHOLDS
