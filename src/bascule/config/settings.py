"""The one settings model of bascule.

Precedence (highest first): command-line flags, ``BASCULE_*`` environment variables, the TOML
file (``--config``, default ``./bascule.toml`` when it exists), the defaults below.

Database URLs carry passwords: every way of showing the settings (``repr``, ``str``,
``safe_dict``, validation errors) masks them.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import logging
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from bascule.errors import SettingsError

DEFAULT_CONFIG_FILE = "bascule.toml"

log = logging.getLogger(__name__)

# A host name as it may appear in a URL and in a web-server config: labels of letters, digits and
# hyphens, dots between them, an optional port. Nothing that could end a directive or a string.
_HOST_RE = re.compile(
    r"^(?=.{1,253}(?::\d{1,5})?$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*(?::\d{1,5})?$"
)

# A source name (``source_name``): what bascule_*.source holds.
_SOURCE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")


def _port_hint(url: str) -> str:
    m = re.search(r"@[^/?]*:([^/?@]*)(?:[/?]|$)", url)
    return f": port {m.group(1)!r} is not a number" if m and not m.group(1).isdigit() else ""


class ConfigError(Exception):
    """Invalid configuration. ``str()`` is one clear line per problem, without secrets."""


def safe_url(url: str | None) -> str | None:
    """The URL with its password replaced by ``***`` (never raises)."""
    if url is None:
        return None
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL at all: hide anything between ':' and '@'
        return re.sub(r"(//[^:/@]*:)[^@]*@", r"\1***@", url)


class Settings(BaseSettings):
    """Everything a bascule run needs to know. See the README for each setting."""

    model_config = SettingsConfigDict(
        env_prefix="BASCULE_",
        extra="forbid",
        validate_default=True,
    )

    source_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the Cagette database (read only), e.g. "
        "mysql+pymysql://reader:pw@db1/cagette",
    )
    target_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the Camap database, e.g. mysql+pymysql://camap:pw@db2/camap",
    )
    source_kind: Literal["auto", "cagette", "camap"] = Field(
        default="auto",
        description="What the source is: auto (found by reflection: Camap-only tables and "
        "columns, or Cagette-only ones), cagette or camap (when a database has both).",
    )
    old_host: str = Field(default="app.cagette.net", description="Host of the old instance.")
    source_name: str = Field(
        default="",
        description="The name under which the target's bookkeeping keeps what came from this "
        "source (id maps, groups, checksums, runs), so that several sources can move into one "
        "target side by side; default: old_host. A rehearsal on a restored copy and the real "
        "night read the same instance: give them the same name.",
    )
    new_host: str = Field(default="camap.alilo.fr", description="Host of the new instance.")
    cutover_date: dt.date | None = Field(
        default=None,
        description="Day of the move: the producer notice lists the distributions from that day "
        "on (unset: from the day it runs). No default: each move sets its own.",
    )
    redirect_until: dt.date | None = Field(
        default=None,
        description="Last day the old URLs redirect (until the end of that day, in `timezone`). "
        "No default: `bascule redirects` refuses to run without it (exit 2), and refuses a day "
        "already past unless --allow-expired.",
    )
    timezone: str = Field(default="Europe/Paris", description="Time zone of redirect_until.")
    groups: Annotated[list[int], NoDecode] = Field(
        default_factory=list, description="Only these source group ids (empty: every AMAP group)."
    )
    exclude_groups: Annotated[list[int], NoDecode] = Field(
        default_factory=list, description="Never these source group ids."
    )
    id_strategy: Literal["remap", "preserve"] = Field(
        default="remap",
        description="remap: new ids above the target's; preserve: keep source ids, refuse on "
        "any collision.",
    )
    keep_linked_stock: bool = Field(
        default=False,
        description="Keep the StockManagement flag of catalogs that were linked to a producer "
        "space (default: clear it, nothing feeds their stock any more).",
    )
    batch_size: int = Field(default=5000, ge=1, le=1_000_000, description="Rows per batch.")
    workers: int = Field(
        default=0, ge=0, le=64,
        description="Worker processes that move groups at once (0: one per core, the default; "
        "1: one process). Used by migrate and verify from a MariaDB/MySQL source to a "
        "MariaDB/MySQL or PostgreSQL target when there are enough units of work.",
    )
    secondary_indexes: Literal["after", "keep"] = Field(
        default="after",
        description="after: on a PostgreSQL or MariaDB target, the secondary indexes (not "
        "unique, not a key) of the Camap tables that are empty when the run starts are dropped "
        "and created again once the data is in, as pgloader does; their definitions are kept in "
        "bascule_index meanwhile, and a run that died puts them back when the next one starts. "
        "Tables that hold rows keep theirs; on MariaDB nothing is dropped with fk_checks=load "
        "(InnoDB lets an index backing a foreign key go only while its checks are off). keep: "
        "indexes stay and every row written updates them.",
    )
    fk_checks: Literal["after", "load"] = Field(
        default="after",
        description="after: the target's foreign keys are not checked row by row while bascule "
        "writes (PostgreSQL: session_replication_role=replica, needs a superuser, else 'load'; "
        "MariaDB: foreign_key_checks=0), every foreign key of the target is checked once at the "
        "end of the run and a dangling reference fails it; load: the database checks each row "
        "as it is written (slower on PostgreSQL).",
    )
    redirect_status: Literal[301, 302, 307, 308] = Field(
        default=301, description="HTTP status of the redirects."
    )
    report_dir: Path = Field(
        default=Path("bascule-out"),
        description="Where reports (JSON, Markdown, HTML) and the rows saved by rollback "
        "--force are written.",
    )
    connect_tries: int = Field(
        default=3, ge=1, le=20,
        description="Attempts to open a connection refused for a transient reason (too many "
        "connections, a server starting up, a connection refused while a server restarts) "
        "before the run gives up (exit 3).",
    )
    connect_pause: float = Field(
        default=1.0, ge=0, le=60,
        description="Seconds before the second attempt to connect, doubled before each next "
        "one.",
    )
    heartbeat: float = Field(
        default=30.0, ge=0,
        description="Seconds between two progress lines of a run whose stderr is not a "
        "terminal (nohup, cron, CI); 0: none (a line still marks each phase).",
    )

    @field_validator("source_url", "target_url")
    @classmethod
    def _check_url(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None
        try:
            u = make_url(v)
            port = u.port
        except (ArgumentError, ValueError):
            raise ValueError("is not an SQLAlchemy URL (dialect+driver://user:password@host/db)"
                             + _port_hint(v))
        backend = u.get_backend_name()
        if backend in ("postgres", "pg", "pgsql"):
            raise ValueError(f"database kind {backend!r} is not an SQLAlchemy name: use "
                             "postgresql+psycopg://user:password@host:5432/database")
        if backend not in ("mysql", "mariadb", "postgresql", "sqlite"):
            raise ValueError(f"database kind {backend!r} is not supported (mysql, mariadb, "
                             "postgresql or sqlite)")
        try:
            u._get_entrypoint()  # the dialect+driver pair SQLAlchemy knows (not yet imported)
        except NoSuchModuleError:
            raise ValueError(f"driver {u.get_driver_name()!r} is unknown for {backend}: use "
                             + {"postgresql": "postgresql+psycopg://", "sqlite": "sqlite:///"}
                             .get(backend, f"{backend}+pymysql://"))
        if port is not None and not 1 <= port <= 65535:
            raise ValueError(f"port {port} is out of range (1 to 65535)")
        return v

    @field_validator("old_host", "new_host")
    @classmethod
    def _check_host(cls, v: str) -> str:
        if not _HOST_RE.match(v):
            raise ValueError(
                "must be a plain host name such as camap.example.org (letters, digits, '-', '.', "
                "optional :port), with no scheme, path, space or quote"
            )
        return v.lower()

    @field_validator("source_name")
    @classmethod
    def _check_source_name(cls, v: str) -> str:
        if v and not _SOURCE_NAME_RE.match(v):
            raise ValueError("must be 1 to 64 letters, digits, '.', '-', '_' or ':' (a name "
                             "such as app.cagette.net or camap-44)")
        return v

    @field_validator("timezone")
    @classmethod
    def _check_tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r} (use an IANA name such as Europe/Paris)")
        return v

    @field_validator("groups", "exclude_groups", mode="before")
    @classmethod
    def _split_ids(cls, v: Any) -> Any:
        # BASCULE_GROUPS="12,15" as well as the JSON form
        if isinstance(v, str):
            v = v.strip()
            if v.startswith("["):
                try:
                    return json.loads(v)
                except ValueError:
                    raise ValueError("is not a list of group ids (e.g. 12,15 or [12, 15])")
            return [p for p in re.split(r"[,\s]+", v) if p]
        if isinstance(v, int):
            return [v]
        return v

    @model_validator(mode="after")
    def _check_dates(self) -> "Settings":
        if not self.source_name:
            self.source_name = self.old_host
        if self.redirect_until is not None and self.cutover_date is not None \
                and self.redirect_until < self.cutover_date:
            raise ValueError("redirect_until must not be before cutover_date")
        overlap = set(self.groups) & set(self.exclude_groups)
        if overlap:
            raise ValueError(f"groups {sorted(overlap)} are both selected and excluded")
        return self

    # --- derived values --------------------------------------------------------------------

    @property
    def redirect_end(self) -> dt.datetime:
        """The instant the redirects stop: end of ``redirect_until`` in ``timezone`` (aware).
        A SettingsError (exit 2) naming the setting when it is not set."""
        if self.redirect_until is None:
            raise SettingsError(
                "redirect_until is not set: the last day the old URLs redirect to new_host "
                "(bascule.toml: redirect_until = \"YYYY-MM-DD\", BASCULE_REDIRECT_UNTIL or "
                "redirects --until); bascule has no default, each move chooses its own (the "
                "README suggests a few months after cutover_date)")
        tz = ZoneInfo(self.timezone)
        nxt = self.redirect_until + dt.timedelta(days=1)
        return dt.datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz)

    def safe_dict(self) -> dict[str, Any]:
        """The settings as plain data, passwords masked: fit for logs and reports."""
        d = self.model_dump(mode="json")
        d["source_url"] = safe_url(self.source_url)
        d["target_url"] = safe_url(self.target_url)
        return d

    def __repr_args__(self):  # used by repr() and str()
        for k, v in super().__repr_args__():
            if k in ("source_url", "target_url"):
                v = safe_url(v)
            yield k, v

    # --- sources ---------------------------------------------------------------------------

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # flags (init) > environment > TOML file (passed in through init as _toml)
        return (init_settings, env_settings)


class _TomlFile(TomlConfigSettingsSource):
    """The settings file through pydantic-settings' own TOML source: a flat file, or the same
    keys under a ``[bascule]`` table."""

    def _read_file(self, file_path: Any) -> dict[str, Any]:
        data = super()._read_file(file_path)
        inner = data.get("bascule")
        return inner if isinstance(inner, dict) else data


#: ``BASCULE_*`` variables that are not settings: read by the code or the tests on their own.
ENVIRONMENT = {
    "BASCULE_SOURCE_DRIVER": "pymysql: read a MariaDB source with PyMySQL even when "
                             "mysqlclient is installed",
    "BASCULE_PIPELINE": "0: write each unit inline (no writer thread, no worker process)",
    "BASCULE_COMPILED": "0: run the pure-Python modules of the hot path, not the compiled ones "
                        "(bascule._build)",
    "BASCULE_COMPILE": "0: setup.py compiles nothing (the build of make venv)",
    "BASCULE_EXPECT_COMPILED": "1 (make test): tests/test_compiled.py fails when a module of "
                               "the hot path was not compiled",
}
#: Prefixes of variables of the test suite and the install scripts.
ENVIRONMENT_PREFIXES = ("BASCULE_TEST_", "BASCULE_SKIP_")


def did_you_mean(name: str, choices: Any) -> str:
    """' (did you mean X?)' for the closest of ``choices``, or ''."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def unknown_environment(environ: Any = None) -> list[str]:
    """One line per ``BASCULE_*`` variable that is neither a setting nor one of
    ``ENVIRONMENT``: a misspelt setting would otherwise be ignored in silence."""
    env = os.environ if environ is None else environ
    known = {f"BASCULE_{k.upper()}" for k in Settings.model_fields} | set(ENVIRONMENT)
    out = []
    for k in sorted(env):
        if not k.upper().startswith("BASCULE_") or k.upper() in known \
                or k.upper().startswith(ENVIRONMENT_PREFIXES):
            continue
        out.append(f"environment variable {k} is not a bascule setting: ignored"
                   + did_you_mean(k.upper(), sorted(known)))
    return out


def _format_errors(err: ValidationError, origin: dict[str, str]) -> str:
    lines = []
    for e in err.errors(include_url=False, include_input=False):
        field = ".".join(str(p) for p in e["loc"]) or "settings"
        msg = e["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        where = origin.get(field.split(".")[0], "")
        lines.append(f"setting {field}{where}: {msg}")
    return "\n".join(lines)


def load_settings(
    config_file: str | Path | None = None,
    **flags: Any,
) -> Settings:
    """Build the settings: TOML file, then BASCULE_* environment, then ``flags``.

    ``config_file=None`` reads ``./bascule.toml`` when it exists. Flags whose value is ``None``
    (or an empty tuple, as click gives for unused repeatable options) are ignored. An unknown
    key in the file is an error (with the setting it may be a misspelling of); an unknown
    ``BASCULE_*`` variable is warned about. Raises ConfigError with one line per problem.
    """
    explicit = config_file is not None
    path = Path(config_file) if explicit else Path(DEFAULT_CONFIG_FILE)
    if explicit and not path.is_file():
        raise ConfigError(f"config file {path}: not found")
    toml: _TomlFile | None = None
    if path.is_file():
        try:
            toml = _TomlFile(Settings, toml_file=path)
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"config file {path}: not valid TOML ({e})") from None
    file_values: dict[str, Any] = dict(toml.toml_data) if toml is not None else {}
    flag_values = {k: v for k, v in flags.items() if v is not None and v != ()}

    origin = {k: f" (from {path})" for k in file_values}
    for k in Settings.model_fields:
        if f"BASCULE_{k.upper()}" in os.environ:
            origin[k] = f" (from BASCULE_{k.upper()})"
    origin.update({k: " (from the command line)" for k in flag_values})

    unknown = sorted(set(file_values) - set(Settings.model_fields))
    if unknown:
        raise ConfigError("\n".join(
            f"setting {k} (from {path}): unknown setting{did_you_mean(k, Settings.model_fields)}"
            for k in unknown))
    for line in unknown_environment():
        log.warning(line)

    class _FileSettings(Settings):
        # flags > environment > the TOML file
        @classmethod
        def settings_customise_sources(cls, settings_cls, init_settings, env_settings,
                                       dotenv_settings, file_secret_settings):
            return (init_settings, env_settings) + ((toml,) if toml is not None else ())

    try:
        s = _FileSettings(**flag_values)
    except ValidationError as e:
        raise ConfigError(_format_errors(e, origin)) from None
    return Settings.model_construct(**{k: getattr(s, k) for k in Settings.model_fields})
