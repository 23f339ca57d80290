"""The library's RES resources.

- ``library.book.<id>``: a book, ``{id, title, author}`` as in resgate's book-collection example;
  ``set`` {title?, author?}, ``borrow`` (a loan for the caller, replied as a resource).
- ``library.books``: every book; ``new`` {title, author}, ``delete`` {id}; as a query collection
  ``library.books?author=...&title=...&order=...&offset=...&limit=...``.
- ``library.book.<id>.loans``: the book's loans; ``library.loan.<id>``: one loan, which its borrower may
  read and return (``delete``), whatever the access rules say (``has_access``).
- ``library.shelf.<id>``: a user's shelf; ``library.shelf.<id>.books``: its books (``addBook`` /
  ``removeBook`` {id}); ``library.shelves``: every shelf, ``new`` {name} for the caller.
"""

from __future__ import annotations

import datetime
from typing import Any

from rest_framework import serializers
from rest_framework.settings import api_settings

from res_bridge import ModelResource, Request, ResourceResponse, call_method, register
from res_protocol import Access, errors

from .models import Book, Loan, Shelf

LOAN_DAYS = 14


class Text(serializers.Field):
    """A non-empty string, with the messages of resgate's book-collection example."""

    def __init__(self, label: str, max_length: int = 200, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.display = label
        self.max_length = max_length

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            raise serializers.ValidationError(f"{self.display} must be a string")
        if not data.strip():
            raise serializers.ValidationError(f"{self.display} must not be empty")
        if len(data) > self.max_length:
            raise serializers.ValidationError(f"{self.display} must be at most {self.max_length} characters")
        return data

    def to_representation(self, value: str) -> str:
        return value


class BookSerializer(serializers.ModelSerializer):
    title = Text("Title")
    author = Text("Author")

    class Meta:
        model = Book
        fields = ["id", "title", "author"]

    def to_internal_value(self, data: Any) -> Any:
        if not self.partial and (not data.get("title") or not data.get("author")):
            raise serializers.ValidationError(
                {api_settings.NON_FIELD_ERRORS_KEY: ["Must provide both title and author"]}
            )
        return super().to_internal_value(data)


class BookId(serializers.Serializer):
    """The params of ``addBook`` and ``removeBook``."""

    id = serializers.IntegerField(help_text="the book's ID")


@register
class BookResource(ModelResource):
    model = Book
    rid = "library.book.{pk}"
    serializer_class = BookSerializer
    collection = "library.books"
    relations = {"loans": "library.book.{pk}.loans"}
    query_filters = {"author": "author__icontains", "title": "title__icontains"}
    query_ordering = ["id", "title", "author"]

    @call_method(params=serializers.Serializer)  # no params
    def borrow(self, request: Request, book: Book) -> ResourceResponse:
        """Borrow the book: a loan for the caller, replied as a resource."""
        if not request.user.is_authenticated:
            raise errors.ACCESS_DENIED()
        due = datetime.date.today() + datetime.timedelta(days=LOAN_DAYS)
        loan = Loan.objects.create(book=book, borrower=request.user, due=due)
        return ResourceResponse(self.registry.resource_for(Loan).rid_for(loan))


@register
class LoanResource(ModelResource):
    model = Loan
    rid = "library.loan.{pk}"
    fields = ["id", "book", "borrower_id", "due"]
    call_methods = ("delete",)

    def has_access(self, request: Request, loan: Loan) -> Access | None:
        """Its borrower may read the loan and return it (``delete``)."""
        if request.user.is_authenticated and loan.borrower_id == request.user.pk:
            return Access(get=True, call="delete")
        return None


@register
class ShelfResource(ModelResource):
    model = Shelf
    rid = "library.shelf.{pk}"
    fields = ["id", "name", "owner_id", "books"]
    collection = "library.shelves"
    relations = {"books": "library.shelf.{pk}.books"}

    def perform_create(self, serializer: serializers.Serializer, request: Request) -> Shelf:
        if not request.user.is_authenticated:
            raise errors.ACCESS_DENIED()
        return serializer.save(owner=request.user)

    @call_method("addBook", params=BookId)
    def add_book(self, request: Request, shelf: Shelf) -> None:
        """Put a book on the shelf."""
        shelf.books.add(self._book(request))

    @call_method("removeBook", params=BookId)
    def remove_book(self, request: Request, shelf: Shelf) -> None:
        """Take a book off the shelf."""
        shelf.books.remove(self._book(request))

    def _book(self, request: Request) -> Book:
        key = request.params.get("id") if isinstance(request.params, dict) else None
        if not isinstance(key, int) or isinstance(key, bool):
            raise errors.invalid_params("Book ID must be a number")
        book = Book.objects.filter(pk=key).first()
        if book is None:
            raise errors.NOT_FOUND()
        return book
