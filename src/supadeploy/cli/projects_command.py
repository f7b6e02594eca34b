"""`supadeploy projects` (defined with `link` in link_command: both only wire flags to the Management API)."""

from supadeploy.cli.link_command import PROJECTS_HELP, projects

__all__ = ["PROJECTS_HELP", "projects"]
