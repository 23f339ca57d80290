from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class LibraryConfig(AppConfig):
    name = "library"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import signals
        from .models import Loan

        post_save.connect(signals.grant_borrower, sender=Loan, dispatch_uid="library.grant_borrower")
        post_delete.connect(signals.revoke_borrower, sender=Loan, dispatch_uid="library.revoke_borrower")
