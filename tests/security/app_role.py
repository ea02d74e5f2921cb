"""A PostgreSQL login role like the one production runs the app as: not a superuser, no
BYPASSRLS, owner of nothing, with plain read/write grants on a database migrated by its owner.

The suite's own connections are the superuser ``postgres``, which row security never applies to;
the tests of Z-08 and the fuzzer's PostgreSQL run connect through this role instead."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import psycopg

APP_ROLE = "lh_app_rls"


def app_role_url(owner_url: str) -> str:
    """Create the role (once per server), grant it the tables of the database at ``owner_url``
    (already migrated), and return the same database's URL logging in as the role."""
    plain = owner_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        try:
            conn.execute(f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE")
        except (psycopg.errors.DuplicateObject, psycopg.errors.UniqueViolation):
            pass  # made by an earlier run, or by the other test worker just now
        conn.execute(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}")
        conn.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE}")
        conn.execute(f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}")
    parts = urlsplit(plain)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{APP_ROLE}@{host}"))
