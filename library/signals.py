"""A borrower may read and return their own loan: a one-user access rule per loan, deleted with it.

Access rules are patterns, so "one's own loan" is a rule for that loan's RID, visible in the admin like any
other. The rule is made when a loan is created (by ``borrow``, ``loaddemo`` or the admin) and goes when the
loan does, so a later loan under a reused key never inherits it.
"""

from __future__ import annotations

from typing import Any

from res_bridge.models import AccessRule

from .models import Loan


def loan_rule_pattern(loan: Loan) -> str:
    return f"library.loan.{loan.pk}"


def grant_borrower(sender: type[Loan], instance: Loan, created: bool, **kwargs: Any) -> None:
    if created:
        AccessRule.objects.create(
            pattern=loan_rule_pattern(instance),
            applies_to=AccessRule.AppliesTo.USER,
            user_id=instance.borrower_id,
            can_get=True,
            call_methods="delete",
            description=f"The borrower may read and return loan {instance.pk}.",
        )


def revoke_borrower(sender: type[Loan], instance: Loan, **kwargs: Any) -> None:
    AccessRule.objects.filter(
        pattern=loan_rule_pattern(instance), applies_to=AccessRule.AppliesTo.USER
    ).delete()
