"""The error a run raises when it cannot start or cannot finish (bad configuration, a source or
target bascule cannot read or write, a preflight that refuses); its message says what to do."""


class MigrationError(Exception):
    """A run could not start or could not finish (bad config, bad source/target shape...)."""
