"""The spec, the docs page and the error format: JSON under /api, HTML in the portal."""

from __future__ import annotations

import json

from urakata.portal.api.docs import describe_spec


def test_openapi_json_lists_the_shop_endpoint_and_the_key_scheme(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    spec = json.loads(response.get_data(as_text=True))
    assert spec["openapi"] == "3.0.3"
    assert spec["info"]["title"] == "Urakata API" and spec["info"]["version"] == "v1"
    operation = spec["paths"]["/api/v1/shop"]["get"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ShopOut"
    }
    assert {"401", "422"} <= set(operation["responses"])
    scheme = spec["components"]["securitySchemes"]["ApiKeyAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert spec["security"] == [{"ApiKeyAuth": []}]
    shop_out = spec["components"]["schemas"]["ShopOut"]["properties"]
    assert {"slug", "same_day_cutoff", "split_policy", "sasage_turnaround_days"} <= set(shop_out)
    # The shop comes from the key: nothing in the API lets a caller name one.
    assert "tenant_id" not in json.dumps(spec) and "shop_id" not in json.dumps(spec)


def test_no_swagger_or_redoc_ui_is_served(client):
    for path in ("/api/v1/swagger-ui", "/api/v1/redoc", "/api/v1/rapidoc"):
        assert client.get(path).status_code == 404


def test_the_docs_page_renders_the_spec_as_html_without_scripts_from_elsewhere(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "GET /api/v1/shop" in html
    assert 'data-testid="api-security-scheme-ApiKeyAuth"' in html
    assert 'id="schema-ShopOut"' in html and "same_day_cutoff" in html
    assert 'href="#schema-ShopOut"' in html  # the 200 response links to its schema
    assert 'id="schema-Error"' in html  # the error responses are described too
    assert "PaginationMetadata" not in html  # unused helper schemas are left out
    assert "cdn" not in html.lower() and '<script src="http' not in html
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_describe_spec_reads_bodies_arrays_and_parameters():
    spec = {
        "info": {"title": "T", "version": "v9"},
        "security": [{"K": []}],
        "paths": {
            "/api/v1/things/{thing_id}": {
                "parameters": [
                    {
                        "name": "thing_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "format": "uuid"},
                    }
                ],
                "post": {
                    "summary": "Add",
                    "parameters": [{"name": "dry", "in": "query", "schema": {"type": "boolean"}}],
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["tags"],
                                    "properties": {
                                        "tags": {
                                            "type": "array",
                                            "items": {"$ref": "#/components/schemas/Tag"},
                                        }
                                    },
                                }
                            }
                        }
                    },
                    "responses": {"201": {"description": "Created"}},
                    "security": [],
                },
            }
        },
        "components": {
            "schemas": {
                "Tag": {
                    "type": "object",
                    "properties": {"label": {"type": "string", "enum": ["a", "b"]}},
                },
                "Unused": {"type": "object"},
            }
        },
    }
    doc = describe_spec(spec)
    (op,) = doc.operations
    assert (op.method, op.path, op.summary, op.security) == (
        "POST",
        "/api/v1/things/{thing_id}",
        "Add",
        [],
    )
    assert [(p.name, p.where, p.required, p.type.text) for p in op.parameters] == [
        ("thing_id", "path", True, "string (uuid)"),
        ("dry", "query", False, "boolean"),
    ]
    (tags,) = op.body_fields
    assert (tags.name, tags.required, tags.type.text, tags.type.ref) == (
        "tags",
        True,
        "array of Tag",
        "Tag",
    )
    assert [s.name for s in doc.schemas] == ["Tag"]
    assert doc.schemas[0].fields[0].enum == ("a", "b")
    assert [(r.status, r.description, r.type) for r in op.responses] == [("201", "Created", None)]


def test_an_api_404_and_405_are_json(client):
    response = client.get("/api/v1/nope")
    assert response.status_code == 404 and response.mimetype == "application/json"
    assert response.get_json()["code"] == 404
    response = client.post("/api/v1/shop")
    assert response.status_code == 405 and response.mimetype == "application/json"


def test_a_portal_404_stays_html(portal, world):
    assert portal.get("/nope").mimetype == "text/html"
    portal.login(world.shop_admin_a)
    response = portal.get("/s/shop-a/nope")
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert "<html" in response.get_data(as_text=True)
    # Another shop's pages are 404 HTML too, never JSON and never 403.
    response = portal.get("/s/shop-b/api-keys")
    assert response.status_code == 404 and response.mimetype == "text/html"
