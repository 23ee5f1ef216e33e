"""load_openapi: OpenAPI 3.0/3.1 and Swagger 2.0 specs as ToolSpecs with HTTP bindings."""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from callforge.core import ConfigError, HttpAuth, HttpParam, SpecError, ToolSpec
from callforge.tools.openapi import auth_env, load_openapi

DATA = Path(__file__).parent / "data" / "openapi"
LIBRARY = DATA / "library.yaml"
BLOCKFROST = DATA / "blockfrost-0.1.93.yaml"
DOCKER = DATA / "docker-engine-1.41.yaml"
NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
ARG = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def by_name(tools: list[ToolSpec]) -> dict[str, ToolSpec]:
    return {t.name: t for t in tools}


def spec3(paths: dict[str, Any], version: str = "3.0.3", **extra: Any) -> dict[str, Any]:
    return {"openapi": version, "info": {"title": "Pet Store", "version": "1"}, "paths": paths, **extra}


def ok(schema: dict[str, Any] | None = None, code: str = "200") -> dict[str, Any]:
    content = {"application/json": {"schema": schema}} if schema is not None else None
    return {code: {"description": "ok", **({"content": content} if content else {})}}


def check_tool(tool: ToolSpec) -> None:
    """What every imported tool must satisfy."""
    assert NAME.match(tool.name), tool.name
    assert tool.source == "openapi"
    assert tool.binding is not None and tool.binding.kind == "http"
    jsonschema.Draft202012Validator.check_schema(tool.parameters)
    if tool.returns is not None:
        jsonschema.Draft202012Validator.check_schema(tool.returns)
    assert all(ARG.match(arg) for arg in tool.properties), list(tool.properties)
    assert set(tool.required) <= set(tool.properties)
    binding = tool.binding
    bound = {p.name for p in binding.params} | set(binding.body_fields) | {binding.body_arg} - {None}
    assert bound == set(tool.properties), (tool.name, bound, set(tool.properties))


# ---------------------------------------------------------------------------------------------- the test spec


@pytest.fixture(scope="module")
def library() -> dict[str, ToolSpec]:
    tools = load_openapi(LIBRARY)
    for tool in tools:
        check_tool(tool)
    return by_name(tools)


def test_library_operations(library: dict[str, ToolSpec]) -> None:
    assert list(library) == [
        "listBooks",
        "createBook",
        "getBook",
        "deleteBook",
        "getCategoryTree",
        "createCategory",
        "searchBooks",
        "login",
        "ping",
        "slowReport",
    ]
    assert library["listBooks"].domain == "books"
    assert library["login"].domain == "library-api"  # no tag: the title's slug
    assert library["listBooks"].description == (
        "List books\n\nBooks in the catalogue, optionally filtered by text and tags."
    )
    assert "deprecated" in library["slowReport"].description.lower()


def test_parameters_and_wire_names(library: dict[str, ToolSpec]) -> None:
    tool = library["listBooks"]
    assert tool.properties["q"] == {
        "type": "string",
        "description": "Text to look for in titles and authors.",
    }
    assert tool.properties["page_size"] == {"type": "integer", "minimum": 1, "maximum": 100, "default": 10}
    assert tool.properties["X-Request-Id"]["format"] == "uuid"  # from a $ref'd parameter
    assert tool.required == []
    assert tool.binding is not None
    assert tool.binding.params == (
        HttpParam(name="q", wire="q", location="query"),
        HttpParam(name="tag", wire="tag", location="query"),
        HttpParam(name="page_size", wire="page[size]", location="query"),
        HttpParam(name="X-Request-Id", wire="X-Request-Id", location="header"),
    )
    tree = library["getCategoryTree"]
    assert tree.required == ["categoryId"]
    assert tree.binding is not None
    assert HttpParam(name="session", wire="session", location="cookie") in tree.binding.params


def test_path_item_parameters_are_shared(library: dict[str, ToolSpec]) -> None:
    for name in ("getBook", "deleteBook"):
        tool = library[name]
        assert tool.required == ["bookId"]
        assert tool.properties["bookId"] == {"type": "integer", "description": "The book's id."}


def test_flattened_body_drops_read_only(library: dict[str, ToolSpec]) -> None:
    tool = library["createBook"]
    assert tool.binding is not None
    assert tool.binding.body_fields == ("title", "author", "tags", "year", "secret_note")
    assert tool.binding.body_arg is None
    assert tool.binding.content_type == "application/json"
    assert "id" not in tool.properties  # readOnly
    assert tool.required == ["title", "author"]
    assert tool.properties["year"] == {"type": ["integer", "null"]}  # nullable
    assert tool.properties["title"]["examples"] == ["Dune"]
    returns = tool.returns
    assert returns is not None
    assert "secret_note" not in returns["properties"]  # writeOnly
    assert returns["required"] == ["id", "title", "author"]


def test_clashing_body_stays_one_argument(library: dict[str, ToolSpec]) -> None:
    tool = library["searchBooks"]
    assert tool.binding is not None
    assert tool.binding.body_arg == "body"
    assert set(tool.properties) == {"limit", "body"}
    assert tool.properties["body"]["required"] == ["query"]
    assert tool.required == []  # the request body is optional


def test_form_body(library: dict[str, ToolSpec]) -> None:
    tool = library["login"]
    assert tool.binding is not None
    assert tool.binding.content_type == "application/x-www-form-urlencoded"
    assert tool.binding.body_fields == ("username", "password")
    assert tool.required == ["username", "password"]


def test_recursive_schema_kept_as_defs(library: dict[str, ToolSpec]) -> None:
    tool = library["createCategory"]
    assert tool.properties["children"] == {"type": "array", "items": {"$ref": "#/$defs/Category"}}
    assert set(tool.parameters["$defs"]) == {"Category"}
    nested = {"name": "a", "children": [{"name": "b", "children": [{"name": "c"}]}]}
    jsonschema.Draft202012Validator(tool.parameters).validate(nested)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(tool.parameters).validate(
            {"name": "a", "children": [{"children": []}]}
        )
    returns = library["getCategoryTree"].returns
    assert returns is not None and returns["properties"]["children"]["items"] == {"$ref": "#/$defs/Category"}
    jsonschema.Draft202012Validator(returns).validate(nested)


def test_returns_choice(library: dict[str, ToolSpec]) -> None:
    assert library["listBooks"].returns is not None and library["listBooks"].returns["type"] == "array"
    assert library["createBook"].returns is not None  # 201 when there is no 200
    assert library["deleteBook"].returns is None  # 204, no content
    assert library["ping"].returns is None  # text/plain is not JSON


def test_servers_and_auth(library: dict[str, ToolSpec]) -> None:
    binding = library["createBook"].binding
    assert binding is not None
    assert binding.servers == (
        "/api/v1",
        "https://eu.library.example/api/v1",
    )  # relative kept; variable default
    assert binding.auth == (HttpAuth(scheme="bearerAuth", type="bearer", env="CALLFORGE_AUTH_BEARERAUTH"),)
    delete = library["deleteBook"].binding
    assert delete is not None
    assert delete.auth == (
        HttpAuth(
            scheme="apiKeyAuth",
            type="api_key",
            location="header",
            wire="X-API-Key",
            env="CALLFORGE_AUTH_APIKEYAUTH",
        ),
    )
    listing = library["listBooks"].binding
    assert listing is not None and listing.auth == ()  # `security: []` overrides the global requirement


def test_yaml_and_json_give_the_same_tools(tmp_path: Path) -> None:
    parsed = yaml.safe_load(LIBRARY.read_text())
    as_json = tmp_path / "library.json"
    as_json.write_text(json.dumps(parsed))
    from_yaml = [t.model_dump() for t in load_openapi(LIBRARY)]
    assert [t.model_dump() for t in load_openapi(as_json)] == from_yaml
    assert [t.model_dump() for t in load_openapi(parsed)] == from_yaml


def test_dict_input_is_not_kept(tmp_path: Path) -> None:
    parsed = yaml.safe_load(LIBRARY.read_text())
    tools = by_name(load_openapi(parsed))
    parsed["components"]["schemas"]["Book"]["properties"]["title"]["minLength"] = 99
    assert tools["createBook"].properties["title"]["minLength"] == 1


# ---------------------------------------------------------------------------------------------- naming


def test_names_from_operation_id_or_method_and_path() -> None:
    paths = {
        "/pets/{petId}": {
            "get": {
                "parameters": [
                    {"name": "petId", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": ok(),
            },
            "put": {"operationId": "update pet!", "responses": ok()},
        },
        "/": {"get": {"responses": ok()}},
        "/a-b": {"get": {"responses": ok()}},
        "/a_b": {"get": {"responses": ok()}},
        "/x": {"get": {"operationId": "v" * 80, "responses": ok()}},
        "/y": {"get": {"operationId": "v" * 81, "responses": ok()}},
    }
    tools = load_openapi(spec3(paths), validate=False)
    names = [t.name for t in tools]
    assert names[:5] == ["get_pets_petId", "update_pet", "get_root", "get_a-b", "get_a_b"]
    assert all(NAME.match(n) for n in names) and len(set(names)) == len(names)
    assert len(names[5]) == len(names[6]) == 64


def test_sanitized_name_clash_gets_a_suffix() -> None:
    paths = {
        "/a": {"get": {"operationId": "list.pets", "responses": ok()}},
        "/b": {"get": {"operationId": "list pets", "responses": ok()}},
        "/c": {"get": {"operationId": "list_pets", "responses": ok()}},
    }
    assert [t.name for t in load_openapi(spec3(paths))] == ["list_pets", "list_pets_2", "list_pets_3"]


def test_duplicate_operation_id_is_an_error() -> None:
    paths = {
        "/a": {"get": {"operationId": "same", "responses": ok()}},
        "/b": {"get": {"operationId": "same", "responses": ok()}},
    }
    with pytest.raises(SpecError, match=r'\$\.paths\["/b"\]\.get\.operationId.*also used by GET /a'):
        load_openapi(spec3(paths), validate=False)


# ---------------------------------------------------------------------------------------------- mapping rules


def test_operation_parameter_overrides_path_level_and_clashing_names() -> None:
    paths = {
        "/items/{id}": {
            "parameters": [
                {
                    "name": "id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string"},
                    "description": "path level",
                },
                {"name": "verbose", "in": "query", "schema": {"type": "boolean"}},
            ],
            "get": {
                "parameters": [
                    {
                        "name": "id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer"},
                        "description": "op level",
                    },
                    {"name": "id", "in": "query", "schema": {"type": "string"}},
                    {"name": "id", "in": "header", "schema": {"type": "string"}},
                    {"name": "Accept", "in": "header", "schema": {"type": "string"}},
                ],
                "responses": ok(),
            },
        }
    }
    [tool] = load_openapi(spec3(paths))
    assert tool.properties["id"] == {"type": "integer", "description": "op level"}
    assert list(tool.properties) == [
        "id",
        "verbose",
        "id_query",
        "id_header",
    ]  # Accept is ignored (OpenAPI 3)
    assert tool.binding is not None
    assert [(p.name, p.wire, p.location) for p in tool.binding.params] == [
        ("id", "id", "path"),
        ("verbose", "verbose", "query"),
        ("id_query", "id", "query"),
        ("id_header", "id", "header"),
    ]


def test_all_of_body_is_flattened_and_non_object_body_is_not() -> None:
    components = {
        "schemas": {
            "Base": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
            "Tagged": {
                "allOf": [{"$ref": "#/components/schemas/Base"}, {"properties": {"tag": {"type": "string"}}}]
            },
        }
    }
    paths = {
        "/pets": {
            "post": {
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/vnd.api+json": {"schema": {"$ref": "#/components/schemas/Tagged"}}
                    },
                },
                "responses": ok(),
            },
            "put": {
                "x-codegen-request-body-name": "names",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"type": "array", "items": {"type": "string"}}}
                    },
                },
                "responses": ok(),
            },
        }
    }
    post, put = load_openapi(spec3(paths, components=components))
    assert post.binding is not None and post.binding.body_fields == ("name", "tag")
    assert post.binding.content_type == "application/vnd.api+json"
    assert post.required == ["name"]
    assert put.binding is not None and put.binding.body_arg == "names"
    assert put.required == ["names"]


def test_response_choice_order() -> None:
    s = {"type": "string"}
    paths = {
        "/a": {
            "get": {
                "responses": {"201": ok({"const": 201})["200"], **ok({"const": 200}), "default": ok(s)["200"]}
            }
        },
        "/b": {"get": {"responses": {"2XX": ok({"const": "2XX"})["200"], "default": ok(s)["200"]}}},
        "/c": {"get": {"responses": {"default": ok({"const": "default"})["200"], "404": ok(s)["200"]}}},
        "/d": {"get": {"responses": {"204": {"description": "none"}, "default": ok(s)["200"]}}},
    }
    returns = [t.returns for t in load_openapi(spec3(paths, version="3.1.0"))]
    assert returns == [{"const": 200}, {"const": "2XX"}, {"const": "default"}, None]


def test_openapi_30_keywords_become_2020_12() -> None:
    schema = {
        "type": "object",
        "properties": {
            "n": {
                "type": "integer",
                "maximum": 10,
                "exclusiveMaximum": True,
                "minimum": 0,
                "exclusiveMinimum": False,
            },
            "s": {
                "type": "string",
                "nullable": True,
                "enum": ["a", "b"],
                "example": "a",
                "xml": {"name": "S"},
            },
            "o": {"allOf": [{"type": "object"}], "nullable": True},
            "x": {"type": "string", "x-internal": True, "externalDocs": {"url": "https://x"}},
        },
        "discriminator": {"propertyName": "n"},
    }
    [tool] = load_openapi(spec3({"/a": {"get": {"responses": ok(schema)}}}))
    assert tool.returns == {
        "type": "object",
        "properties": {
            "n": {"type": "integer", "exclusiveMaximum": 10, "minimum": 0},
            "s": {"type": ["string", "null"], "enum": ["a", "b", None], "examples": ["a"]},
            "o": {"anyOf": [{"allOf": [{"type": "object"}]}, {"type": "null"}]},
            "x": {"type": "string"},
        },
    }
    validator = jsonschema.Draft202012Validator(tool.returns)
    assert validator.is_valid({"n": 9, "s": None, "o": None})
    assert not validator.is_valid({"n": 10})


def test_openapi_31_with_escaped_pointers_and_mutual_recursion() -> None:
    pointer = "#/paths/~1things~1%7Bid%7D~0old/get/responses/200/content/application~1json/schema"
    doc = spec3(
        {
            "/nodes": {
                "post": {
                    "operationId": "addNode",
                    "requestBody": {"$ref": "#/components/requestBodies/NodeBody"},
                    "responses": {"200": {"$ref": "#/components/responses/NodeOut"}},
                }
            },
            "/things/{id}~old": {
                "get": {
                    "parameters": [
                        {"$ref": "#/components/parameters/Thing.Id"},
                        {
                            "name": "filter",
                            "in": "query",
                            "content": {
                                "application/json": {
                                    "schema": {"type": "object", "properties": {"q": {"type": "string"}}}
                                }
                            },
                        },
                    ],
                    "responses": ok({"$ref": "#/components/schemas/Label", "description": "beside a $ref"}),
                }
            },
            "/same": {"get": {"responses": ok({"$ref": pointer})}},
        },
        version="3.1.0",
        webhooks={"newNode": {"post": {"responses": ok()}}},
        components={
            "schemas": {
                "Node": {
                    "type": "object",
                    "properties": {
                        "label": {"type": ["string", "null"]},
                        "edges": {"type": "array", "items": {"$ref": "#/components/schemas/Edge"}},
                    },
                },
                "Edge": {
                    "type": "object",
                    "properties": {
                        "to": {"$ref": "#/components/schemas/Node"},
                        "weight": {"type": "number", "exclusiveMinimum": 0},
                    },
                },
                "Label": {"type": "string", "examples": ["x"]},
            },
            "requestBodies": {
                "NodeBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Node"}}},
                }
            },
            "responses": {
                "NodeOut": {
                    "description": "ok",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Edge"}}},
                }
            },
            "parameters": {
                "Thing.Id": {"name": "id", "in": "path", "required": True, "schema": {"const": 1}}
            },
        },
    )
    add, thing, same = load_openapi(doc)  # webhooks are not operations to call
    graph = {
        "label": "a",
        "edges": [{"to": {"label": None, "edges": [{"to": {"label": "c"}, "weight": 1}]}, "weight": 2.5}],
    }
    jsonschema.Draft202012Validator(add.parameters).validate(graph)
    assert not jsonschema.Draft202012Validator(add.parameters).is_valid({"edges": [{"weight": 0}]})
    assert add.returns is not None
    jsonschema.Draft202012Validator(add.returns).validate(graph["edges"][0])
    assert thing.properties["id"] == {"const": 1}
    assert thing.properties["filter"] == {"type": "object", "properties": {"q": {"type": "string"}}}
    assert thing.returns == {"type": "string", "examples": ["x"], "description": "beside a $ref"}
    assert same.returns == thing.returns


def test_swagger_20() -> None:
    doc = {
        "swagger": "2.0",
        "info": {"title": "Old Store", "version": "1"},
        "host": "store.example",
        "basePath": "/v2/",
        "schemes": ["https", "http"],
        "consumes": ["application/json"],
        "securityDefinitions": {
            "basic": {"type": "basic"},
            "key": {"type": "apiKey", "in": "query", "name": "api_key"},
            "oauth": {
                "type": "oauth2",
                "flow": "implicit",
                "authorizationUrl": "https://x/auth",
                "scopes": {},
            },
        },
        "security": [{"oauth": []}],
        "paths": {
            "/pets": {
                "post": {
                    "operationId": "addPet",
                    "tags": ["pets"],
                    "parameters": [
                        {
                            "in": "body",
                            "name": "pet",
                            "required": True,
                            "schema": {"$ref": "#/definitions/Pet"},
                        }
                    ],
                    "responses": {"200": {"description": "ok", "schema": {"$ref": "#/definitions/Pet"}}},
                },
                "get": {
                    "operationId": "findPets",
                    "security": [{"basic": [], "key": []}],
                    "parameters": [
                        {
                            "name": "tags",
                            "in": "query",
                            "type": "array",
                            "items": {"type": "string"},
                            "collectionFormat": "multi",
                        },
                        {
                            "name": "limit",
                            "in": "query",
                            "type": "integer",
                            "maximum": 50,
                            "exclusiveMaximum": True,
                            "required": True,
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "ok",
                            "schema": {"type": "array", "items": {"$ref": "#/definitions/Pet"}},
                        }
                    },
                },
            },
            "/pets/{petId}/photo": {
                "post": {
                    "operationId": "uploadPhoto",
                    "consumes": ["multipart/form-data"],
                    "parameters": [
                        {"name": "petId", "in": "path", "required": True, "type": "integer"},
                        {"name": "caption", "in": "formData", "type": "string"},
                        {"name": "file", "in": "formData", "type": "file", "required": True},
                    ],
                    "responses": {"204": {"description": "stored"}},
                }
            },
        },
        "definitions": {
            "Pet": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "id": {"type": "integer", "readOnly": True},
                    "name": {"type": "string"},
                    "owner": {"type": "string", "x-nullable": True},
                    "parent": {"$ref": "#/definitions/Pet"},
                },
            }
        },
    }
    tools = by_name(load_openapi(doc))
    for tool in tools.values():
        check_tool(tool)
    add = tools["addPet"]
    assert add.domain == "pets"
    assert add.binding is not None
    assert add.binding.servers == ("https://store.example/v2", "http://store.example/v2")
    assert add.binding.body_fields == ("name", "owner", "parent")
    assert add.required == ["name"]
    assert add.properties["owner"] == {"type": ["string", "null"]}
    assert add.properties["parent"] == {"$ref": "#/$defs/Pet"}
    assert add.binding.auth == (HttpAuth(scheme="oauth", type="bearer", env="CALLFORGE_AUTH_OAUTH"),)
    jsonschema.Draft202012Validator(add.parameters).validate(
        {"name": "a", "parent": {"name": "b", "parent": {"name": "c"}}}
    )
    find = tools["findPets"]
    assert find.domain == "old-store"
    assert find.properties["limit"] == {"type": "integer", "exclusiveMaximum": 50}
    assert find.required == ["limit"]
    assert find.binding is not None
    assert find.binding.auth == (
        HttpAuth(scheme="basic", type="basic", env="CALLFORGE_AUTH_BASIC"),
        HttpAuth(scheme="key", type="api_key", location="query", wire="api_key", env="CALLFORGE_AUTH_KEY"),
    )
    photo = tools["uploadPhoto"]
    assert photo.binding is not None
    assert photo.binding.content_type == "multipart/form-data"
    assert photo.binding.body_fields == ("caption", "file")
    assert photo.properties["file"] == {"type": "string", "format": "binary"}
    assert photo.required == ["petId", "file"]
    assert photo.returns is None


def test_security_variants() -> None:
    schemes = {
        "token": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
        "digest": {"type": "http", "scheme": "digest"},
        "oidc": {"type": "openIdConnect", "openIdConnectUrl": "https://x/.well-known"},
        "cookie-key": {"type": "apiKey", "in": "cookie", "name": "sid"},
    }
    paths = {
        "/optional": {"get": {"security": [{}, {"token": []}], "responses": ok()}},
        "/digest": {"get": {"security": [{"digest": []}], "responses": ok()}},
        "/any": {"get": {"security": [{"oidc": []}, {"cookie-key": []}], "responses": ok()}},
    }
    optional, digest, any_of = load_openapi(spec3(paths, components={"securitySchemes": schemes}))
    assert optional.binding is not None and optional.binding.auth == ()  # anonymous calls are allowed
    assert digest.binding is not None and digest.binding.auth == ()  # not supported: sent without
    assert any_of.binding is not None
    assert [(a.type, a.location, a.wire, a.env) for a in any_of.binding.auth] == [
        ("bearer", "header", "Authorization", "CALLFORGE_AUTH_OIDC"),
        ("api_key", "cookie", "sid", "CALLFORGE_AUTH_COOKIE_KEY"),
    ]
    assert auth_env("my api.key") == "CALLFORGE_AUTH_MY_API_KEY"


def test_missing_path_parameter_is_added() -> None:
    [tool] = load_openapi(spec3({"/users/{user-id}": {"get": {"responses": ok()}}}), validate=False)
    assert tool.properties == {"user-id": {"type": "string"}}
    assert tool.required == ["user-id"]


def test_big_spec_imports_fast() -> None:
    item = {"$ref": "#/components/schemas/Item"}
    schemas: dict[str, Any] = {
        "Item": {
            "type": "object",
            "properties": {f"f{i}": {"type": "string", "description": "x" * 40} for i in range(30)}
            | {"owner": {"$ref": "#/components/schemas/User"}, "children": {"type": "array", "items": item}},
        },
        "User": {"type": "object", "properties": {f"u{i}": {"type": "integer"} for i in range(20)}},
    }
    paths = {
        f"/r{i}/{{id}}": {
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "get": {"operationId": f"get{i}", "responses": ok(item)},
            "put": {
                "operationId": f"put{i}",
                "requestBody": {"content": {"application/json": {"schema": item}}},
                "responses": ok(item),
            },
        }
        for i in range(1500)
    }
    doc = spec3(paths, components={"schemas": schemas})
    started = time.perf_counter()
    tools = load_openapi(doc)
    elapsed = time.perf_counter() - started
    assert len(tools) == 3000
    assert elapsed < 3.0, f"{elapsed:.2f} s for 3000 operations"
    assert tools[1].properties["children"] == {"type": "array", "items": {"$ref": "#/$defs/Item"}}


# ---------------------------------------------------------------------------------------------- errors


def fails(doc: Any, pattern: str, **options: Any) -> SpecError:
    with pytest.raises(SpecError) as info:
        load_openapi(doc, source_name="spec.yaml", **options)
    assert re.search(pattern, str(info.value)), str(info.value)
    return info.value


def test_error_not_openapi() -> None:
    fails({"info": {}}, r"^spec\.yaml: at \$: neither \"openapi\" nor \"swagger\"")
    fails({"openapi": "2.5"}, r"at \$\.openapi: OpenAPI version '2\.5' is not supported")
    fails({"swagger": "1.2"}, r"at \$\.swagger: Swagger version")


@pytest.mark.parametrize("validate", [True, False])
def test_error_external_ref(validate: bool) -> None:
    paths = {"/a": {"get": {"responses": ok({"$ref": "common.yaml#/Pet"})}}}
    err = fails(
        spec3(paths),
        r"external \$ref 'common\.yaml#/Pet' is not supported; expected .*bundle",
        validate=validate,
    )
    assert err.path == '$.paths["/a"].get.responses["200"].content["application/json"].schema["$ref"]'


def test_error_dangling_ref_and_circular_alias() -> None:
    paths = {"/a": {"get": {"responses": ok({"$ref": "#/components/schemas/Nope"})}}}
    fails(
        spec3(paths, components={"schemas": {}}),
        r'at \$\.paths\["/a"\].*schema\["\$ref"\]: \$ref .* points at nothing: \$\.components\.schemas has no \'Nope\'',
        validate=False,
    )
    alias = {"A": {"$ref": "#/components/schemas/B"}, "B": {"$ref": "#/components/schemas/A"}}
    paths = {"/a": {"get": {"responses": ok({"$ref": "#/components/schemas/A"})}}}
    fails(spec3(paths, components={"schemas": alias}), r"circular \$ref", validate=False)


def test_error_bad_schema_names_its_own_path() -> None:
    schemas = {"Pet": {"type": "object", "properties": {"name": {"type": "text"}}}}
    paths = {"/a": {"get": {"responses": ok({"$ref": "#/components/schemas/Pet"})}}}
    fails(
        spec3(paths, components={"schemas": schemas}),
        r"at \$\.components\.schemas\.Pet\.properties\.name\.type: \"type\" must be one of .* not 'text'",
        validate=False,
    )


def test_error_parameters() -> None:
    no_in = {"/a": {"get": {"parameters": [{"name": "x", "schema": {"type": "string"}}], "responses": ok()}}}
    fails(
        spec3(no_in), r'at \$\.paths\["/a"\]\.get\.parameters\[0\]\.in: "in" must be one of', validate=False
    )
    body = {"/a": {"post": {"parameters": [{"name": "x", "in": "body"}], "responses": ok()}}}
    fails(spec3(body), r"OpenAPI 3 puts the body in requestBody", validate=False)


def test_error_security_and_servers() -> None:
    paths = {"/a": {"get": {"security": [{"nope": []}], "responses": ok()}}}
    fails(
        spec3(paths),
        r"at \$\.paths\[\"/a\"\]\.get\.security\[0\]\.nope: security scheme 'nope' is not declared",
        validate=False,
    )
    servers = [{"url": "https://{env}.example"}]
    fails(
        spec3({"/a": {"get": {"responses": ok()}}}, servers=servers),
        r"at \$\.servers\[0\]\.variables: server variable \{env\} has no default",
        validate=False,
    )


def test_error_no_operations() -> None:
    fails(spec3({}), r"at \$\.paths: no operations found")


def test_error_files(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="file not found"):
        load_openapi(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("openapi: 3.0.0\npaths:\n  /a: [\n")
    with pytest.raises(SpecError, match=r"broken\.yaml: at \$: invalid YAML at line \d+ column \d+"):
        load_openapi(broken)
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"openapi": ')
    with pytest.raises(SpecError, match="invalid JSON"):
        load_openapi(bad_json)
    with pytest.raises(ConfigError, match="a file path or a parsed spec"):
        load_openapi(["not", "a", "spec"])  # type: ignore[arg-type]


INVALID = spec3({"/pets": {"get": {"operationId": "listPets", "responses": ["not", "a", "map"]}}})


def test_error_from_the_validator() -> None:
    err = fails(INVALID, r"invalid OpenAPI 3\.0 \(.*\); expected a valid OpenAPI document; .*validate=False")
    assert err.path == '$.paths["/pets"].get.responses'


def test_error_without_the_validator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "openapi_spec_validator.shortcuts", None)  # as if the extra were absent
    err = fails(INVALID, r'"responses" must be an object, not a list')
    assert err.path == '$.paths["/pets"].get.responses'


def test_full_validation_names_the_schema_at_fault() -> None:
    err = fails(str(DOCKER), r"invalid OpenAPI 2\.0", validate="full")
    assert err.path == "$.definitions.SwarmInfo.properties.RemoteManagers"
    assert len(load_openapi(DOCKER)) == 106  # the document schema alone accepts it


# ---------------------------------------------------------------------------------------------- real specs


def test_blockfrost_needs_validate_false() -> None:
    err = fails(str(BLOCKFROST), r'invalid OpenAPI 3\.0 \("null" is not one of')
    assert (
        err.path
        == "$.components.schemas.dreps.items.properties.metadata.properties.json_metadata.anyOf[6].type"
    )


@pytest.mark.parametrize(
    ("path", "validate", "operations", "with_returns", "domain"),
    [(BLOCKFROST, False, 129, 128, "Health"), (DOCKER, True, 106, 61, "Container")],
)
def test_real_specs(path: Path, validate: bool, operations: int, with_returns: int, domain: str) -> None:
    tools = load_openapi(path, validate=validate)
    assert len(tools) == operations
    assert len({t.name for t in tools}) == operations
    assert sum(t.returns is not None for t in tools) == with_returns
    assert domain in {t.domain for t in tools}
    for tool in tools:
        check_tool(tool)


def test_blockfrost_mapping() -> None:
    tools = by_name(load_openapi(BLOCKFROST, validate=False))
    tool = tools["get_blocks_hash_or_number"]
    assert tool.binding is not None
    assert tool.binding.servers[0] == "https://cardano-mainnet.blockfrost.io/api/v0"
    assert tool.binding.auth == (
        HttpAuth(scheme="project_id", type="api_key", wire="project_id", env="CALLFORGE_AUTH_PROJECT_ID"),
    )
    assert tool.required == ["hash_or_number"]


def test_docker_mapping() -> None:
    tools = by_name(load_openapi(DOCKER))
    create = tools["ContainerCreate"]
    assert create.binding is not None
    assert create.binding.servers == ("/v1.41",)  # no host: the basePath, joined onto a base URL
    assert {"Image", "Cmd", "HostConfig"} <= set(create.binding.body_fields)  # allOf merged
    build = tools["ImageBuild"]
    assert build.binding is not None
    assert build.binding.body_arg == "inputStream"
    assert build.binding.content_type == "application/octet-stream"
    registry = next(p for p in build.binding.params if p.location == "header")
    assert registry.wire == "X-Registry-Config"
