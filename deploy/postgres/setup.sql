-- PostgreSQL for a city or province hub. Run as the postgres superuser:
--   sudo -u postgres psql -f setup.sql
-- The hub connects over the local socket as role "muster" (peer or scram auth);
-- hub.toml: db_url = "postgresql+psycopg://muster@/muster_hub"
-- The hub creates and migrates its own tables at start (alembic).

CREATE ROLE muster LOGIN;
CREATE DATABASE muster_hub OWNER muster ENCODING 'UTF8' TEMPLATE template0;

\connect muster_hub
-- Only the owner may read personal data.
REVOKE ALL ON DATABASE muster_hub FROM PUBLIC;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT ALL ON SCHEMA public TO muster;

-- Suggested server settings for a province hub (postgresql.conf), 24 GiB machine:
--   shared_buffers = 6GB
--   effective_cache_size = 16GB
--   maintenance_work_mem = 1GB
--   wal_compression = on
--   max_wal_size = 8GB
--   checkpoint_timeout = 15min
-- Several hub processes may share one store (work is claimed with FOR UPDATE SKIP LOCKED).
