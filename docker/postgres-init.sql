-- Roles and database for docker-compose.yml (run once by the postgres image on an empty data volume).
-- The same as scripts/services.sh: the owner runs migrations; the app role is NOT the owner, so consent
-- evidence and the audit log stay append-only (N11, N16). Change the passwords for anything but a try-out.
CREATE ROLE consentcast_owner LOGIN CREATEDB CREATEROLE PASSWORD 'consentcast_owner';
CREATE ROLE consentcast_app LOGIN PASSWORD 'consentcast_app';
CREATE DATABASE consentcast OWNER consentcast_owner ENCODING 'UTF8' TEMPLATE template0;
GRANT CONNECT ON DATABASE consentcast TO consentcast_app;
\connect consentcast
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO consentcast_owner;
