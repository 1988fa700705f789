"""Redirects from old Cagette URLs to Camap: route table (routes.py), id mapping (mapping.py) and
emitters (nginx, apache, caddy, haproxy, csv, json). See ``emit()``."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from bascule.redirects import apache, caddy, haproxy, nginx
from bascule.redirects.common import EmitError, EmitOptions
from bascule.redirects.listing import emit_csv, emit_json
from bascule.redirects.mapping import DbMapping, DictMapping, IdMapping

FORMATS = ("nginx", "apache", "caddy", "haproxy", "csv", "json")

#: format → (emitter, install text) of the web-server configurations.
CONFIGS = {
    "nginx": (nginx.emit_nginx, nginx.install_text),
    "apache": (apache.emit_apache, apache.install_text),
    "caddy": (caddy.emit_caddy, caddy.install_text),
    "haproxy": (haproxy.emit_haproxy, haproxy.install_text),
}


def emit(fmt: str, mapping: IdMapping, opts: EmitOptions, out_dir: Path | None = None,
         stream: TextIO | None = None) -> tuple[list[Path], str]:
    """Write the files of one format. Returns (files written, how to install them)."""
    if fmt in ("csv", "json"):
        fn = emit_csv if fmt == "csv" else emit_json
        if stream is not None:
            n = fn(mapping, opts, stream)
            return [], f"{fmt}: {n} redirects written"
        assert out_dir is not None
        out_dir.mkdir(parents=True, exist_ok=True)
        p = out_dir / f"bascule-redirects.{fmt}"
        with p.open("w", encoding="utf-8", newline="") as fh:
            n = fn(mapping, opts, fh)
        return [p], f"{fmt}: {n} redirects written to {p}"
    assert out_dir is not None
    write, install_text = CONFIGS[fmt]
    return write(mapping, opts, out_dir), install_text(opts, out_dir)


__all__ = ["FORMATS", "emit", "EmitError", "EmitOptions", "IdMapping", "DictMapping", "DbMapping"]
