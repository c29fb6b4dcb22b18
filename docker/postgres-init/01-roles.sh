#!/bin/sh
# Runs once, when the postgres volume is first initialised: creates the owner role (runs
# migrations, owns the tables) and the application role (owns nothing, no BYPASSRLS).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
CREATE ROLE urakata_owner LOGIN PASSWORD '${URAKATA_OWNER_PASSWORD}' NOSUPERUSER NOBYPASSRLS;
CREATE ROLE urakata_app LOGIN PASSWORD '${URAKATA_APP_PASSWORD}' NOSUPERUSER NOBYPASSRLS;
CREATE DATABASE urakata OWNER urakata_owner ENCODING 'UTF8' TEMPLATE template0;
\connect urakata
REVOKE ALL ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO urakata_owner;
GRANT USAGE ON SCHEMA public TO urakata_app;
GRANT CONNECT ON DATABASE urakata TO urakata_app;
SQL
