-- provision-m2m.sql — run once by the `logto-provision` service of docker-compose.yml.
--
-- Logto OSS has no CLI, environment variable or API call that creates an M2M application with a
-- chosen id and secret (logto-io/logto#5202), so the demo writes it into Logto's database:
-- an API resource, two scopes, an M2M role granting both, and an M2M app holding that role.
-- Tenant 'default' (self-hosted Logto). Run AFTER `npm run cli db seed -- --swe` (the logto
-- service's healthcheck passing means the seed is done). Idempotent: every `docker compose up`
-- runs it again; a changed app secret is written over the old one.
-- Written against the schema of Logto 1.42 (svhd/logto:1.42.0, PostgreSQL).
--
-- psql variables:
--   app_id         M2M app id = OAuth client_id (<= 21 chars, [a-z0-9])
--   app_secret     M2M app secret = OAuth client_secret (<= 64 chars)
--   api_indicator  API resource indicator = the proxy route's `resource` (absolute URI; exact match)
\set ON_ERROR_STOP on
BEGIN;
INSERT INTO resources (tenant_id, id, name, indicator, is_default, access_token_ttl)
VALUES ('default', 'demoapiresource', 'Demo internal API', :'api_indicator', false, 3600)
ON CONFLICT DO NOTHING;

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

INSERT INTO application_secrets (tenant_id, application_id, name, value)
VALUES ('default', :'app_id', 'compose-demo', :'app_secret')
ON CONFLICT DO NOTHING;
-- A rotated secret file takes effect on the next `up` (the INSERT above keeps an existing row).
UPDATE application_secrets SET value = :'app_secret'
WHERE tenant_id = 'default' AND application_id = :'app_id' AND name = 'compose-demo'
  AND value IS DISTINCT FROM :'app_secret';

INSERT INTO applications_roles (tenant_id, id, application_id, role_id)
VALUES ('default', 'demoapprole', :'app_id', 'demom2mrole')
ON CONFLICT DO NOTHING;
COMMIT;

SELECT a.id AS app_id, r.indicator AS resource, string_agg(s.name, ' ' ORDER BY s.name) AS scopes
FROM applications a
JOIN applications_roles ar ON ar.tenant_id = a.tenant_id AND ar.application_id = a.id
JOIN roles_scopes rs ON rs.tenant_id = ar.tenant_id AND rs.role_id = ar.role_id
JOIN scopes s ON s.tenant_id = rs.tenant_id AND s.id = rs.scope_id
JOIN resources r ON r.tenant_id = s.tenant_id AND r.id = s.resource_id
WHERE a.tenant_id = 'default' AND a.id = :'app_id'
GROUP BY a.id, r.indicator;
