"""Token checks for the operator endpoints (/metrics, /admin/analytics, /admin/).

As `POST /admin/reindex` (`admin.py`): `Authorization: Bearer <token>`, 401 without it, 403
with a wrong one, compared in constant time. A browser cannot send a bearer token from an
address bar, so the editors' page also takes HTTP Basic with the token as the password
(any user name): the browser asks for it once.
"""

from __future__ import annotations

import base64
import binascii
import hmac

from flask import Response, request

from searchsvc.web.errors import error_response


def denied(token: str, basic: bool = False) -> Response | None:
    """None when the request carries `token`; else the 401 or 403 answer."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    value = value.strip()
    if basic and scheme.lower() == "basic" and value:
        try:
            value = base64.b64decode(value, validate=True).decode("utf-8").partition(":")[2]
        except (binascii.Error, UnicodeDecodeError, ValueError):
            value = ""
    elif scheme.lower() != "bearer":
        value = ""
    if not value:
        response = error_response(401, "this endpoint needs 'Authorization: Bearer <token>'")
        challenge = 'Basic realm="searchsvc admin"' if basic else 'Bearer realm="searchsvc"'
        response.headers["WWW-Authenticate"] = challenge
        return response
    if not hmac.compare_digest(value.encode(), token.encode()):
        return error_response(403, "wrong token")
    return None
