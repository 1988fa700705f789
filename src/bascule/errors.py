"""The error a run raises when it cannot start or cannot finish (bad configuration, a source or
target bascule cannot read or write, a preflight that refuses); its message says what to do."""


class MigrationError(Exception):
    """A run could not start or could not finish (bad config, bad source/target shape...)."""


def require(value: str | None, name: str, why: str = "") -> str:
    """The setting ``name`` (``source_url``, ``target_url``), or a MigrationError that says
    where to set it."""
    if not value:
        raise MigrationError(f"{name} is not set (bascule.toml, BASCULE_{name.upper()} or "
                             f"--{name.split('_')[0]}){why}")
    return value
