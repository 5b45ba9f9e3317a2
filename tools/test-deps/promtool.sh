#!/bin/sh
# Debian's prometheus package, for promtool: the deploy tests check the alert rules and the
# scrape config with it. Does nothing when promtool is already there; without root it says so
# and those checks are skipped (the metric names are still checked by parsing the files).
set -eu
# Where the component cannot be provided: 0 leaves its tests to skip, 1 under
# GATEWAY_TEST_NO_SKIPS (CI), where nothing may be skipped.
missing_status=0
case "${GATEWAY_TEST_NO_SKIPS:-0}" in "" | 0) ;; *) missing_status=1 ;; esac
if command -v promtool >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "promtool.sh: promtool is missing; run as root (or: apt-get install prometheus)" >&2
    exit "$missing_status"
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends prometheus >/dev/null
command -v promtool >/dev/null
