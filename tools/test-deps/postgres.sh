#!/bin/sh
# Installs Debian's PostgreSQL server when its binaries are missing, so that `make test` runs the
# tests that need PostgreSQL on a throwaway server (see gateway/testing_postgres.py).
# Idempotent and silent when the server is already installed. Without root or sudo it prints one
# line and exits 0: those tests are then skipped, with the reason.
set -eu
# Where the component cannot be provided: 0 leaves its tests to skip, 1 under
# GATEWAY_TEST_NO_SKIPS (CI), where nothing may be skipped.
missing_status=0
case "${GATEWAY_TEST_NO_SKIPS:-0}" in "" | 0) ;; *) missing_status=1 ;; esac

installed() {
    for postgres in /usr/lib/postgresql/*/bin/postgres; do
        [ -x "$postgres" ] && return 0
    done
    return 1
}

installed && exit 0

if [ "$(id -u)" -eq 0 ]; then
    as_root=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root="sudo -n"
else
    echo "test-deps: PostgreSQL server not installed and no root or sudo to install it;" \
        "the PostgreSQL tests will be skipped (apt-get install postgresql, or set" \
        "GATEWAY_TEST_POSTGRES_URL)" >&2
    exit "$missing_status"
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "test-deps: PostgreSQL server not installed and no apt-get to install it;" \
        "the PostgreSQL tests will be skipped (or set GATEWAY_TEST_POSTGRES_URL)" >&2
    exit "$missing_status"
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
install() {
    $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        postgresql >"$log" 2>&1
}

echo "test-deps: installing the PostgreSQL server (apt-get install postgresql)"
# The package lists are refreshed only when the install fails without them.
if ! install; then
    if ! { $as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >"$log" 2>&1 && install; }
    then
        cat "$log" >&2
        echo "test-deps: installing postgresql failed" >&2
        exit 1
    fi
fi
installed || { echo "test-deps: postgresql installed, but no server binary found" >&2; exit 1; }
