"""``/docs``: the REST API's reference as one self-contained HTML page.

FastAPI's ``/docs`` is Swagger UI, whose script and style load from a CDN:
offline (or behind a firewall) the page stays blank. This page is written on
the server from the same OpenAPI schema (``/openapi.json``) and needs nothing
from outside: every route with its summary, description, parameters, form
fields and answers.

Example:
    >>> page = docs_html({"info": {"title": "T", "version": "1"}, "paths": {}})
    >>> "<h1>T</h1>" in page
    True
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

#: Literal markup, shown as code: Sphinx's ``double`` in the docstrings, Markdown's `single`
#: in the API's description.
#: A Sphinx role before it (``:func:``) is dropped, as is its ``~``.
_LITERAL = re.compile(r"(?::\w+:)?``~?(.+?)``|(?::\w+:)?`~?([^`]+)`")
_STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       color: #1f2328; }
h2 { margin-top: 2rem; border-bottom: 1px solid #d0d7de; }
.route { border: 1px solid #d0d7de; border-radius: 6px; padding: 0.5rem 1rem; margin: 1rem 0; }
.method { font-weight: bold; text-transform: uppercase; margin-right: 0.5rem; }
code { background: #f6f8fa; padding: 0 0.2rem; border-radius: 3px; }
table { border-collapse: collapse; margin: 0.5rem 0; }
td, th { border: 1px solid #d0d7de; padding: 0.2rem 0.5rem; text-align: left; vertical-align: top; }
"""


def docs_html(schema: dict[str, Any]) -> str:
    """The reference page of an OpenAPI schema.

    Args:
        schema: The app's OpenAPI schema (``app.openapi()``).

    Returns:
        A whole HTML document, with no external resource.
    """
    info = schema.get("info", {})
    title = _text(info.get("title", "API"))
    parts = [
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>",
        f"<style>{_STYLE}</style></head><body><h1>{title}</h1>",
        f"<p>Version {_text(str(info.get('version', '')))}. The schema: "
        "<a href='openapi.json'><code>/openapi.json</code></a>.</p>",
        _paragraphs(info.get("description", "")),
    ]
    sections: dict[str, list[str]] = {}
    for path, methods in schema.get("paths", {}).items():
        for method, operation in methods.items():
            tag = (operation.get("tags") or ["routes"])[0]
            sections.setdefault(tag, []).append(_route(schema, path, method, operation))
    for tag, routes in sections.items():
        parts.append(f"<h2>{_text(tag)}</h2>")
        parts.extend(routes)
    parts.append("</body></html>")
    return "\n".join(parts)


def add_meanings(
    schema: dict[str, Any],
    by_path: Mapping[str, Mapping[str, str]],
    everywhere: Mapping[str, str],
) -> dict[str, Any]:
    """Give each parameter and form field without a description its meaning, in place.

    The meanings are written once, in the docstrings of what reads the fields;
    a route's own (``by_path``) win over those shared by every route.

    Args:
        schema: An OpenAPI schema.
        by_path: Per route path, the meaning of each of its fields.
        everywhere: Meanings of fields that mean the same on every route (``job_id``).

    Returns:
        ``schema``.
    """
    for path, methods in schema.get("paths", {}).items():
        meanings = {**everywhere, **by_path.get(path, {})}
        for operation in methods.values():
            for name, _, _, field in _fields(schema, operation):
                if not field.get("description") and name in meanings:
                    field["description"] = meanings[name]
    return schema


def _fields(
    schema: dict[str, Any], operation: dict[str, Any]
) -> list[tuple[str, str, bool, dict[str, Any]]]:
    """An operation's parameters and form fields: name, where, required, and its schema's dict."""
    found = [
        (parameter["name"], parameter.get("in", ""), parameter.get("required", False), parameter)
        for parameter in operation.get("parameters", [])
    ]
    for content in operation.get("requestBody", {}).get("content", {}).values():
        body = _resolve(schema, content.get("schema", {}))
        required = set(body.get("required", []))
        for name, field in body.get("properties", {}).items():
            found.append((name, "form", name in required, _resolve(schema, field)))
    return found


def _route(schema: dict[str, Any], path: str, method: str, operation: dict[str, Any]) -> str:
    rows = [
        (name, where, needed, field.get("description", ""))
        for name, where, needed, field in _fields(schema, operation)
    ]
    answers = ", ".join(
        f"{code} {answer.get('description', '')}"
        for code, answer in operation.get("responses", {}).items()
    )
    parts = [
        "<div class='route'>",
        f"<p><span class='method'>{_text(method)}</span><code>{_text(path)}</code>"
        f" {_text(operation.get('summary', ''))}</p>",
        _paragraphs(operation.get("description", "")),
    ]
    if rows:
        parts.append("<table><tr><th>name</th><th>in</th><th>required</th><th>meaning</th></tr>")
        parts.extend(
            f"<tr><td><code>{_text(name)}</code></td><td>{_text(where)}</td>"
            f"<td>{'yes' if needed else ''}</td><td>{_inline(meaning)}</td></tr>"
            for name, where, needed, meaning in rows
        )
        parts.append("</table>")
    parts.append(f"<p>Answers: {_text(answers)}</p></div>")
    return "\n".join(parts)


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """``node``, or what its ``$ref`` points to within ``schema``."""
    ref = node.get("$ref", "")
    if not ref.startswith("#/"):
        return node
    for key in ref[2:].split("/"):
        schema = schema.get(key, {})
    return schema


def _text(value: str) -> str:
    return html.escape(str(value), quote=True)


def _inline(text: str) -> str:
    return _LITERAL.sub(lambda found: f"<code>{found[1] or found[2]}</code>", _text(text))


def _paragraphs(text: str) -> str:
    blocks = [block.strip() for block in str(text).split("\n\n") if block.strip()]
    return "".join(f"<p>{_inline(block)}</p>" for block in blocks)
