-- provision-m2m.sql — run once by the `logto-provision` service of docker-compose.yml.
--
-- Logto OSS has no CLI, environment variable or API call that creates an M2M application with a
-- chosen id and secret (logto-io/logto#5202), so the demo writes it into Logto's database:
-- an API resource, two scopes, an M2M role granting both, and an M2M app holding that role.
-- Tenant 'default' (self-hosted Logto). Run AFTER `npm run cli db seed -- --swe` (the logto
-- service's healthcheck passing means the seed is done). Written against the schema of Logto
-- 1.42 (svhd/logto:1.42.0, PostgreSQL); Tests/IntegrationTests/ProvisionSQLTests.swift runs it
-- against a real PostgreSQL holding those tables' columns and constraints.
--
-- Idempotent, and it converges: every `docker compose up` runs it again, and a changed app
-- secret, API indicator or app id is written over the old one (a changed LOGTO_APP_ID gets a new
-- app, and the demo role moves to it). It fails loudly: everything runs in one transaction that
-- ends with a check, and when the app, its secret, its role, the API resource or a scope grant is
-- not there afterwards it raises, psql exits 3, nothing is committed, and the proxy (which
-- depends on this service completing successfully) does not start with a useless credential.
--
--   psql -X -v app_id=ID -v app_secret_file=FILE -v api_indicator=URI -f provision-m2m.sql
--
-- psql variables:
--   app_id           M2M app id = OAuth client_id (1-21 characters, [a-z0-9])
--   app_secret_file  the file holding the M2M app secret: the same file the proxy reads as
--                    client_secret_file. Read with the proxy's rule (DESIGN.md §3): the bytes of
--                    the file with exactly one trailing "\n" or "\r\n" removed; 1-64 characters.
--   api_indicator    API resource indicator = the proxy route's `resource` (absolute URI; exact match)
\set ON_ERROR_STOP on

\if :{?app_id}
\else
  DO $$ BEGIN RAISE EXCEPTION 'provision-m2m.sql: psql variable app_id is not set (-v app_id=...)'; END $$;
\endif
\if :{?app_secret_file}
\else
  DO $$ BEGIN RAISE EXCEPTION 'provision-m2m.sql: psql variable app_secret_file is not set (-v app_secret_file=...)'; END $$;
\endif
\if :{?api_indicator}
\else
  DO $$ BEGIN RAISE EXCEPTION 'provision-m2m.sql: psql variable api_indicator is not set (-v api_indicator=...)'; END $$;
\endif

-- The secret, read as the proxy reads client_secret_file. A shell's "$(cat FILE)" would strip
-- every trailing newline and keep a "\r": a CRLF file would give Logto and the proxy different
-- secrets. psql's backquotes strip one trailing newline, so a "." is printed after the file and
-- removed below; no "." means cat failed (its message is on stderr).
\set app_secret_raw `cat -- :'app_secret_file' && echo .`
SELECT regexp_replace(left(:'app_secret_raw', -1), E'\r?\n$', '') AS app_secret,
       right(:'app_secret_raw', 1) = '.' AS app_secret_read
\gset
\if :app_secret_read
\else
  DO $$ BEGIN RAISE EXCEPTION 'provision-m2m.sql: cannot read app_secret_file'; END $$;
\endif

BEGIN;
-- The inputs, for the DO blocks below (psql does not substitute variables inside $$ bodies).
-- Never printed: the secret stays in this transaction's settings.
SELECT set_config('m2m_provision.app_id', :'app_id', true),
       set_config('m2m_provision.app_secret', :'app_secret', true),
       set_config('m2m_provision.api_indicator', :'api_indicator', true) \gset m2m_ignored_

DO $$
DECLARE
  v_app text := current_setting('m2m_provision.app_id');
  v_secret text := current_setting('m2m_provision.app_secret');
  v_indicator text := current_setting('m2m_provision.api_indicator');
  v_other text;
BEGIN
  IF v_app !~ '^[a-z0-9]{1,21}$' THEN
    RAISE EXCEPTION 'provision-m2m.sql: app_id must be 1-21 characters a-z, 0-9 (Logto ids are varchar(21))';
  END IF;
  IF length(v_secret) NOT BETWEEN 1 AND 64 THEN
    RAISE EXCEPTION 'provision-m2m.sql: the app secret must be 1-64 characters, the file gives % (application_secrets.value is varchar(64))', length(v_secret);
  END IF;
  IF v_indicator = '' THEN
    RAISE EXCEPTION 'provision-m2m.sql: api_indicator must not be empty';
  END IF;
  SELECT type::text INTO v_other FROM applications WHERE tenant_id = 'default' AND id = v_app;
  IF v_other <> 'MachineToMachine' THEN
    RAISE EXCEPTION 'provision-m2m.sql: app % is a % app, not MachineToMachine (choose another LOGTO_APP_ID)', v_app, v_other;
  END IF;
  v_other := NULL;
  SELECT id INTO v_other FROM resources
  WHERE tenant_id = 'default' AND indicator = v_indicator AND id <> 'demoapiresource';
  IF v_other IS NOT NULL THEN
    RAISE EXCEPTION 'provision-m2m.sql: API indicator % already belongs to resource %, not to the demo resource', v_indicator, v_other;
  END IF;
END $$;

-- The demo resource follows LOGTO_API_INDICATOR: a changed indicator is written over the old one.
INSERT INTO resources (tenant_id, id, name, indicator, is_default, access_token_ttl)
VALUES ('default', 'demoapiresource', 'Demo internal API', :'api_indicator', false, 3600)
ON CONFLICT (id) DO UPDATE SET indicator = EXCLUDED.indicator
WHERE resources.indicator IS DISTINCT FROM EXCLUDED.indicator;

INSERT INTO scopes (tenant_id, id, resource_id, name, description) VALUES
  ('default', 'demoscoperead',  'demoapiresource', 'read:data',  'Read data'),
  ('default', 'demoscopewrite', 'demoapiresource', 'write:data', 'Write data')
ON CONFLICT DO NOTHING;

INSERT INTO roles (tenant_id, id, name, description, type)
VALUES ('default', 'demom2mrole', 'm2m-proxy demo role', 'Grants read/write on demo API', 'MachineToMachine')
ON CONFLICT DO NOTHING;

INSERT INTO roles_scopes (tenant_id, id, role_id, scope_id) VALUES
  ('default', 'demorolescoper', 'demom2mrole', 'demoscoperead'),
  ('default', 'demorolescopew', 'demom2mrole', 'demoscopewrite')
ON CONFLICT DO NOTHING;

-- `secret` column = internal secret used by oidc-provider; the client-facing secret lives in
-- application_secrets (this mirrors POST /api/applications).
INSERT INTO applications (tenant_id, id, name, secret, description, type, oidc_client_metadata)
VALUES ('default', :'app_id', 'm2m-proxy demo', '#internal:' || md5(random()::text), 'Pre-provisioned by compose',
        'MachineToMachine', '{"redirectUris":[],"postLogoutRedirectUris":[]}')
ON CONFLICT DO NOTHING;

-- A rotated secret file takes effect on the next `up`.
INSERT INTO application_secrets (tenant_id, application_id, name, value)
VALUES ('default', :'app_id', 'compose-demo', :'app_secret')
ON CONFLICT (tenant_id, application_id, name) DO UPDATE SET value = EXCLUDED.value
WHERE application_secrets.value IS DISTINCT FROM EXCLUDED.value;

-- The demo role belongs to the configured app: with a changed LOGTO_APP_ID the assignment row
-- moves to the new app (the old app keeps no rights). Skipped when the app already holds it.
INSERT INTO applications_roles (tenant_id, id, application_id, role_id)
SELECT 'default', 'demoapprole', :'app_id', 'demom2mrole'
WHERE NOT EXISTS (
  SELECT 1 FROM applications_roles
  WHERE tenant_id = 'default' AND application_id = :'app_id' AND role_id = 'demom2mrole')
ON CONFLICT (id) DO UPDATE SET application_id = EXCLUDED.application_id, role_id = EXCLUDED.role_id;

-- The check: what the proxy's token request needs, or no commit and a non-zero exit.
DO $$
DECLARE
  v_app text := current_setting('m2m_provision.app_id');
  v_secret text := current_setting('m2m_provision.app_secret');
  v_indicator text := current_setting('m2m_provision.api_indicator');
  v_type text;
  v_missing text;
BEGIN
  SELECT type::text INTO v_type FROM applications WHERE tenant_id = 'default' AND id = v_app;
  IF v_type IS NULL THEN
    RAISE EXCEPTION 'provision-m2m.sql: app % is missing after provisioning', v_app;
  ELSIF v_type <> 'MachineToMachine' THEN
    RAISE EXCEPTION 'provision-m2m.sql: app % is a % app, not MachineToMachine (choose another LOGTO_APP_ID)', v_app, v_type;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM application_secrets
                 WHERE tenant_id = 'default' AND application_id = v_app AND name = 'compose-demo'
                   AND value = v_secret) THEN
    RAISE EXCEPTION 'provision-m2m.sql: app % does not hold the secret from app_secret_file', v_app;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM applications_roles ar JOIN roles r ON r.id = ar.role_id
                 WHERE ar.tenant_id = 'default' AND ar.application_id = v_app AND ar.role_id = 'demom2mrole'
                   AND r.type = 'MachineToMachine') THEN
    RAISE EXCEPTION 'provision-m2m.sql: app % does not hold the MachineToMachine role demom2mrole', v_app;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM resources WHERE tenant_id = 'default' AND id = 'demoapiresource' AND indicator = v_indicator) THEN
    RAISE EXCEPTION 'provision-m2m.sql: API resource % is missing', v_indicator;
  END IF;
  SELECT string_agg(wanted.name, ', ' ORDER BY wanted.name) INTO v_missing
  FROM (VALUES ('read:data'), ('write:data')) AS wanted(name)
  WHERE NOT EXISTS (
    SELECT 1 FROM applications_roles ar
    JOIN roles_scopes rs ON rs.tenant_id = ar.tenant_id AND rs.role_id = ar.role_id
    JOIN scopes s ON s.tenant_id = rs.tenant_id AND s.id = rs.scope_id
    JOIN resources res ON res.tenant_id = s.tenant_id AND res.id = s.resource_id
    WHERE ar.tenant_id = 'default' AND ar.application_id = v_app
      AND res.indicator = v_indicator AND s.name = wanted.name);
  IF v_missing IS NOT NULL THEN
    RAISE EXCEPTION 'provision-m2m.sql: app % is not granted % on %', v_app, v_missing, v_indicator;
  END IF;
END $$;
COMMIT;

SELECT a.id AS app_id, r.indicator AS resource, string_agg(s.name, ' ' ORDER BY s.name) AS scopes
FROM applications a
JOIN applications_roles ar ON ar.tenant_id = a.tenant_id AND ar.application_id = a.id
JOIN roles_scopes rs ON rs.tenant_id = ar.tenant_id AND rs.role_id = ar.role_id
JOIN scopes s ON s.tenant_id = rs.tenant_id AND s.id = rs.scope_id
JOIN resources r ON r.tenant_id = s.tenant_id AND r.id = s.resource_id
WHERE a.tenant_id = 'default' AND a.id = :'app_id'
GROUP BY a.id, r.indicator;
