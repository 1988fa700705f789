"""bascule: move the AMAP-mode groups of a Cagette.net instance into a Camap instance."""

from bascule import _build

__version__ = "0.1.0"

# the hot path's compiled modules, or their pure-Python files (``bascule._build``)
_build.install()
