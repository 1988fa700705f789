"""The errors a run raises when it cannot start or cannot finish, and the exit code of each.

Exit codes (the README and ``bascule --help`` say the same):

- 0 done;
- 1 the data says no (a difference, a failed group, a refused rollback): ``DataRefused``;
- 2 bad usage or settings (a group selection, a target or source of the wrong schema, the same
  database as source and target): ``SettingsError``;
- 3 the run could not proceed (a database unreachable or refusing access, a missing database,
  driver or bascule tables, a server limit, another run holding the target): ``CannotProceed``;
- 130 / 143 interrupted by SIGINT / SIGTERM.

``MigrationError`` is the base of the three; raised as such it means "could not proceed" (3).
Its message is one line that says what to do; it never holds a password.
"""

EXIT_OK = 0
EXIT_DATA = 1
EXIT_USAGE = 2
EXIT_CANNOT_PROCEED = 3
EXIT_SIGINT = 130
EXIT_SIGTERM = 143


class MigrationError(Exception):
    """A run could not start or could not finish; ``exit_code`` says which way."""

    exit_code = EXIT_CANNOT_PROCEED


class DataRefused(MigrationError):
    """The data says no: a difference, a failed group, a refused rollback (exit 1)."""

    exit_code = EXIT_DATA


class SettingsError(MigrationError):
    """Bad usage or settings: a selection, a schema, a source that is the target (exit 2)."""

    exit_code = EXIT_USAGE


class CannotProceed(MigrationError):
    """A database, a driver, a lock or a server limit stops the run (exit 3)."""

    exit_code = EXIT_CANNOT_PROCEED


def require(value: str | None, name: str, why: str = "") -> str:
    """The setting ``name`` (``source_url``, ``target_url``), or a SettingsError that says
    where to set it."""
    if not value:
        raise SettingsError(f"{name} is not set (bascule.toml, BASCULE_{name.upper()} or "
                            f"--{name.split('_')[0]}){why}")
    return value
