"""``manage.py loaddemo``: load the demo data, or reset it to its first state.

The books of resgate's book-collection example (ids 1 to 3), who may see what (AccessRule rows an admin
can change), the demo users and their private shelves, and a loan. Rows are written through the ORM, so a
running service publishes the changes to open connections.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.core.management.color import no_style
from django.db import connection, transaction
from django.utils import timezone

from library.models import Book, Loan, Shelf
from res_bridge.models import AccessRule

BOOKS = [
    ("Animal Farm", "George Orwell"),
    ("Brave New World", "Aldous Huxley"),
    ("Coraline", "Neil Gaiman"),
]

#: username → (password, superuser)
USERS = {"admin": ("admin", True), "alice": ("demo", False), "bob": ("demo", False), "carol": ("demo", False)}

Everyone, OneUser = AccessRule.AppliesTo.EVERYONE, AccessRule.AppliesTo.USER

#: (pattern, applies to, username, can get, call methods, description)
RULES = [
    ("library.books", Everyone, None, True, "*", "Anybody may list the books and add or delete them."),
    ("library.book.*", Everyone, None, True, "*", "Anybody may read and edit a book."),
    ("library.shelves", OneUser, "alice", True, "*", "Alice may read and edit the shelves."),
    ("library.shelf.>", OneUser, "alice", True, "*", "Alice may read and edit every shelf."),
    ("library.shelves", OneUser, "bob", True, "", "Bob may read the shelves, not change them."),
    ("library.shelf.>", OneUser, "bob", True, "", "Bob may read every shelf, not change it."),
]

#: Patterns of rules earlier versions of the demo made, removed on load: a loan is its borrower's alone now
#: (``LoanResource.has_access``).
RETIRED = {"library.loan.*"}

#: shelf name → (owner, titles)
SHELVES = {
    "Alice's favourites": ("alice", ["Animal Farm", "Coraline"]),
    "Bob's reading list": ("bob", ["Brave New World"]),
}


class Command(BaseCommand):
    help = "Load the demo data (books, users, access rules, shelves, a loan), or reset it to its first state."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        users = {
            name: self.demo_user(name, password, superuser) for name, (password, superuser) in USERS.items()
        }
        books = self.reset_books()
        AccessRule.objects.filter(pattern__in={rule[0] for rule in RULES} | RETIRED).delete()
        for pattern, applies_to, username, can_get, methods, description in RULES:
            AccessRule.objects.create(
                pattern=pattern,
                applies_to=applies_to,
                user=users[username] if username else None,
                can_get=can_get,
                call_methods=methods,
                description=description,
            )
        for name, (owner, titles) in SHELVES.items():
            shelf = Shelf.objects.create(name=name, owner=users[owner])
            shelf.books.set([books[title] for title in titles])
        Loan.objects.create(
            book=books["Brave New World"],
            borrower=users["alice"],
            due=timezone.localdate() + datetime.timedelta(14),
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data loaded: {len(books)} books, {len(RULES)} access rules, {len(SHELVES)} shelves, "
                f"1 loan; users {', '.join(USERS)} (admin/admin, the others password 'demo')."
            )
        )

    def demo_user(self, username: str, password: str, superuser: bool) -> Any:
        user, _created = get_user_model()._default_manager.get_or_create(username=username)
        user.is_active = True
        user.is_staff = user.is_superuser = superuser
        user.set_password(password)
        user.save()
        user.groups.clear()
        user.user_permissions.clear()
        return user

    def reset_books(self) -> dict[str, Book]:
        """Replace every book (and so every shelf and loan) with the three demo books, ids 1 to 3."""
        Loan.objects.all().delete()
        Shelf.objects.all().delete()
        Book.objects.all().delete()
        books = {
            title: Book.objects.create(id=i, title=title, author=author)
            for i, (title, author) in enumerate(BOOKS, start=1)
        }
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), [Book]):
                cursor.execute(sql)
        return books
