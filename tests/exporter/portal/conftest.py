"""Portal test helpers: sign in through the forms, as a browser would, and read form tokens."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from httpx import Response

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(page: Response) -> str:
    found = CSRF.search(page.text)
    assert found is not None, f"no CSRF token on {page.url}"
    return found.group(1)


def sign_in(client: TestClient, key: str, area: str = "portal") -> Response:
    form = client.get(f"/{area}/signin")
    field = "api_key" if area == "portal" else "admin_key"
    response: Response = client.post(
        f"/{area}/signin", data={field: key, "csrf_token": csrf_of(form)}, follow_redirects=False
    )
    return response
