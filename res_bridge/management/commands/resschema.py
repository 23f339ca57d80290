"""``manage.py resschema``: the registered resources as TypeScript declarations or an OpenAPI document."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from res_bridge.registry import registry
from res_bridge.schema import Schema
from res_bridge.schema import openapi as openapi_module
from res_bridge.schema import typescript as typescript_module


class Command(BaseCommand):
    help = (
        "Print TypeScript declarations of every registered resource (--typescript), or an OpenAPI 3.1 "
        "document of the REST bridge serving them (--openapi)."
    )

    def add_arguments(self, parser: Any) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--typescript", action="store_true", help="TypeScript declarations")
        which.add_argument("--openapi", action="store_true", help="an OpenAPI 3.1 document (JSON)")
        parser.add_argument(
            "--api-path",
            default="/api/",
            help="where the REST bridge is mounted, the gateway's apiPath (default: /api/)",
        )
        parser.add_argument("--title", default="RES resources", help="the OpenAPI document's title")

    def handle(
        self, *args: Any, typescript: bool, openapi: bool, api_path: str, title: str, **options: Any
    ) -> None:
        if not api_path.startswith("/") or not api_path.endswith("/"):
            raise CommandError(
                f"--api-path must start and end with a slash, such as /api/ (not {api_path!r})"
            )
        schema = Schema.of(registry)
        if not schema.resources:
            raise CommandError(
                "No resource is registered: register ModelResource classes in an app's resources.py."
            )
        for unknown in schema.unknowns():
            self.stderr.write(self.style.WARNING(f"unknown type, {unknown}"))
        if typescript:
            self.stdout.write(typescript_module.render(schema), ending="")
        else:
            document = openapi_module.document(schema, api_path, title)
            self.stdout.write(json.dumps(document, indent=2, ensure_ascii=False))
