"""``gateway kafka``: Apache Kafka on loopback (one node or three) with the gateway's topics.

The first line on stdout is ``bootstrap=HOST:PORT[,...]`` so scripts can read the address;
progress and the summary go to stderr. SIGINT or SIGTERM stops the nodes cleanly.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import click

from gateway.cli._common import load_settings
from gateway.cli._options import departments_option, partitions_option, prefix_option
from gateway.cluster import KafkaCluster, KafkaDistribution
from gateway.logs import configure_logging
from gateway.transport.acls import gateway_acls, kafka_acls_script
from gateway.transport.topics import TopicNames

__all__ = ["kafka_command"]


@click.command("kafka", short_help="Run Apache Kafka with every gateway topic.")
@click.option(
    "--nodes",
    type=click.Choice(["1", "3"]),
    default="1",
    show_default=True,
    help="Combined broker/controller nodes: 3 replicates every topic (min.insync.replicas 2).",
)
@click.option(
    "--port",
    type=click.IntRange(1024, 65400),
    help="Client port of the first node; the others take the next ones and controllers +100.",
    show_default="free ports",
)
@click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the nodes' data here (reused when started again).",
    show_default="a temporary folder, removed on exit",
)
@partitions_option()
@prefix_option("topic_prefix")
@departments_option()
@click.option(
    "--print-acls",
    is_flag=True,
    help="Only print the kafka-acls.sh commands that enforce the gateway's topic boundaries "
    "(docs/security.md) for this prefix, these departments and the gateway's group.",
)
@click.option(
    "--resolve-only",
    is_flag=True,
    help="Only fetch the pinned Kafka jars (if not yet here) and print their folder.",
)
def kafka_command(
    nodes: str,
    port: int | None,
    data_dir: Path | None,
    resolve_only: bool,
    print_acls: bool,
    **options: object,
) -> None:
    """Run Apache Kafka (KRaft) with every gateway topic until SIGINT or SIGTERM."""
    configure_logging(False)
    if print_acls:
        settings = load_settings(**options)
        acls = gateway_acls(
            TopicNames(settings.topic_prefix),
            list(settings.departments),
            gateway_group=settings.group_id,
        )
        click.echo(kafka_acls_script(acls), nl=False)
        return
    if resolve_only:
        distribution = KafkaDistribution()
        distribution.classpath(lambda line: click.echo(line, err=True))
        click.echo(str(distribution.lib))
        return
    settings = load_settings(**options)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    def say(line: str) -> None:
        click.echo(line, err=True)

    cluster = KafkaCluster(int(nodes), port=port, data_dir=data_dir, progress=say)
    try:
        say(f"starting Apache Kafka ({nodes} node{'s' if nodes != '1' else ''}) ...")
        cluster.start()
        topics = TopicNames(settings.topic_prefix).all_topics(list(settings.departments))
        cluster.create_topics(topics, settings.partitions)
        click.echo(f"bootstrap={cluster.bootstrap}")
        say(
            f"Apache Kafka {cluster.version} at {cluster.bootstrap}, data in {cluster.data_dir}\n"
            f"{len(topics)} gateway topics, {settings.partitions} partitions each, "
            f"replication factor {min(int(nodes), 3)}\n"
            "stop with Ctrl-C or SIGTERM"
        )
        while not stop.wait(0.5):
            for node in cluster.nodes:
                if not cluster.running(node.node_id):
                    say(f"node {node.node_id} exited:\n{cluster.log_tail(node.node_id)}")
                    stop.set()
    finally:
        cluster.stop()
    say("Apache Kafka stopped")
