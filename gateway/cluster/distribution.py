"""Apache Kafka's broker jars, resolved from Maven Central by the project's own Maven file.

``tools/kafka/pom.xml`` pins the Kafka version; ``mvn dependency:copy-dependencies`` copies the
run-time jars into ``tools/kafka/lib`` on first use, and later runs reuse them (a stamp records
which ``pom.xml`` they came from, so a changed pin resolves again). ``GATEWAY_KAFKA_HOME`` points
at another folder holding a ``pom.xml`` (for an installed package without the repository).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from gateway.errors import BrokerError

__all__ = ["KafkaDistribution", "java_executable"]

_STAMP = ".resolved-from"
_PROGRESS = re.compile(r"(Downloading|Downloaded|Copying) ")


def _default_home() -> Path:
    configured = os.environ.get("GATEWAY_KAFKA_HOME")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2] / "tools" / "kafka"


def java_executable() -> str:
    """The ``java`` to run brokers with (``JAVA_HOME`` first); a clear error when there is none."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    found = shutil.which("java")
    if found is None:
        raise BrokerError(
            "Java 17 or newer is needed to run Apache Kafka, and no `java` is on PATH "
            "(install a JDK, e.g. `apt-get install openjdk-17-jre-headless`, or set JAVA_HOME)"
        )
    return found


class KafkaDistribution:
    """The folder of broker jars for the pinned Kafka version."""

    def __init__(self, home: Path | None = None) -> None:
        self.home = home or _default_home()
        self.pom = self.home / "pom.xml"
        self.lib = self.home / "lib"

    @property
    def version(self) -> str:
        """The Kafka version the Maven file pins."""
        match = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", self._pom_text())
        if match is None:
            raise BrokerError(f"{self.pom} does not pin <kafka.version>")
        return match.group(1)

    def resolved(self) -> bool:
        """Whether the jars are present and came from the current ``pom.xml``."""
        stamp = self.lib / _STAMP
        return stamp.is_file() and stamp.read_text().strip() == self._pom_digest()

    def classpath(self, progress: Callable[[str], None] | None = None) -> str:
        """The broker's class path, resolving the jars first if needed."""
        if not self.resolved():
            self.resolve(progress)
        jars = sorted(self.lib.glob("*.jar"))
        return os.pathsep.join(str(jar) for jar in jars)

    def resolve(self, progress: Callable[[str], None] | None = None) -> None:
        """Copy the run-time jars from Maven Central (or the local Maven cache) into ``lib``."""
        say = progress or (lambda line: print(line, file=sys.stderr, flush=True))
        mvn = shutil.which("mvn")
        if mvn is None:
            raise BrokerError(
                "Maven (`mvn`) is needed once to fetch Apache Kafka's jars and is not on PATH "
                "(install it, e.g. `apt-get install maven`)"
            )
        say(f"resolving Apache Kafka {self.version} from Maven Central into {self.lib} ...")
        if self.lib.exists():
            shutil.rmtree(self.lib)
        command = [
            mvn,
            "-B",
            "-f",
            str(self.pom),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={self.lib}",
            "-DincludeScope=runtime",
        ]
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert process.stdout is not None
        tail: list[str] = []
        count = 0
        for line in process.stdout:
            tail = [*tail[-30:], line.rstrip()]
            if _PROGRESS.search(line):
                count += 1
                if count % 10 == 1:
                    say(f"  {count} artifacts ... {line.strip()[:100]}")
        if process.wait() != 0:
            raise BrokerError(
                "Maven could not resolve Apache Kafka's jars:\n" + "\n".join(tail[-15:])
            )
        (self.lib / _STAMP).write_text(self._pom_digest() + "\n")
        say(f"Apache Kafka {self.version}: {len(list(self.lib.glob('*.jar')))} jars ready")

    def _pom_text(self) -> str:
        try:
            return self.pom.read_text()
        except OSError as exc:
            raise BrokerError(f"no Maven file for Apache Kafka at {self.pom}: {exc}") from exc

    def _pom_digest(self) -> str:
        return hashlib.sha256(self._pom_text().encode()).hexdigest()
