#!/usr/bin/env bash
# CI: make sure the PostgreSQL server the store tests use (127.0.0.1:5432, trust auth, user
# postgres, database "test") is running. Start the local cluster if it is not; fail loudly if
# it still is not ready, so the postgres tests never silently skip in CI.
set -uo pipefail

ready() { pg_isready -h 127.0.0.1 -p 5432 -q; }

if ! command -v pg_isready >/dev/null 2>&1; then
  echo "postgres.sh: pg_isready not found (install postgresql-client)" >&2
  exit 1
fi
if ready; then
  echo "postgres.sh: PostgreSQL is ready on 127.0.0.1:5432"
else
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$version" ]; then
    echo "postgres.sh: not ready and no cluster under /etc/postgresql to start" >&2
    exit 1
  fi
  echo "postgres.sh: starting cluster $version/main"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 30); do
    ready && break
    sleep 1
  done
  if ! ready; then
    echo "postgres.sh: PostgreSQL did not become ready on 127.0.0.1:5432" >&2
    exit 1
  fi
  echo "postgres.sh: PostgreSQL is ready on 127.0.0.1:5432"
fi

# The tests need the "test" database; create it if this is a fresh cluster.
if ! psql -h 127.0.0.1 -U postgres -d test -Atc "select 1" >/dev/null 2>&1; then
  echo "postgres.sh: creating database test"
  psql -h 127.0.0.1 -U postgres -d postgres -c "create database test" >/dev/null || exit 1
fi
