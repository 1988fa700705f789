"""The JSON Schema of each report, generated from its model (``report.models.REPORTS``).

``python -m bascule.report.schema docs/schema`` writes ``docs/schema/<name>.schema.json``;
tests/test_report_models.py fails when a file there differs from what the models say.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bascule.report.models import REPORTS, SCHEMA_VERSION


def schema_text(name: str) -> str:
    """The JSON Schema of the report ``name`` (a key of REPORTS), as written in docs/."""
    schema = REPORTS[name].model_json_schema(mode="serialization")
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema",
              "$id": f"bascule/{name}/{SCHEMA_VERSION}", **schema}
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_all(folder: str | Path) -> list[Path]:
    d = Path(folder)
    d.mkdir(parents=True, exist_ok=True)
    out = []
    for name in REPORTS:
        p = d / f"{name}.schema.json"
        p.write_text(schema_text(name), encoding="utf-8")
        out.append(p)
    return out


if __name__ == "__main__":  # pragma: no cover - the command the test names
    for p in write_all(sys.argv[1] if len(sys.argv) > 1 else "docs/schema"):
        print(p)
