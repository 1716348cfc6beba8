"""``python -m schemas.dialects.native``: write the native formats' JSON Schemas under schemas/json/."""

from __future__ import annotations

import sys

from schemas.dialects.native.wire import JSON_DIR, json_schemas, render

JSON_DIR.mkdir(exist_ok=True)
for name, schema in json_schemas().items():
    (JSON_DIR / name).write_text(render(schema))
    print(JSON_DIR / name, file=sys.stderr)
