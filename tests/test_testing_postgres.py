"""The throwaway PostgreSQL server the PostgreSQL tests run on: served on loopback without
durability, gone without a trace afterwards, and a clear reason where none can start."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from gateway.errors import ConfigError
from gateway.testing_postgres import throwaway_postgres, unavailable_reason


def test_a_throwaway_server_accepts_connections_on_loopback_and_leaves_nothing_behind() -> None:
    psycopg = pytest.importorskip("psycopg")
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)

    with throwaway_postgres() as server:
        with psycopg.connect(server.url) as conn:
            settings = conn.execute(
                "SELECT current_setting('fsync'), current_setting('listen_addresses'), "
                "current_setting('unix_socket_directories')"
            ).fetchone()
        assert settings == ("off", "127.0.0.1", str(server.socket_dir))

    assert not server.data_dir.parent.exists()
    with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
        probe.connect(("127.0.0.1", server.port))


def test_a_directory_without_the_server_binaries_is_a_reason_not_to_start(tmp_path: Path) -> None:
    assert unavailable_reason(tmp_path) == (
        f"no PostgreSQL server binaries (postgres, initdb, pg_ctl) in {tmp_path}"
    )
    with (
        pytest.raises(ConfigError, match="no PostgreSQL server binaries"),
        throwaway_postgres(tmp_path),
    ):
        pass
