"""``manage.py resschema``: TypeScript declarations compiled with ``tsc --strict``, and an OpenAPI 3.1
document checked by a validator, both of the demo's resources; field types from serializers and models."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import models
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError
from rest_framework import serializers

from library.models import Book, Loan, Shelf
from res_bridge import ModelResource, call_method
from res_bridge.registry import Registry
from res_bridge.schema import Schema, openapi, typescript
from tests.interop.client import NODE, install_node_modules
from tests.support import require

HERE = Path(__file__).resolve().parent


def resschema(*args: str) -> str:
    out = io.StringIO()
    call_command("resschema", *args, stdout=out)
    return out.getvalue()


@pytest.fixture(scope="module")
def tsc() -> Path:
    require(NODE is not None, "node is not installed")
    install_node_modules(HERE)
    return HERE / "node_modules" / ".bin" / "tsc"


def compile_ts(tsc: Path, folder: Path, main: str) -> subprocess.CompletedProcess[str]:
    args = [str(tsc), "--strict", "--noEmit", "--target", "es2020", "--module", "es2020"]
    args += ["--moduleResolution", "bundler", str(folder / main)]
    return subprocess.run(args, cwd=folder, capture_output=True, text=True, timeout=120)


def test_the_typescript_example_compiles_against_the_demos_declarations(tsc: Path, tmp_path: Path) -> None:
    (tmp_path / "resources.ts").write_text(resschema("--typescript"))
    shutil.copy(HERE / "example.ts", tmp_path / "example.ts")
    result = compile_ts(tsc, tmp_path, "example.ts")
    assert result.returncode == 0, result.stdout + result.stderr


def test_tsc_catches_what_the_declarations_forbid(tsc: Path, tmp_path: Path) -> None:
    """Without its @ts-expect-error marks, the example's wrong lines fail: the check can fail."""
    (tmp_path / "resources.ts").write_text(resschema("--typescript"))
    example = (HERE / "example.ts").read_text().replace("// @ts-expect-error", "// (expected error)")
    (tmp_path / "example.ts").write_text(example)
    result = compile_ts(tsc, tmp_path, "example.ts")
    assert result.returncode != 0
    assert result.stdout.count("error TS") == example.count("(expected error)") == 6


def test_the_demos_declarations() -> None:
    text = resschema("--typescript")
    assert "export interface Book {\n  id: number;\n  title: string;\n  author: string;\n}" in text
    assert "  book: Book;\n  borrower_id: number;\n  /** a date, YYYY-MM-DD */\n  due: string;\n" in text
    assert "export type ShelfBooks = Book[];" in text
    assert "  addBook: {\n    /** the book's ID */\n    id: number;\n  };" in text
    assert '  order?: "id" | "-id" | "title" | "-title" | "author" | "-author";' in text
    relation = 'kind: "collection"; value: ShelfBooks; methods: Record<string, never>'
    assert f'  "library.shelf.{{pk}}.books": {{ {relation} }};' in text


def test_the_openapi_document_is_valid_and_has_every_path() -> None:
    document = json.loads(resschema("--openapi"))
    validate(document)
    paths = document["paths"]
    assert set(paths["/api/library/books"]) == {"get"}
    assert [p["name"] for p in paths["/api/library/books"]["get"]["parameters"]] == [
        "author",
        "title",
        "order",
        "offset",
        "limit",
    ]
    assert paths["/api/library/book/{pk}/set"]["post"]["requestBody"]["content"]["application/json"][
        "schema"
    ] == {
        "type": "object",
        "properties": {"title": {"type": "string"}, "author": {"type": "string"}},
    }
    assert "requestBody" not in paths["/api/library/book/{pk}/borrow"]["post"]
    new = paths["/api/library/books/new"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert new["required"] == ["title", "author"]
    responses = paths["/api/library/shelf/{pk}/books"]["get"]["responses"]
    assert responses["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ShelfBooks"
    }
    assert responses["401"] == {"$ref": "#/components/responses/Error401"}
    schemas = document["components"]["schemas"]
    assert schemas["Loan"]["properties"]["book"] == {"$ref": "#/components/schemas/BookRef"}
    assert schemas["Shelf"]["properties"]["books"] == {"$ref": "#/components/schemas/ShelfBooksRef"}


def test_the_validator_rejects_a_broken_document() -> None:
    document = json.loads(resschema("--openapi"))
    del document["paths"]["/api/library/book/{pk}"]["get"]["parameters"]  # {pk} left undeclared
    with pytest.raises(OpenAPIValidationError):
        validate(document)


def test_the_api_path_is_an_option() -> None:
    document = json.loads(resschema("--openapi", "--api-path", "/rest/"))
    assert "/rest/library/book/{pk}" in document["paths"]
    with pytest.raises(CommandError, match="--api-path must start and end with a slash"):
        resschema("--openapi", "--api-path", "rest")


def test_the_demo_has_no_unknown_types() -> None:
    err = io.StringIO()
    call_command("resschema", "--typescript", stdout=io.StringIO(), stderr=err)
    assert err.getvalue() == ""


def test_one_output_is_asked_for() -> None:
    with pytest.raises(CommandError):
        resschema()


# -- field types from serializers and models, unknown ones -------------------------------------------


class Odd(serializers.Field):
    """A custom field reading no model field: nothing tells its type."""

    def to_representation(self, value: Any) -> Any:
        return value


class ShelfSerializer(serializers.ModelSerializer):
    name = Odd()  # a custom field reading a model field: the model's type
    mood = Odd(source="*", read_only=True)
    tags = serializers.ListField(child=serializers.ChoiceField(choices=["a", "b"]), required=False)
    extra = serializers.DictField(child=serializers.FloatField(), allow_null=True, required=False)
    computed = serializers.SerializerMethodField()
    price = serializers.DecimalField(max_digits=5, decimal_places=2, required=False)
    when = serializers.DateTimeField(required=False)

    class Meta:
        model = Shelf
        fields = ["id", "name", "mood", "tags", "extra", "computed", "price", "when"]

    def get_computed(self, shelf: Shelf) -> int:
        return 1


class Params(serializers.Serializer):
    email = serializers.EmailField()
    count = serializers.IntegerField(required=False)


@pytest.fixture
def odd_schema() -> Schema:
    registry = Registry()

    class Shelves(ModelResource):
        model = Shelf
        rid = "odd.shelf.{pk}"
        collection = "odd.shelves"
        serializer_class = ShelfSerializer
        call_methods = ()

        @call_method(params=Params)
        def mail(self, request: Any, shelf: Shelf) -> None:
            """Mail the shelf."""

        @call_method(detail=False)
        def sweep(self, request: Any) -> None:
            """Sweep every shelf."""

    class Loans(ModelResource):
        model = Loan
        rid = "odd.loan.{pk}"
        fields = ["id", "book", "due"]

    class Books(ModelResource):
        model = Book
        rid = "odd.book.{pk}"

    for resource in (Shelves, Loans, Books):
        registry.register(resource)
    return Schema.of(registry)


def test_serializer_fields_give_the_types_and_unknown_ones_say_why(odd_schema: Schema) -> None:
    text = typescript.render(odd_schema)
    shelf = text[text.index("export interface Shelf {") :].split("\n}\n")[0]
    assert shelf.splitlines()[1:] == [
        "  id: number;",
        "  name: string;",
        "  /** Odd has no known type and reads no model field */",
        "  mood: unknown;",
        '  tags: ("a" | "b")[];',
        "  extra: { [key: string]: number } | null;",
        "  /** computed by a method (get_computed) */",
        "  computed: unknown;",
        "  /** a decimal number as a string */",
        "  price: string;",
        "  /** a date and time, ISO 8601 */",
        "  when: string;",
    ]
    mail = "  mail: {\n    /** an email address */\n    email: string;\n    count?: number;\n  };"
    assert f"  /** Mail the shelf. */\n{mail}" in text
    undeclared = "(params not declared: call_method(params=...) describes them)"
    assert f"  /** Sweep every shelf. {undeclared} */\n  sweep: unknown;" in text
    assert odd_schema.unknowns() == [
        "Shelf.mood: Odd has no known type and reads no model field",
        "Shelf.computed: computed by a method (get_computed)",
        "odd.shelves sweep: params not declared: call_method(params=...) describes them",
    ]
    document = openapi.document(odd_schema)
    validate(document)
    properties = document["components"]["schemas"]["Shelf"]["properties"]
    assert properties["mood"] == {"description": "unknown: Odd has no known type and reads no model field"}
    assert properties["extra"] == {
        "anyOf": [{"type": "object", "additionalProperties": {"type": "number"}}, {"type": "null"}]
    }
    assert properties["price"] == {"type": "string", "format": "decimal"}


def test_the_odd_declarations_compile_too(odd_schema: Schema, tsc: Path, tmp_path: Path) -> None:
    (tmp_path / "resources.ts").write_text(typescript.render(odd_schema))
    result = compile_ts(tsc, tmp_path, "resources.ts")
    assert result.returncode == 0, result.stdout + result.stderr


def test_models_of_the_same_name_in_two_apps_get_the_apps_name(odd_schema: Schema) -> None:
    class Other(models.Model):
        class Meta:
            app_label = "res_bridge"
            managed = False

    Other.__name__ = "Book"
    registry = Registry()

    class Books(ModelResource):
        model = Book
        rid = "a.book.{pk}"

    class Others(ModelResource):
        model = Other
        rid = "b.book.{pk}"

    registry.register(Books)
    registry.register(Others)
    assert [r.name for r in Schema.of(registry).resources] == ["LibraryBook", "ResBridgeBook"]
