-- The part of Logto 1.42.0's PostgreSQL schema that deploy/compose/provision-m2m.sql touches:
-- only the tables, columns, types, functions and constraints its statements use, copied from
-- logto-io/logto at tag v1.42.0 (file named above each object). Used by ProvisionSQLTests,
-- which runs the provisioning SQL against a real PostgreSQL holding this.
-- Left out on purpose: indexes (no effect on what the SQL does), row-level security policies and
-- the set_tenant_id trigger (_after_each.sql: the provisioner is the superuser and always writes
-- tenant_id itself), and columns the SQL never names (their defaults apply).

-- packages/schemas/src/models/tenants.ts (the seed inserts the 'default' tenant)
create table tenants (
  id varchar(21) not null,
  primary key (id)
);
insert into tenants (id) values ('default');

-- packages/schemas/tables/applications.sql
create type application_type as enum ('Native', 'SPA', 'Traditional', 'MachineToMachine', 'Protected', 'SAML');
create table applications (
  tenant_id varchar(21) not null
    references tenants (id) on update cascade on delete cascade,
  id varchar(21) not null,
  name varchar(256) not null,
  secret varchar(64) not null,
  description text,
  type application_type not null,
  oidc_client_metadata jsonb not null,
  primary key (id)
);
create function check_application_type(
  application_id varchar(21),
  variadic target_type application_type[]
) returns boolean as
$$ begin
  return (select type from applications where id = application_id) = any(target_type);
end; $$ language plpgsql set search_path = public;

-- packages/schemas/tables/resources.sql
create table resources (
  tenant_id varchar(21) not null
    references tenants (id) on update cascade on delete cascade,
  id varchar(21) not null,
  name text not null,
  indicator text not null,
  is_default boolean not null default (false),
  access_token_ttl bigint not null default(3600),
  primary key (id),
  constraint resources__indicator
    unique (tenant_id, indicator)
);
create unique index resources__is_default_true
  on resources (tenant_id)
  where is_default = true;

-- packages/schemas/tables/roles.sql
create type role_type as enum ('User', 'MachineToMachine');
create table roles (
  tenant_id varchar(21) not null
    references tenants (id) on update cascade on delete cascade,
  id varchar(21) not null,
  name varchar(128) not null,
  description varchar(128) not null,
  type role_type not null default 'User',
  primary key (id),
  constraint roles__name
    unique (tenant_id, name)
);
create function public.check_role_type(role_id varchar(21), target_type role_type) returns boolean as
$$ begin
  return (select type from public.roles where id = role_id) = target_type;
end; $$ language plpgsql;

-- packages/schemas/tables/scopes.sql
create table scopes (
  tenant_id varchar(21) not null
    references tenants (id) on update cascade on delete cascade,
  id varchar(21) not null,
  resource_id varchar(21) not null
    references resources (id) on update cascade on delete cascade,
  name varchar(256) not null,
  description text,
  primary key (id),
  constraint scopes__resource_id_name
    unique (tenant_id, resource_id, name)
);

-- packages/schemas/tables/roles_scopes.sql
create table roles_scopes (
  tenant_id varchar(21) not null
    references tenants (id) on update cascade on delete cascade,
  id varchar(21) not null,
  role_id varchar(21) not null
    references roles (id) on update cascade on delete cascade,
  scope_id varchar(21) not null
    references scopes (id) on update cascade on delete cascade,
  primary key (id),
  constraint roles_scopes__role_id_scope_id
    unique (tenant_id, role_id, scope_id)
);

-- packages/schemas/tables/application_secrets.sql
create table application_secrets (
  tenant_id varchar(21) not null
    references tenants (id) on update cascade on delete cascade,
  application_id varchar(21) not null
    references applications (id) on update cascade on delete cascade,
  name varchar(256) not null,
  value varchar(64) not null,
  primary key (tenant_id, application_id, name),
  constraint application_type
    check (check_application_type(application_id, 'MachineToMachine', 'Traditional', 'Protected'))
);

-- packages/schemas/tables/applications_roles.sql
create table applications_roles (
  tenant_id varchar(21) not null
    references tenants (id) on update cascade on delete cascade,
  id varchar(21) not null,
  application_id varchar(21) not null
    references applications (id) on update cascade on delete cascade,
  role_id varchar(21) not null
    references roles (id) on update cascade on delete cascade,
  primary key (id),
  constraint applications_roles__application_id_role_id
    unique (tenant_id, application_id, role_id),
  constraint applications_roles__role_type
    check (public.check_role_type(role_id, 'MachineToMachine'))
);
