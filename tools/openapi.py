"""`python -m tools.openapi` writes the app's OpenAPI document to the committed `openapi.json`.

A test checks the committed file is the app's (`--check` compares only), so they cannot drift.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from api.app import create_app
from api.openapi import document
from runtime.settings import Settings

DOCUMENT = Path(__file__).resolve().parent.parent / "openapi.json"


def _rendered(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the file differs")
    args = parser.parse_args(argv)
    rendered = _rendered(document(create_app(Settings(_env_file=None))))
    if args.check:
        if not DOCUMENT.exists() or DOCUMENT.read_text() != rendered:
            print(f"{DOCUMENT.name} is stale: run `python -m tools.openapi`", file=sys.stderr)
            return 1
        return 0
    DOCUMENT.write_text(rendered)
    print(f"wrote {DOCUMENT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
