"""What every part of the generator shares: dates as minute offsets, the Haxe serializer Cagette
stores blobs with, JSON, the sizes at scale 1.0."""


from __future__ import annotations

import json
import unicodedata
from datetime import date, timedelta
from urllib.parse import quote

# --------------------------------------------------------------------------- dates

EPOCH = date(2014, 1, 1)
_DAYS = [(EPOCH + timedelta(d)).isoformat() for d in range(0, 4400)]
_HMS = [f"{h:02d}:{m:02d}:00" for h in range(24) for m in range(60)]
DAY = 1440  # minutes
END = (date(2023, 3, 10) - EPOCH).days * DAY  # "now" of the dump (cutover week)
ZERO_DT = "0000-00-00 00:00:00"
ZERO_D = "0000-00-00"


def dt(m: int) -> str:
    """'YYYY-MM-DD HH:MM:SS' of a minute offset from 2014-01-01."""
    return _DAYS[m // DAY] + " " + _HMS[m % DAY]


def d_(m: int) -> str:
    return _DAYS[m // DAY]


def day_start(m: int) -> str:
    return _DAYS[m // DAY] + " 00:00:00"


def day_end(m: int) -> str:
    return _DAYS[m // DAY] + " 23:59:59"


def year_of(m: int) -> int:
    return int(_DAYS[m // DAY][:4])


def minute_of_date(y: int, mo: int, d: int) -> int:
    return (date(y, mo, d) - EPOCH).days * DAY


# --------------------------------------------------------------------------- haxe serializer


class IntMap(dict):
    """A dict serialized as a Haxe IntMap (``q...h``)."""


class HxEnum:
    def __init__(self, enum: str, ctor: str, *args):
        self.enum, self.ctor, self.args = enum, ctor, args


def hx(v) -> str:
    """haxe.Serializer format (no string cache), enough for the blobs Cagette stores."""
    if v is None:
        return "n"
    if v is True:
        return "t"
    if v is False:
        return "f"
    if isinstance(v, int):
        return "z" if v == 0 else f"i{v}"
    if isinstance(v, float):
        return f"d{v!r}"
    if isinstance(v, str):
        u = quote(v, safe="-_.!~*'()")
        return f"y{len(u)}:{u}"
    if isinstance(v, HxEnum):
        return "w" + hx(v.enum) + hx(v.ctor) + f":{len(v.args)}" + "".join(hx(a) for a in v.args)
    if isinstance(v, IntMap):
        return "q" + "".join(f":{k}{hx(x)}" for k, x in v.items()) + "h"
    if isinstance(v, dict):
        return "o" + "".join(hx(k) + hx(x) for k, x in v.items()) + "g"
    if isinstance(v, (list, tuple)):
        return "a" + "".join(hx(x) for x in v) + "h"
    raise TypeError(type(v))


def hxb(v) -> bytes:
    return hx(v).encode("utf-8")


def js(v) -> str:
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


def rights_json(rights: list[tuple[str, list[int] | None]]) -> str:
    return js([{"right": r, "params": None if p is None else [str(x) for x in p]} for r, p in rights])


# --------------------------------------------------------------------------- sizes

BASE = {
    "groups": 2500, "users": 150000, "vendors": 6000, "files": 20000,
    "sessions": 3000, "caches": 800, "errors": 600, "jsonmails": 2000, "mails": 600,
}
AMAP_SHARE = 0.6
# per-group averages (calibrated so that scale 1.0 lands near the Cagette-sized counts)
MEMBERS_PER_GROUP = 95
REAL_CATALOGS_PER_GROUP = 2.9
MD_PER_GROUP = 40
SUBSCRIBERS_PER_SEASON = 7
SHOP_BASKETS_PER_MD = 5.0
MESSAGES_PER_GROUP = 5


def _ascii(s: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", s) if ch.isascii() and ch.isalnum())
