"""Admin for the demo library: books, shelves and loans."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from .models import Book, Loan, Shelf


@admin.register(Book)
class BookAdmin(admin.ModelAdmin):
    list_display = ("title", "author")
    search_fields = ("title", "author")


@admin.register(Shelf)
class ShelfAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "book_count")
    list_filter = ("owner",)
    search_fields = ("name", "owner__username")
    autocomplete_fields = ("owner", "books")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Shelf]:
        return super().get_queryset(request).select_related("owner").annotate(book_count=Count("books"))

    @admin.display(description="books", ordering="book_count")
    def book_count(self, shelf: Shelf) -> int:
        return shelf.book_count


@admin.register(Loan)
class LoanAdmin(admin.ModelAdmin):
    list_display = ("book", "borrower", "due")
    list_filter = ("due",)
    search_fields = ("book__title", "borrower__username")
    autocomplete_fields = ("book", "borrower")
    date_hierarchy = "due"
