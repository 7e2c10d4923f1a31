"""CSRF protection of every portal and admin form: a per-session synchronizer token.

Each session (also the anonymous one of the sign-in form) carries a random token inside its
signed, HttpOnly cookie; every form repeats it in a hidden ``csrf_token`` field, and every
POST is refused (403) unless the two match. Another site can make a browser send the cookie
(SameSite=Strict already stops that in current browsers) but cannot read the token.
"""

from __future__ import annotations

import hmac

from services.exporter.portal.session import Session

FIELD = "csrf_token"


class CsrfRejected(Exception):
    """A POST without the session's CSRF token, or with another one."""


def check_csrf(session: Session | None, submitted: object) -> None:
    if session is None:
        raise CsrfRejected("your session has expired or is missing: sign in again")
    if not isinstance(submitted, str) or not submitted:
        raise CsrfRejected("the form was sent without its security token")
    if not hmac.compare_digest(submitted.encode(), session.csrf.encode()):
        raise CsrfRejected("the form's security token does not match your session")
