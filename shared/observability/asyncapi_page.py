"""The AsyncAPI document as one HTML page (``GET /asyncapi``): channels, who sends and receives, each
message's fields. Server-rendered: no script, nothing from a CDN."""

from __future__ import annotations

import html
import json
from typing import Any

__all__ = ["page"]


def _type_of(schema: dict[str, Any] | bool) -> str:
    if isinstance(schema, bool):
        return "any"
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f'<a href="#schema-{html.escape(name)}">{html.escape(name)}</a>'
    if "const" in schema:
        return html.escape(json.dumps(schema["const"]))
    if "enum" in schema:
        return " | ".join(html.escape(json.dumps(v)) for v in schema["enum"])
    if "anyOf" in schema:
        return " | ".join(_type_of(s) for s in schema["anyOf"])
    if schema.get("type") == "array":
        return f"list of {_type_of(schema.get('items', {}))}"
    if schema.get("type") == "object" and "additionalProperties" in schema:
        return f"map of {_type_of(schema['additionalProperties'])}"
    kind = str(schema.get("type", "any"))
    return html.escape(f"{kind} ({schema['format']})" if "format" in schema else kind)


def _fields(name: str, schema: dict[str, Any]) -> str:
    required = set(schema.get("required", []))
    rows = "".join(
        f"<tr><td><code>{html.escape(field)}</code></td><td>{_type_of(spec)}</td>"
        f"<td>{'yes' if field in required else ''}</td>"
        f"<td>{html.escape(str(spec.get('description', '')))}</td></tr>"
        for field, spec in schema.get("properties", {}).items())
    return (f'<h3 id="schema-{html.escape(name)}">{html.escape(name)}</h3>'
            f"<table><tr><th>field</th><th>type</th><th>required</th><th>about</th></tr>{rows}</table>")


def page(doc: dict[str, Any]) -> str:
    """The document as one HTML page: channels, who sends and receives, each message's fields."""
    messages, schemas = doc["components"]["messages"], doc["components"]["schemas"]
    parts = [f"<h1>{html.escape(doc['info']['title'])} {html.escape(doc['info']['version'])}</h1>",
             f"<p>{html.escape(doc['info']['description'])}</p>",
             '<p>Machine-readable: <a href="asyncapi.json">asyncapi.json</a> (AsyncAPI 3.0).</p>', "<h2>Channels</h2>"]
    for name, channel in doc["channels"].items():
        senders = sorted(op.split(".")[0] for op, o in doc["operations"].items()
                         if o["channel"]["$ref"] == f"#/channels/{name}" and o["action"] == "send")
        receivers = sorted(op.split(".")[0] for op, o in doc["operations"].items()
                           if o["channel"]["$ref"] == f"#/channels/{name}" and o["action"] == "receive")
        types = ", ".join(f'<a href="#schema-{k}">{html.escape(messages[k]["name"])}</a>' for k in channel["messages"])
        internal = " (internal)" if channel.get("tags") else ""
        parts.append(f"<h3><code>{html.escape(channel['address'])}</code>{internal}</h3>"
                     f"<p>{html.escape(channel['description'])}"
                     f"</p><table><tr><th>sent by</th><td>{', '.join(senders)}</td></tr><tr><th>received by</th>"
                     f"<td>{', '.join(receivers) or '(integrations)'}</td></tr><tr><th>types</th><td>{types}"
                     "</td></tr></table>")
    parts.append("<h2>Topics left out</h2><table>" + "".join(
        f"<tr><td><code>{html.escape(address)}</code></td><td>{html.escape(why)}</td></tr>"
        for address, why in doc.get("x-topics-left-out", {}).items()) + "</table>")
    parts.append("<h2>Envelope and payloads</h2>")
    parts.append(_fields("CloudEvent", schemas["CloudEvent"]))
    parts += [_fields(name, schema) for name, schema in schemas.items()
              if name != "CloudEvent" and not name.endswith("Envelope") and name != "KafkaHeaders"]
    style = ("body{font-family:sans-serif;max-width:70em;margin:2em auto;padding:0 1em}"
             "table{border-collapse:collapse;margin-bottom:1em}td,th{border:1px solid #ccc;padding:.2em .5em;"
             "text-align:left;vertical-align:top}")
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(doc["info"]["title"])}'
            f"</title><style>{style}</style></head><body>{''.join(parts)}</body></html>")
