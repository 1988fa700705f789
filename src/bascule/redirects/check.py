"""`bascule redirects --check URL`: ask the deployed old host a sample of old URLs and compare
what it answers (status, ``Location``) with what the id map says it must answer.

The sample (``probes``): for every route of the table that redirects (``redirect`` and ``home``
actions), a few combinations of moved ids drawn at random (``seed``); then the URLs that must NOT
redirect: every route whose ids include a group, with a group that was not moved (shop mode,
excluded, failed: read from the source when it is known), and every route with one id replaced by
an id no moved row has. A route whose kinds have no moved row is not sampled (said in the
summary). Expected answers: before the end date the redirect status and
``https://<new_host><new path>``; at or after it the fallback (410 without ``Location``, or 302
to ``/home``); a URL that must not redirect answers anything but a 410 or a ``Location`` on the
new host (the old site keeps serving it, whatever that is).

The requests go through ``urllib`` with redirects not followed, with the old host in the
``Host`` header (the URL may be the web server's own address, ``http://127.0.0.1:8081``). A
server that cannot be reached is a ``CannotProceed`` (exit 3).
"""

from __future__ import annotations

import datetime as dt
import random
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from bascule.errors import CannotProceed, SettingsError
from bascule.redirects.common import EmitOptions
from bascule.redirects.mapping import IdMapping
from bascule.redirects.routes import KIND_TABLE, Route

#: The value sampled for each kind of passthrough segment (copied verbatim into the new URL).
PASS_SAMPLE = {"int": "1", "date": "2023-03-14", "hash": "0123456789abcdef0123456789abcdef"}
#: How many moved ids of a kind are drawn to build the URLs of all its routes.
POOL_FACTOR = 4
DEFAULT_PER_ROUTE = 3


@dataclass(frozen=True)
class Probe:
    """One old URL and what it must answer: ``status``/``location`` for a redirect or the
    fallback; ``status is None`` for a URL that must not be redirected."""

    route: str
    path: str
    status: int | None
    location: str | None = None
    why: str = ""  # for a URL that must not redirect: "group not moved", "unknown id"

    def expected(self) -> str:
        if self.status is None:
            return f"not redirected ({self.why})"
        return f"{self.status} {self.location}" if self.location else str(self.status)


@dataclass(frozen=True)
class Mismatch:
    probe: Probe
    url: str
    status: int
    location: str | None

    def line(self) -> str:
        got = f"{self.status} {self.location}" if self.location else str(self.status)
        return (f"route {self.probe.route}: {self.url} expected {self.probe.expected()}, "
                f"got {got}")


@dataclass
class CheckResult:
    base_url: str
    seed: int
    expired: bool
    probes: int = 0
    not_redirected: int = 0  # of the probes, those that must not redirect
    routes: int = 0  # routes sampled
    unsampled: list[str] = field(default_factory=list)  # routes without a moved id of a kind
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def summary(self) -> str:
        when = "the fallback (end date past)" if self.expired else "redirects"
        s = (f"{'OK' if self.ok else 'MISMATCH'}: {self.probes - len(self.mismatches)} of "
             f"{self.probes} URLs answered as the id map says on {self.base_url} "
             f"({self.probes - self.not_redirected} expecting {when} over {self.routes} "
             f"routes, {self.not_redirected} that must not redirect); "
             f"{len(self.mismatches)} mismatches; seed {self.seed}")
        if self.unsampled:
            s += (f"; {len(self.unsampled)} routes not sampled (no moved row of their kinds: "
                  + ", ".join(self.unsampled[:5]) + (", ..." if len(self.unsampled) > 5 else "")
                  + ")")
        return s


def _reservoir(items: Iterable[tuple[int, int]], k: int, rng: random.Random
               ) -> tuple[list[tuple[int, int]], int]:
    """Up to ``k`` pairs drawn uniformly from a stream, and the largest old id seen (0: none)."""
    pool: list[tuple[int, int]] = []
    top = 0
    for i, (old, new) in enumerate(items):
        top = max(top, int(old))
        if i < k:
            pool.append((int(old), int(new)))
        else:
            j = rng.randrange(i + 1)
            if j < k:
                pool[j] = (int(old), int(new))
    return pool, top


def _passthrough(r: Route) -> dict[str, str]:
    return {s.name: PASS_SAMPLE[s.passthrough] for s in r.segments
            if s.passthrough and s.name}


def probes(mapping: IdMapping, o: EmitOptions, *, per_route: int = DEFAULT_PER_ROUTE,
           seed: int = 0, not_moved_groups: Iterable[int] = (),
           now: dt.datetime | None = None) -> tuple[list[Probe], list[str]]:
    """The URLs to ask and what each must answer; and the routes not sampled."""
    rng = random.Random(seed)
    now = now or dt.datetime.now(dt.timezone.utc)
    live = now < o.cut
    routes = [r for r in o.routes if r.redirects]
    pools: dict[str, list[tuple[int, int]]] = {}
    tops: dict[str, int] = {}
    for code in sorted({k for r in routes for k in r.kinds}):
        pools[code], tops[code] = _reservoir(mapping.items(KIND_TABLE[code]),
                                             per_route * POOL_FACTOR, rng)
    groups = sorted(set(int(g) for g in not_moved_groups))
    groups = rng.sample(groups, min(len(groups), per_route)) if groups else []

    out: list[Probe] = []
    unsampled: list[str] = []
    seen: set[str] = set()

    def add(p: Probe) -> None:
        if p.path not in seen:
            seen.add(p.path)
            out.append(p)

    for r in routes:
        pas = _passthrough(r)
        if any(not pools[k] for k in r.kinds):
            unsampled.append(r.name)
        else:
            picks = {k: rng.sample(pools[k], min(per_route, len(pools[k]))) for k in r.kinds}
            for j in range(per_route):
                old = {k: picks[k][j % len(picks[k])][0] for k in r.kinds}
                new = {k: picks[k][j % len(picks[k])][1] for k in r.kinds}
                add(Probe(r.name, r.render_old(old, pas), *_expected(r, new, pas, o, live)))
        # URLs that must stay on the old host: one id not moved, the others moved
        others = {k: pools[k][0][0] for k in r.kinds if pools[k]}
        first = r.kinds[0]
        if all(k in others for k in r.kinds[1:]):
            unknown = tops[first] + 1 + rng.randrange(1000)
            add(Probe(r.name, r.render_old({**others, first: unknown}, pas), None,
                      why=f"unknown {KIND_TABLE[first]} id {unknown}"))
        if "G" in r.kinds and all(k in others for k in r.kinds if k != "G"):
            for g in groups:
                add(Probe(r.name, r.render_old({**others, "G": g}, pas), None,
                          why=f"group {g} not moved"))
    return out, unsampled


def _expected(r: Route, new: dict[str, int], pas: dict[str, str], o: EmitOptions,
              live: bool) -> tuple[int, str | None]:
    if not live:
        return (410, None) if o.fallback == "410" else (302, f"{o.new_base}/home")
    if r.action == "home":
        return o.status, f"{o.new_base}/home"
    return o.status, o.new_base + r.render_new(new, pas)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # the 3xx comes back as an HTTPError: its status and Location are read


def check_base(url: str) -> str:
    """The base URL of the old host as served, without its trailing slash (SettingsError)."""
    u = urllib.parse.urlsplit(url)
    if u.scheme not in ("http", "https") or not u.netloc or u.query or u.fragment:
        raise SettingsError(f"redirects --check {url!r}: give the base URL of the old host as "
                            "served, e.g. http://127.0.0.1:8081 or https://app.cagette.net")
    return url.rstrip("/")


class Asker:
    """Asks one URL at a time: (status, Location). Unreachable: CannotProceed."""

    def __init__(self, base: str, host: str, timeout: float = 10.0):
        self.base, self.host, self.timeout = base, host, timeout
        self.opener = urllib.request.build_opener(_NoRedirect)

    def __call__(self, path: str) -> tuple[int, str | None]:
        req = urllib.request.Request(self.base + path, headers={"Host": self.host,
                                                                "User-Agent": "bascule-check"})
        try:
            with self.opener.open(req, timeout=self.timeout) as resp:
                resp.read()
                return resp.status, resp.headers.get("Location")
        except urllib.error.HTTPError as e:
            with e:
                e.read()
            return e.code, e.headers.get("Location")
        except (urllib.error.URLError, OSError, socket.timeout) as e:
            reason = getattr(e, "reason", e)
            raise CannotProceed(f"redirects --check: cannot reach {self.base} ({reason}); is the "
                                "web server of the old host running, and is this its address?"
                                ) from None


def judge(p: Probe, status: int, location: str | None, o: EmitOptions) -> bool:
    """Whether the answer is the one the id map says."""
    if p.status is None:  # must stay on the old host
        return status != 410 and not (location or "").startswith(o.new_base + "/")
    return status == p.status and (location or None) == p.location


def check(mapping: IdMapping, o: EmitOptions, base_url: str, *,
          per_route: int = DEFAULT_PER_ROUTE, seed: int | None = None,
          not_moved_groups: Iterable[int] = (), timeout: float = 10.0,
          ask: Callable[[str], tuple[int, str | None]] | None = None,
          progress: Callable[[int, int], None] | None = None) -> CheckResult:
    """Ask ``base_url`` every probe; the mismatches, in the order asked."""
    base = check_base(base_url)
    if per_route < 1:
        raise SettingsError("redirects --check: --sample must be at least 1")
    seed = random.randrange(2**31) if seed is None else seed
    now = dt.datetime.now(dt.timezone.utc)
    ps, unsampled = probes(mapping, o, per_route=per_route, seed=seed,
                           not_moved_groups=not_moved_groups, now=now)
    res = CheckResult(base_url=base, seed=seed, expired=now >= o.cut, unsampled=unsampled)
    res.routes = len({p.route for p in ps if p.status is not None})
    ask = ask or Asker(base, o.old_host, timeout)
    for i, p in enumerate(ps, 1):
        status, location = ask(p.path)
        res.probes += 1
        res.not_redirected += p.status is None
        if not judge(p, status, location, o):
            res.mismatches.append(Mismatch(p, base + p.path, status, location))
        if progress:
            progress(i, len(ps))
    return res
