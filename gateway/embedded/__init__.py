"""The embedded Kafka-protocol broker for development and tests (librdkafka's mock cluster, from
the ``confluent-kafka`` wheel, the ``local-kafka`` extra): ``gateway broker``, ``gateway run``
without ``--bootstrap``, the demo, the benchmark and the test fixtures. Production runs on Apache
Kafka; :mod:`~gateway.embedded.identity`, which the runtime uses, needs no extra."""
