#!/bin/sh
# Temporal's schema in PostgreSQL: creates both databases on the first start and applies every
# newer schema version after a Temporal upgrade. Safe to run on every `docker compose up`.
set -eu
: "${POSTGRES_SEEDS:?}" "${POSTGRES_USER:?}" "${POSTGRES_PWD:?}"
SCHEMA=/etc/temporal/schema/postgresql/v12

sql() {
  db="$1"
  shift
  temporal-sql-tool --plugin postgres12 --endpoint "$POSTGRES_SEEDS" --port "${DB_PORT:-5432}" \
    --user "$POSTGRES_USER" --password "$POSTGRES_PWD" --database "$db" "$@"
}

for pair in temporal:temporal temporal_visibility:visibility; do
  db="${pair%%:*}"
  dir="${pair##*:}"
  # Fails when the database exists already; a real connection problem fails setup-schema below.
  sql "$db" create-database || echo "database $db exists"
  sql "$db" setup-schema -v 0.0
  sql "$db" update-schema -d "$SCHEMA/$dir/versioned"
done
echo "temporal schema is current"
