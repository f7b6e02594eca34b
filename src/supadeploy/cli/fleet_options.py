"""The argument and options every `supadeploy fleet` command shares."""

from __future__ import annotations

from typing import Annotated

import typer

FleetArgument = Annotated[str, typer.Argument(metavar="NAME", help="A fleet of supadeploy.toml ([fleets.NAME]).")]
ParallelOption = Annotated[int | None, typer.Option(
    "--parallel", min=1, help="Members deployed (or read) at once (default: the fleet's parallel, else 4).",
    show_default=False)]
