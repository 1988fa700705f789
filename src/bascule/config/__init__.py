"""Configuration: a TOML file, overlaid by BASCULE_* variables, overlaid by command-line flags."""

from bascule.config.settings import (
    ConfigError,
    Settings,
    load_settings,
    safe_url,
)

__all__ = ["ConfigError", "Settings", "load_settings", "safe_url"]
