"""HTTP face of the Graph stand-in: request parsing, batch requests, hangs and dropped sockets."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.disconnect import HANDLERS
from sandbox.graph import GraphApi
from sandbox.graph_call import GraphCall, Reply, Upload, split_version
from sandbox.graph_errors import GraphError, fbtrace_id, invalid_parameter
from sandbox.graph_versions import serve_version
from sandbox.runtime import Sandbox
from sandbox.transport import DropConnection, hold_until_client_leaves

MAX_BATCH = 50
JSON_TYPE = "application/json; charset=UTF-8"


def graph_json(reply: Reply) -> Response:
    """Graph's JSON: ASCII-escaped, with its content type and headers.

    ``x-fb-trace-id`` differs on every answer, and an error's is its body's ``fbtrace_id``
    (docs/platforms/facebook-graph.md#versions, docs/platforms/facebook-graph.md#errors): clients
    quote it when they report a problem to Meta.
    """
    error = reply.body.get("error") if isinstance(reply.body, dict) else None
    trace = error.get("fbtrace_id") if isinstance(error, dict) else None
    headers = {"x-fb-rev": "1019270000", "x-fb-trace-id": str(trace or fbtrace_id())}
    headers.update(reply.headers)
    body = json.dumps(reply.body, separators=(",", ":"))
    return Response(body, status_code=reply.status, headers=headers, media_type=JSON_TYPE)


async def perform(request: Request, reply: Reply, render: Any) -> Response:
    """Apply latency and transport faults, then render the reply."""
    if reply.delay_s > 0:
        await asyncio.sleep(reply.delay_s)
    if reply.transport == "drop":
        return DropConnection()
    if reply.transport == "hang":
        await hold_until_client_leaves(request, reply.hang_s)
    return render(reply)


async def read_params(request: Request) -> tuple[dict[str, Any], dict[str, Upload]]:
    """Query parameters merged with a form, multipart or JSON body (body wins)."""
    params: dict[str, Any] = dict(request.query_params)
    files: dict[str, Upload] = {}
    if request.method in ("POST", "DELETE", "PUT"):
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("application/json"):
            raw = await request.body()
            if raw.strip():
                try:
                    body = json.loads(raw)
                except ValueError:
                    raise invalid_parameter("Request body is not valid JSON") from None
                if isinstance(body, dict):
                    params.update(body)
        elif content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
            form = await request.form(max_part_size=16 * 1024 * 1024)
            for key, value in form.multi_items():
                if isinstance(value, UploadFile):
                    data = await value.read()
                    files[key] = Upload(value.filename, value.content_type, data)
                else:
                    params[key] = value
    return params, files


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer x`` or ``OAuth x`` header."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() in ("bearer", "oauth") and value.strip():
        return value.strip()
    return None


class GraphHttp:
    """Starlette endpoints around a :class:`GraphApi`."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox
        self.api = GraphApi(sandbox)

    async def endpoint(self, request: Request) -> Response:
        """Every Graph path: ``/{version}/{node}/{edge}`` or the batch root."""
        segments = [s for s in request.path_params.get("path", "").split("/") if s]
        version, path = split_version(segments)
        try:
            params, files = await read_params(request)
        except GraphError as error:
            return graph_json(Reply(error.status, error.body()))
        token = bearer_token(request.headers.get("authorization"))
        if token is None:
            token = params.pop("access_token", None)
        else:
            params.pop("access_token", None)
        proof = params.pop("appsecret_proof", None)
        prefix = str(request.base_url).rstrip("/")
        root = request.scope.get("root_path", "")
        if root and not prefix.endswith(root):
            prefix += root
        call = GraphCall(
            method=request.method,
            path=path,
            params=params,
            token=token,
            version=version,
            files=files,
            query={k: v for k, v in request.query_params.items() if k != "appsecret_proof"},
            url_prefix=prefix,
            proof=proof,
        )
        if not path and request.method == "POST" and "batch" in params:
            reply = await self.batch(call)
        else:
            reply = await self.api.serve(call)
        response = await perform(request, reply, graph_json)
        self.sb.save_if_dirty()
        return response

    async def batch(self, outer: GraphCall) -> Reply:
        """``POST /`` with ``batch=[...]``: at most 50 operations, answered in order."""
        try:
            outer.served_version = serve_version(outer.version, outer.path, self.sb.now())
            operations = self._parse_batch(outer.params.get("batch"))
            if outer.token:
                self.api.authenticate(outer)
        except GraphError as error:
            self.sb.record_request(
                api="graph",
                method="POST",
                path="/graph/batch",
                channel=None,
                status=error.status,
                error=error.code,
            )
            return Reply(error.status, error.body(), dict(error.headers))
        results: list[Any] = []
        named: dict[str, Any] = {}
        failed: set[str] = set()
        for operation in operations:
            element = await self._run_operation(outer, operation, named, failed)
            results.append(element)
        self.sb.record_request(
            api="graph", method="POST", path="/graph/batch", channel=None, status=200
        )
        return Reply(200, results)

    def _parse_batch(self, raw: Any) -> list[dict[str, Any]]:
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                raise invalid_parameter("The parameter batch must be a JSON array") from None
        if not isinstance(raw, list) or not raw:
            raise invalid_parameter("The parameter batch must be a non-empty JSON array")
        if len(raw) > MAX_BATCH:
            # Graph refuses the whole batch; code 1 with a batch-specific type [from memory].
            raise GraphError(
                1,
                f"Too many requests in batch message. Maximum batch size is {MAX_BATCH}",
                type_="GraphBatchException",
                transient=False,
            )
        for index, operation in enumerate(raw):
            if not isinstance(operation, dict) or "relative_url" not in operation:
                raise invalid_parameter(f"Batch entry {index} must have a relative_url")
        return raw

    async def _run_operation(
        self,
        outer: GraphCall,
        operation: dict[str, Any],
        named: dict[str, Any],
        failed: set[str],
    ) -> Any:
        name = operation.get("name")
        depends_on = operation.get("depends_on")
        if depends_on and (depends_on in failed or depends_on not in named):
            # The operation it waits for failed or never ran: Graph leaves a null there.
            if name:
                failed.add(name)
            return None
        relative_url = substitute_results(str(operation["relative_url"]), named)
        body = operation.get("body") or ""
        if isinstance(body, dict):
            body_params = {k: v for k, v in body.items()}
        else:
            body_params = dict(parse_qsl(substitute_results(str(body), named)))
        split = urlsplit(relative_url)
        query = dict(parse_qsl(split.query))
        segments = [s for s in split.path.split("/") if s]
        version, path = split_version(segments)
        if version is None:
            version = outer.version
        params = {**query, **body_params}
        token = None
        for header in operation.get("headers") or []:
            if str(header.get("name", "")).lower() == "authorization":
                token = bearer_token(header.get("value"))
        token = token or params.pop("access_token", None)
        params.pop("access_token", None)
        # An operation with its own token brings its own proof; one using the batch's token
        # is covered by the batch's proof.
        proof = params.pop("appsecret_proof", None)
        if token is None:
            token, proof = outer.token, outer.proof
        files = {}
        for file_name in str(operation.get("attached_files") or "").split(","):
            if file_name.strip() in outer.files:
                files["source"] = outer.files[file_name.strip()]
        call = GraphCall(
            method=str(operation.get("method") or "GET").upper(),
            path=path,
            params=params,
            token=token,
            version=version,
            files=files,
            query={k: v for k, v in query.items() if k not in ("access_token", "appsecret_proof")},
            url_prefix=outer.url_prefix,
            proof=proof,
        )
        reply = await self.api.serve(call)
        if reply.delay_s > 0:
            await asyncio.sleep(reply.delay_s)
        if reply.transport is not None:
            # A timed-out or dropped operation comes back as null (the Business SDK retries it).
            if name:
                failed.add(name)
            return None
        if name:
            if reply.status == 200:
                named[name] = reply.body
            else:
                failed.add(name)
        if name and reply.status == 200 and _truthy(operation.get("omit_response_on_success")):
            return None
        element: dict[str, Any] = {"code": reply.status}
        if _truthy(outer.params.get("include_headers", "true")):
            headers = [{"name": "Content-Type", "value": "text/javascript; charset=UTF-8"}]
            headers += [{"name": k, "value": v} for k, v in reply.headers.items()]
            element["headers"] = headers
        element["body"] = json.dumps(reply.body)
        return element


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "1")


def substitute_results(text: str, named: dict[str, Any]) -> str:
    """Replace ``{result=name:$.id}`` / ``$.data.0.id`` / ``$.data.*.id`` with earlier results."""

    def lookup(match: re.Match[str]) -> str:
        name, path = match.group(1), match.group(2)
        values: list[Any] = [named.get(name)]
        for part in path.lstrip("$.").split("."):
            if not part:
                continue
            next_values: list[Any] = []
            for value in values:
                if part == "*" and isinstance(value, list):
                    next_values.extend(value)
                elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                    next_values.append(value[int(part)])
                elif isinstance(value, dict) and part in value:
                    next_values.append(value[part])
            values = next_values
        return ",".join(str(v) for v in values)

    return re.sub(r"\{result=([^:}]+):([^}]*)\}", lookup, text)


def graph_app(sandbox: Sandbox) -> Starlette:
    """The Graph stand-in as an ASGI app (mounted at ``/graph``)."""
    http = GraphHttp(sandbox)
    methods = ["GET", "POST", "DELETE"]
    return Starlette(
        routes=[
            Route("/", http.endpoint, methods=methods),
            Route("/{path:path}", http.endpoint, methods=methods),
        ],
        exception_handlers=HANDLERS,
    )
