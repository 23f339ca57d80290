"""Products, their orders, and users' carts of products."""

from django.conf import settings
from django.db import models


class Product(models.Model):
    name = models.CharField(max_length=100)
    maker = models.CharField(max_length=100)

    class Meta:
        ordering = ["id"]


class Order(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="orders")
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="orders")
    due = models.DateField()

    class Meta:
        ordering = ["id"]


class Cart(models.Model):
    name = models.CharField(max_length=100)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="carts")
    products = models.ManyToManyField(Product, related_name="carts", blank=True)

    class Meta:
        ordering = ["id"]
