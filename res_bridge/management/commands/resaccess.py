"""``manage.py resaccess USER RID``: what a user may do with a resource, and what decided it."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from res_bridge.access import (
    ANONYMOUS,
    Decision,
    checked_method,
    checked_rid,
    described,
    explain,
    user_named,
)


class Command(BaseCommand):
    help = (
        "Explain the access a user has to a resource: may they get it, which methods may they call, "
        "and the access rules or permissions that decided it."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("user", help=f"a username, or {ANONYMOUS} for an anonymous connection")
        parser.add_argument("rid", help="a resource ID, such as library.book.1")
        parser.add_argument("--method", help="also say whether the user may call this method")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, user: str, rid: str, method: str | None, json: bool, **options: Any) -> None:
        try:
            checked_rid(rid)
            if method is not None:
                checked_method(method)
            asker = user_named(user)
        except (ValueError, LookupError) as e:
            raise CommandError(str(e))
        decision = explain(asker, rid)
        if json:
            self.stdout.write(_json(decision, method))
        else:
            self.stdout.write(self.text(decision, asker, method))

    def text(self, decision: Decision, asker: Any, method: str | None) -> str:
        style = self.style
        call = decision.access.call
        lines = [
            f"{described(asker)} → {decision.rid}",
            f"  get:  {style.SUCCESS('allowed') if decision.access.get else style.ERROR('denied')}",
            f"  call: {'every method' if call == '*' else call.replace(',', ', ') or 'no method'}",
        ]
        if method:
            allowed = decision.can_call(method)
            lines.append(f"  call {method}: {style.SUCCESS('allowed') if allowed else style.ERROR('denied')}")
        lines.append("because:")
        lines += [f"  {part}" for part in decision.reasons]
        if decision.other_rules:
            lines.append("rules matching it that apply to others:")
            lines += [
                f"  #{r.id} {r.pattern.pattern} → {r.subject}: {r.grants()}" for r in decision.other_rules
            ]
        return "\n".join(lines)


def _json(decision: Decision, method: str | None) -> str:
    data = decision.to_json()
    if method:
        data["method"] = {"name": method, "allowed": decision.can_call(method)}
    return json.dumps(data, indent=2, ensure_ascii=False)
