"""bascule: move the AMAP-mode groups of a Cagette.net instance into a Camap instance."""

__version__ = "0.1.0"
