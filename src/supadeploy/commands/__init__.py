"""One library entry per command: ``run_<command>(invocation, ...)`` does the work and returns data.

This is the layer between the command line and the domain (like the Supabase CLI's ``internal/<cmd>.Run`` or
alembic's ``command.py``): it resolves the environment, opens the Target, and applies the policy every
writing command shares (supadeploy.commands.writing: confirm before the deploy lock, backup_dir and the
[push] timeouts from supadeploy.toml, one deploy-log row per run). ``supadeploy.cli`` parses flags, renders
what these functions return (supadeploy.report) and chooses exit codes; nothing here prints except through
the Invocation's ``say``.
"""
