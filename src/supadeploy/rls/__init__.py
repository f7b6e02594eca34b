"""Row Level Security verification: catalog lints, the expected-policy manifest, probes, the access matrix.

The entry point is :func:`supadeploy.rls.verify.run_verify`; everything reads the database through
``Target.query`` (one catalog query) and ``Target.query_rolled_back`` (the probes), so it works over
any Target.
"""
