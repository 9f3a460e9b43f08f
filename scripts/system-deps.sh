#!/usr/bin/env bash
# What the tests need from the operating system, installed from Debian's packages when missing:
# Chromium for the browser tests, PostgreSQL for the ledger's PostgreSQL suite.
set -euo pipefail

apt_install() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "system-deps: need root to install $*; install them yourself" >&2
    exit 1
  fi
  if [ -z "${APT_UPDATED:-}" ]; then
    apt-get update -qq
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

[ -x /usr/bin/chromium ] || apt_install chromium chromium-driver

if ! command -v pg_ctlcluster >/dev/null; then
  apt_install postgresql
fi
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  version="$(ls /etc/postgresql | sort -V | tail -1)"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
fi
