#!/bin/sh
# One-shot, before the Temporal server starts: create or upgrade its schemas in PostgreSQL
# (what Temporal recommends for production instead of the auto-setup image). Idempotent: a
# schema already at the tool's version is left as it is.
set -eu

PLUGIN=postgres12
SCHEMAS=/etc/temporal/schema/postgresql/v12
export SQL_PASSWORD="${POSTGRES_PWD}"

sql() {
    temporal-sql-tool --plugin "$PLUGIN" --ep "${POSTGRES_SEEDS}" -p "${DB_PORT}" \
        -u "${POSTGRES_USER}" --db "$@"
}

for pair in "${DBNAME}:temporal" "${VISIBILITY_DBNAME}:visibility"; do
    database="${pair%%:*}"
    schema="${pair#*:}"
    # The databases come from the postgres init script (deploy/postgres); only schemas here.
    # setup-schema -v 0.0 makes the version table (a no-op when it exists), update-schema
    # brings the schema to the image's version.
    sql "$database" setup-schema -v 0.0 || true
    sql "$database" update-schema -d "$SCHEMAS/$schema/versioned"
    echo "schema of $database is up to date"
done
