"""Use cases: one function per verb, ``verb(db, actor, ..., *, now)``. They never commit; the
edge (an HTTP request, a CLI command, a job) opens the unit of work."""
