"""
A small Hub-API server on 127.0.0.1 for the push / reload tests (stdlib `http.server`, threaded, in memory).

Implements what huggingface_hub 2.4 and transformers call to push and download a model repo:
`POST /api/repos/create`, `POST /api/validate-yaml`, `POST /api/models/{repo}/preupload/{rev}` (every file is
"regular": inline base64 in the commit), `POST /api/models/{repo}/commit/{rev}` (NDJSON), `GET /api/models/{repo}`
(+ `/revision/{rev}`, `/tree/{rev}`), and `HEAD/GET /{repo}/resolve/{rev}/{path}`.
Run standalone with `python tests/hub/hub_server.py` (prints the port).
"""

import base64
import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlparse


class HubState:
    """Repos (`repo_id -> {path: bytes}`), their head commit, and every request seen (method, path, headers)."""

    def __init__(self):
        self.repos: dict[str, dict[str, bytes]] = {}
        self.heads: dict[str, str] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.lock = threading.Lock()


def _sha(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


class HubHandler(BaseHTTPRequestHandler):
    state: HubState  # set on the subclass made by `start_server`

    def log_message(self, format, *args):  # silence the default stderr access log
        pass

    # -- helpers ----------------------------------------------------------------------------------------------
    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None, ctype="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, data, headers=None):
        self._send(status, json.dumps(data).encode(), headers)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _record(self):
        with self.state.lock:
            self.state.requests.append((self.command, self.path, dict(self.headers)))

    def _repo_info(self, repo: str):
        files = self.state.repos[repo]
        return {"id": repo, "modelId": repo, "sha": self.state.heads[repo], "private": False, "tags": [],
                "siblings": [{"rfilename": p} for p in sorted(files)]}  # fmt: skip

    # -- verbs ------------------------------------------------------------------------------------------------
    def do_POST(self):
        self._record()
        path = urlparse(self.path).path
        body = self._body()
        if path == "/api/repos/create":
            data = json.loads(body)
            repo = f"{data['organization']}/{data['name']}" if data.get("organization") else data["name"]
            with self.state.lock:
                self.state.repos.setdefault(repo, {})
                self.state.heads.setdefault(repo, _sha(repo.encode()))
            return self._json(200, {"url": f"http://{self.headers['Host']}/{repo}", "name": repo, "id": repo})
        if path == "/api/validate-yaml":
            return self._json(200, {"errors": [], "warnings": []})
        match = re.fullmatch(r"/api/models/(.+?)/(preupload|commit)/([^/]+)", path)
        if not match or match.group(1) not in self.state.repos:
            return self._json(404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
        repo, action = match.group(1), match.group(2)
        if action == "preupload":
            files = json.loads(body)["files"]
            return self._json(200, {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                                              for f in files]})  # fmt: skip
        with self.state.lock:
            for line in body.decode().splitlines():
                item = json.loads(line)
                if item["key"] == "file":
                    self.state.repos[repo][item["value"]["path"]] = base64.b64decode(item["value"]["content"])
                elif item["key"] == "deletedFile":
                    self.state.repos[repo].pop(item["value"]["path"], None)
                elif item["key"] != "header":
                    return self._json(400, {"error": f"unsupported commit entry {item['key']}"})
            head = _sha(json.dumps(sorted((p, _sha(b)) for p, b in self.state.repos[repo].items())).encode())
            self.state.heads[repo] = head
        url = f"http://{self.headers['Host']}/{repo}/commit/{head}"
        return self._json(200, {"commitUrl": url, "commitOid": head, "pullRequestUrl": None})

    def do_GET(self):
        self._record()
        path = unquote(urlparse(self.path).path)
        match = re.fullmatch(r"/api/models/([^/]+/[^/]+)(?:/(revision|tree)/([^/]+)(/.*)?)?", path)
        if match:
            repo = match.group(1)
            if repo not in self.state.repos:
                return self._json(404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
            if match.group(2) == "tree":
                files = self.state.repos[repo]
                return self._json(200, [{"type": "file", "path": p, "size": len(b), "oid": _sha(b)}
                                        for p, b in sorted(files.items())])  # fmt: skip
            return self._json(200, self._repo_info(repo))
        return self._resolve(path)

    def do_HEAD(self):
        self._record()
        return self._resolve(unquote(urlparse(self.path).path))

    def _resolve(self, path: str):
        match = re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)
        if not match or match.group(1) not in self.state.repos:
            return self._json(404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
        repo, file = match.group(1), match.group(3)
        head = self.state.heads[repo]
        data = self.state.repos[repo].get(file)
        if data is None:
            return self._json(
                404, {"error": "Entry not found"}, {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": head}
            )
        headers = {"X-Repo-Commit": head, "ETag": f'"{_sha(data)}"'}
        return self._send(200, data, headers, ctype="application/octet-stream")


def start_server(state: HubState | None = None) -> tuple[ThreadingHTTPServer, HubState, str]:
    """Start the server on a free port in a daemon thread. Returns `(server, state, endpoint_url)`."""
    state = state or HubState()
    handler = type("BoundHubHandler", (HubHandler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, state, f"http://127.0.0.1:{server.server_address[1]}"


if __name__ == "__main__":
    srv, _, endpoint = start_server()
    print(endpoint, flush=True)
    threading.Event().wait()
