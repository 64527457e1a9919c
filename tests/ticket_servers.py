"""Local GitHub and Jira servers for the ticket tests, built from the vendors' published API descriptions.

GitHub: the REST API description (github/rest-api-description, descriptions/api.github.com/
api.github.com.json), operations ``issues/create`` and ``issues/get`` extracted into
tests/data/tickets/github-issues-openapi.json (source commit recorded in its ``x-source``).
Jira: the Jira Cloud platform REST API v3 description (swagger-v3.v3.json, as mirrored in
salto-io/jira-swaggers), ``POST /rest/api/3/issue`` and ``GET /rest/api/3/issue/{issueIdOrKey}`` with
every schema they reference, in tests/data/tickets/jira-issues-openapi.json. Jira's ``fields`` object is
free-form in that description; the fields sce sends are checked as the "Create issue" documentation and
the Atlassian Document Format pages describe them (developer.atlassian.com/cloud/jira/platform/apis/
document/structure; the ADF JSON schema, @atlaskit/adf-schema json-schema/v1/full.json: doc_node,
paragraph_node, text_node, hardBreak_node, strong_mark, code_mark; a text node is never empty).

Each server checks the credentials, validates every request body against the vendor's schema (OpenAPI
3.0 ``nullable`` read as JSON Schema's null type) and validates its own answers too; ``problems`` lists
what failed, and a test asserts it is empty.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

import jsonschema

DATA = Path(__file__).parent / "data" / "tickets"


def _json_schema(node: Any) -> Any:
    """An OpenAPI 3.0 schema as JSON Schema: ``nullable: true`` becomes "or null"."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {k: _json_schema(v) for k, v in node.items() if k not in ("nullable", "example", "readOnly")}
    if node.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


class Described:
    """One vendor document: validators for its request and response schemas."""

    def __init__(self, name: str):
        self.doc = _json_schema(json.loads((DATA / name).read_text()))

    def _validator(self, schema: dict[str, Any]) -> jsonschema.Draft7Validator:
        return jsonschema.Draft7Validator({**schema, "components": self.doc["components"]})

    def request_errors(self, path: str, method: str, body: Any) -> list[str]:
        schema = self.doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
        return [e.message for e in self._validator(schema).iter_errors(body)]

    def response_errors(self, path: str, method: str, status: int, body: Any) -> list[str]:
        answer = self.doc["paths"][path][method]["responses"][str(status)]
        schema = answer.get("content", {}).get("application/json", {}).get("schema")
        if schema is None:
            return []
        return [e.message for e in self._validator(schema).iter_errors(body)]


TEXT_MARK = {"type": "object", "properties": {"type": {"enum": ["strong", "code"]}}, "required": ["type"]}
ADF = {
    "type": "object",
    "additionalProperties": False,
    "required": ["version", "type", "content"],
    "properties": {
        "version": {"enum": [1]},
        "type": {"enum": ["doc"]},
        "content": {"type": "array", "items": {"$ref": "#/definitions/paragraph"}},
    },
    "definitions": {
        "paragraph": {
            "type": "object",
            "additionalProperties": False,
            "required": ["type"],
            "properties": {
                "type": {"enum": ["paragraph"]},
                "content": {
                    "type": "array",
                    "items": {"anyOf": [{"$ref": "#/definitions/text"}, {"$ref": "#/definitions/hardBreak"}]},
                },
            },
        },
        "text": {
            "type": "object",
            "additionalProperties": False,
            "required": ["type", "text"],
            "properties": {
                "type": {"enum": ["text"]},
                "text": {"type": "string", "minLength": 1},
                "marks": {"type": "array", "items": TEXT_MARK, "maxItems": 1},
            },
        },
        "hardBreak": {
            "type": "object",
            "additionalProperties": False,
            "required": ["type"],
            "properties": {"type": {"enum": ["hardBreak"]}},
        },
    },
}
JIRA_FIELDS = {
    "type": "object",
    "required": ["project", "summary", "issuetype", "description", "labels"],
    "properties": {
        "project": {"type": "object", "required": ["key"], "properties": {"key": {"type": "string"}}},
        "summary": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[^\\r\\n]*$"},
        "issuetype": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
        "description": {k: v for k, v in ADF.items() if k != "definitions"},
        "labels": {"type": "array", "items": {"type": "string", "pattern": "^[^\\s]+$"}},  # no spaces
    },
    "definitions": ADF["definitions"],  # the description's nodes, referred to from the root
}


class TicketServer:
    """A threaded HTTP server on 127.0.0.1; subclasses answer. ``force`` makes every answer that status
    (or ``"hang"``: no answer within the client's timeout)."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str, Any]] = []
        self.problems: list[str] = []
        self.force: int | str | None = None
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                server.received.append((method, self.path, body))
                if server.force == "hang":
                    time.sleep(1.0)
                    status, answer = 500, {}
                elif isinstance(server.force, int):
                    status, answer = server.force, {"message": "forced"}
                else:
                    status, answer = server.answer(method, self.path, dict(self.headers), body)
                data = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up waiting

            def do_GET(self) -> None:
                self._answer("get")

            def do_POST(self) -> None:
                self._answer("post")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def answer(self, method: str, path: str, headers: dict[str, str], body: Any) -> tuple[int, Any]:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def check(self, errors: list[str], what: str) -> None:
        self.problems += [f"{what}: {e}" for e in errors]


class GitHubServer(TicketServer):
    TOKEN = "ghp_test0123456789abcdefSECRET"
    CREATE, GET = "/repos/{owner}/{repo}/issues", "/repos/{owner}/{repo}/issues/{issue_number}"

    def __init__(self, repo: str = "acme/security") -> None:
        super().__init__()
        self.repo = repo
        self.described = Described("github-issues-openapi.json")
        self.issues: dict[int, dict[str, Any]] = {}

    def answer(self, method: str, path: str, headers: dict[str, str], body: Any) -> tuple[int, Any]:
        if headers.get("Authorization") != f"Bearer {self.TOKEN}":
            return 401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}
        base = f"/repos/{self.repo}/issues"
        if method == "post" and path == base:
            errors = self.described.request_errors(self.CREATE, "post", body)
            self.check(errors, "issues/create request")
            if errors:
                return 422, {
                    "message": "Validation Failed",
                    "documentation_url": "https://docs.github.com/rest",
                }
            number = len(self.issues) + 1
            issue = self._issue(number, body)
            self.issues[number] = issue
            self.check(
                self.described.response_errors(self.CREATE, "post", 201, issue), "issues/create answer"
            )
            return 201, issue
        if method == "get" and path.startswith(base + "/") and path[len(base) + 1 :].isdigit():
            found = self.issues.get(int(path[len(base) + 1 :]))
            if found is None:
                return 404, {"message": "Not Found"}
            issue = found
            self.check(self.described.response_errors(self.GET, "get", 200, issue), "issues/get answer")
            return 200, issue
        return 404, {"message": "Not Found"}

    def _issue(self, number: int, body: dict[str, Any]) -> dict[str, Any]:
        stamp = "2026-12-04T10:00:00Z"
        return {
            "id": 1000 + number,
            "node_id": f"I_{number}",
            "url": f"{self.url}/repos/{self.repo}/issues/{number}",
            "repository_url": f"{self.url}/repos/{self.repo}",
            "html_url": f"https://github.com/{self.repo}/issues/{number}",
            "number": number,
            "state": "open",
            "state_reason": None,
            "title": str(body["title"]),
            "body": body.get("body"),
            "user": {"login": "sce-bot", "id": 7},
            "labels": [
                {"id": i, "name": n, "description": None, "color": "ededed"}
                for i, n in enumerate(body.get("labels", []))
            ],
            "locked": False,
            "comments": 0,
            "closed_at": None,
            "created_at": stamp,
            "updated_at": stamp,
            "author_association": "NONE",
        }

    def close(self, number: int) -> None:
        self.issues[number] |= {
            "state": "closed",
            "state_reason": "completed",
            "closed_at": "2026-12-05T10:00:00Z",
        }


class JiraServer(TicketServer):
    EMAIL, TOKEN = "sce@example.com", "ATATT3xJIRAtokenSECRET"
    CREATE, GET = "/rest/api/3/issue", "/rest/api/3/issue/{issueIdOrKey}"

    def __init__(self, project: str = "SEC") -> None:
        super().__init__()
        self.project = project
        self.described = Described("jira-issues-openapi.json")
        self.issues: dict[str, dict[str, Any]] = {}

    def answer(self, method: str, path: str, headers: dict[str, str], body: Any) -> tuple[int, Any]:
        basic = base64.b64encode(f"{self.EMAIL}:{self.TOKEN}".encode()).decode()
        if headers.get("Authorization") != f"Basic {basic}":
            return 401, {"errorMessages": ["You are not authenticated."], "errors": {}}
        if method == "post" and path == self.CREATE:
            self.check(self.described.request_errors(self.CREATE, "post", body), "createIssue request")
            fields = body.get("fields", {}) if isinstance(body, dict) else {}
            errors = [e.message for e in jsonschema.Draft7Validator(JIRA_FIELDS).iter_errors(fields)]
            self.check(errors, "fields")
            if errors:
                return 400, {"errorMessages": [], "errors": {"fields": "; ".join(errors)[:500]}}
            if fields.get("project", {}).get("key") != self.project:
                return 400, {"errorMessages": [], "errors": {"project": "valid project is required"}}
            key = f"{self.project}-{len(self.issues) + 1}"
            self.issues[key] = {"fields": fields, "category": "new"}
            created = {
                "id": str(10000 + len(self.issues)),
                "key": key,
                "self": f"{self.url}/rest/api/3/issue/{key}",
            }
            self.check(
                self.described.response_errors(self.CREATE, "post", 201, created), "createIssue answer"
            )
            return 201, created
        prefix = self.CREATE + "/"
        if method == "get" and path.startswith(prefix):
            key, _, query = path[len(prefix) :].partition("?")
            if query != "fields=status":
                self.problems.append(f"getIssue asked for {query!r}, not fields=status")
            issue = self.issues.get(key)
            if issue is None:
                return 404, {
                    "errorMessages": ["Issue does not exist or you do not have permission to see it."]
                }
            names = {"new": "To Do", "indeterminate": "In Progress", "done": "Done"}
            category = issue["category"]
            status: dict[str, Any] = {
                "self": f"{self.url}/rest/api/3/status/1",
                "name": names[category],
                "id": "1",
                "statusCategory": {
                    "self": f"{self.url}/rest/api/3/statuscategory/2",
                    "id": 2,
                    "key": category,
                    "colorName": "blue-gray",
                    "name": names[category],
                },
            }
            bean = {
                "id": "10001",
                "key": key,
                "self": f"{self.url}/rest/api/3/issue/{key}",
                "fields": {"status": status},
            }
            self.check(self.described.response_errors(self.GET, "get", 200, bean), "getIssue answer")
            status_schema: dict[str, Any] = {"$ref": "#/components/schemas/StatusDetails"}
            self.check(
                [e.message for e in self.described._validator(status_schema).iter_errors(status)],
                "status",
            )
            return 200, bean
        return 404, {"errorMessages": ["not found"]}


def serve(server: TicketServer) -> Iterator[TicketServer]:
    with server:
        yield server
