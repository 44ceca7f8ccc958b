"""``python -m digiskill.service.openapi > docs/openapi.json`` writes the API's OpenAPI 3.1 document."""

from __future__ import annotations

import json

from .app import openapi_document

if __name__ == "__main__":
    print(json.dumps(openapi_document(), indent=2, ensure_ascii=False))
