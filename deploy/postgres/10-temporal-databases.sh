#!/bin/sh
# Runs once, when the postgres volume is first initialised (docker-entrypoint-initdb.d).
# Creates the role Temporal connects as and the two databases it owns; Temporal's
# auto-setup then installs and upgrades the schemas in them (SKIP_DB_CREATE=true).
set -eu

: "${TEMPORAL_DB_USER:=temporal}"
: "${TEMPORAL_DB_PASSWORD:?TEMPORAL_DB_PASSWORD must be set}"

psql -v ON_ERROR_STOP=1 \
    --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v temporal_user="$TEMPORAL_DB_USER" -v temporal_password="$TEMPORAL_DB_PASSWORD" <<'SQL'
CREATE ROLE :"temporal_user" LOGIN PASSWORD :'temporal_password';
CREATE DATABASE temporal OWNER :"temporal_user";
CREATE DATABASE temporal_visibility OWNER :"temporal_user";
SQL
