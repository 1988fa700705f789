"""What every emitter shares: options, validation of anything that goes into a config, the
"number ≥ N" regex used for the time cut, the TTL buckets, the notice page."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from bascule.redirects.routes import ACTIVE_ROUTES, KIND_TABLE, Route

# A host name (optional :port), nothing that could end a directive, a string or a line.
_HOST_RE = re.compile(
    r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
    r"(?::[0-9]{1,5})?$"
)
# A filesystem path as written into a config: no quote, brace, semicolon, space, newline, $, #...
_PATH_RE = re.compile(r"^/[A-Za-z0-9._/+-]*$")

FALLBACKS = ("410", "home")
DEFAULT_MAX_AGE = 86400  # one day


class EmitError(ValueError):
    """A value that must not go into a web-server config."""


def check_host(h: str, what: str = "host") -> str:
    if not isinstance(h, str) or len(h) > 253 or not _HOST_RE.match(h):
        raise EmitError(f"{what} {h!r} is not a plain host name (letters, digits, '-', '.', "
                        "optional :port)")
    return h.lower()


def check_path(p: str | Path, what: str = "path") -> str:
    s = str(p)
    if not _PATH_RE.match(s) or "/../" in s + "/" or "//" in s:
        raise EmitError(f"{what} {s!r} must be an absolute path made of letters, digits, "
                        "'.', '_', '-', '+' and '/' (no space, quote, brace, semicolon)")
    return s.rstrip("/") or "/"


def check_int(v, what: str = "value") -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise EmitError(f"{what} {v!r} is not a non-negative integer")
    return v


@dataclass
class EmitOptions:
    old_host: str
    new_host: str
    cut: dt.datetime  # aware: the instant the redirects stop
    status: int = 301
    fallback: str = "410"  # after the cut: "410" (notice page) | "home" (302 to the new /home)
    max_age: int = DEFAULT_MAX_AGE  # Cache-Control max-age while far from the cut
    config_dir: str = "/etc/bascule"  # where the files live on the web server (absolute)
    server_tz: str = "UTC"  # Apache %{TIME} is local time: the server's time zone
    scheme: str = "https"
    routes: list[Route] = field(default_factory=lambda: list(ACTIVE_ROUTES))

    def validate(self) -> "EmitOptions":
        self.old_host = check_host(self.old_host, "old host")
        self.new_host = check_host(self.new_host, "new host")
        if self.status not in (301, 302, 307, 308):
            raise EmitError(f"status {self.status!r} must be 301, 302, 307 or 308")
        if self.fallback not in FALLBACKS:
            raise EmitError(f"fallback {self.fallback!r} must be 410 or home")
        check_int(self.max_age, "max-age")
        self.config_dir = check_path(self.config_dir, "config dir")
        if self.scheme not in ("https", "http"):
            raise EmitError("scheme must be https or http")
        if self.cut.tzinfo is None:
            raise EmitError("the cut must be an aware datetime")
        ZoneInfo(self.server_tz)
        return self

    @property
    def cut_epoch(self) -> int:
        return int(self.cut.timestamp())

    @property
    def new_base(self) -> str:
        return f"{self.scheme}://{self.new_host}"


def ge_regex(n: int) -> str:
    """A regex (no anchors, no captures) matching the decimal integers ≥ n (no leading zeros)."""
    if n < 0:
        raise ValueError(n)
    s = str(n)
    k = len(s)
    alts = [f"[1-9][0-9]{{{k},}}"]  # more digits
    for i, ch in enumerate(s):
        d = int(ch)
        if d < 9:
            lo = d + 1
            cls = str(lo) if lo == 9 else f"[{lo}-9]"
            rest = k - i - 1
            alts.append(s[:i] + cls + (f"[0-9]{{{rest}}}" if rest else ""))
    alts.append(s)
    return "(?:" + "|".join(alts) + ")"


def ttl_buckets(max_age: int) -> list[int]:
    """Cache lifetimes a redirect may get, ascending, ending with max_age."""
    return sorted({b for b in (0, 60, 600, 3600) if b < max_age} | {max_age})


def ttl_thresholds(cut_epoch: int, max_age: int) -> list[tuple[int, str]]:
    """(T, value) rules, to test in order, on the integer epoch second s of the request:
    the first T with s ≥ T gives value; none: str(max_age). A TTL b is given only while
    s + 1 + b ≤ cut, so that a cached redirect never outlives the cut."""
    out: list[tuple[int, str]] = [(cut_epoch, "gone")]
    b = ttl_buckets(max_age)
    for i in range(len(b) - 1):
        out.append((cut_epoch - b[i + 1], str(b[i])))
    return out


def notice_html(o: EmitOptions) -> str:
    """The short notice page served after the cut (no double quote, no $ or backslash)."""
    url = f"{o.new_base}/"
    until = o.cut.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%d %H:%M UTC")
    return (
        "<!doctype html><html lang='fr'><head><meta charset='utf-8'>"
        f"<title>Ce groupe a déménagé</title></head><body>"
        f"<h1>Ce groupe a déménagé</h1>"
        f"<p>Les groupes en mode AMAP sont désormais sur <a href='{url}'>{o.new_host}</a>. "
        f"La redirection automatique a pris fin le {until}.</p>"
        f"<p>AMAP groups have moved to <a href='{url}'>{o.new_host}</a>.</p>"
        "</body></html>"
    )


def header_comment(o: EmitOptions, what: str) -> list[str]:
    return [
        f"# bascule redirects ({what}): {o.old_host} -> {o.new_host}",
        f"# stop at {o.cut.isoformat()} (epoch {o.cut_epoch}); status {o.status}; "
        f"fallback after the cut: {o.fallback}",
        f"# {len(o.routes)} routes; generated by `bascule redirects`. Do not edit: re-emit.",
    ]


def write_id_map(mapping, table: str, path: Path, end: str = "") -> int:
    """Stream the ``old new<end>`` lines of one entity kind to ``path``; returns the line count.

    One writer for every emitter (nginx wants ``;`` at the end of a map line, the others not).
    """
    n = 0
    with path.open("w", encoding="ascii", newline="\n") as fh:
        buf = []
        for old, new in mapping.items(table):
            buf.append(f"{int(old)} {int(new)}{end}\n")
            n += 1
            if len(buf) >= 10000:
                fh.write("".join(buf))
                buf.clear()
        fh.write("".join(buf))
    return n


def write_maps(mapping, o: EmitOptions, out_dir: Path, file_of, end: str = ""
               ) -> tuple[list[Path], dict[str, int]]:
    """What every config emitter does first: check the options, make ``out_dir``, write one
    id-map file per entity kind the routes use (named ``file_of(table)``). Returns the files and
    the lines of each kind code."""
    o.validate()
    out_dir.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    counts: dict[str, int] = {}
    for code in sorted({k for r in o.routes for k in r.kinds}):
        p = out_dir / file_of(KIND_TABLE[code])
        counts[code] = write_id_map(mapping, KIND_TABLE[code], p, end=end)
        files.append(p)
    return files, counts
