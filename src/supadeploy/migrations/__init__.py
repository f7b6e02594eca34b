"""Migration files, plans, history and application."""
