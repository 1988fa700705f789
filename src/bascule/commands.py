"""Registers the subcommands on the click group (each lives next to the library code it calls)."""
from bascule.pipeline import cli as _pipeline_cli  # noqa: F401,E402
from bascule.extract import cli as _extract_cli  # noqa: F401,E402
from bascule import demo as _demo  # noqa: F401,E402
from bascule.redirects import cli as _redirects_cli  # noqa: F401
from bascule.producers import cli as _producers_cli  # noqa: F401
from bascule.generate import cli as _generate_cli  # noqa: F401
