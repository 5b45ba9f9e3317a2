#!/bin/sh
# Debian's prometheus package, for promtool: the deploy tests check the alert rules and the
# scrape config with it. Does nothing when promtool is already there; without root it says so
# and those checks are skipped (the metric names are still checked by parsing the files).
set -eu
if command -v promtool >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "promtool.sh: promtool is missing; run as root (or: apt-get install prometheus)" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends prometheus >/dev/null
command -v promtool >/dev/null
