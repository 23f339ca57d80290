"""The demo library: books (as in resgate's book-collection example), shelves and loans."""

from django.conf import settings
from django.db import models


class Book(models.Model):
    id = models.BigAutoField(primary_key=True)
    title = models.CharField(max_length=200)
    author = models.CharField(max_length=200)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.title} by {self.author}"


class Shelf(models.Model):
    """A user's private shelf of books."""

    name = models.CharField(max_length=100)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shelves")
    books = models.ManyToManyField(Book, related_name="shelves", blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "shelves"

    def __str__(self) -> str:
        return self.name


class Loan(models.Model):
    book = models.ForeignKey(Book, on_delete=models.CASCADE, related_name="loans")
    borrower = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="loans")
    due = models.DateField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.book} due {self.due}"
