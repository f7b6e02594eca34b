"""Migration lint on the real PostgreSQL parser: ``parse`` (located statements), ``rules`` (one function per
rule, stable codes), ``suppress`` (inline comments and ``[lint]``), ``report`` (``lint_migrations``)."""
