"""Lint findings from the check push makes before applying (supadeploy.migrations.executable)."""

from __future__ import annotations

from supadeploy.lint.rules import Hit
from supadeploy.migrations.executable import NotExecutable, cli_split_disagreement
from supadeploy.migrations.files import Migration


def executable_hits(migration: Migration) -> list[Hit]:
    """SD505 when push would refuse the file; SD506 where the Supabase CLI would split it differently."""
    try:
        migration.executable()
    except NotExecutable as refused:
        return [Hit("SD505", refused.offset, refused.what)]
    offset = cli_split_disagreement(migration)
    if offset is None:
        return []
    return [Hit("SD506", offset, "the Supabase CLI would end a statement here, inside a string, comment or body "
                                 "that PostgreSQL reads as one: `supabase db push` of this file changes its SQL")]
