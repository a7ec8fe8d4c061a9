"""Several nodes of one deployment on this machine: gunicorn web servers and ``flask worker`` processes,
each node with an instance folder of its own, sharing nothing but the database; and an HTTP client for
them with the Flask test client's interface, so the tests' helpers (``file_form``, ``sign_in_staff``)
drive real servers over real sockets.

    node = Node("a", folder, env)          # env: what every process of the deployment shares
    node.start_web(); node.start_worker()
    client = NodeClient(node)              # cookies kept by the client, like a browser's
    client.via(other_node).get("/")        # the same browser sent to another node (no sticky sessions)
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

from werkzeug.test import Client
from werkzeug.wrappers import Response

from app import PROJECT_ROOT
from tests.support.http import free_port

#: Headers that belong to one hop, not to the message (RFC 9110 §7.6.1), and what http.client sets itself.
_NOT_FORWARDED = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


class RemoteApp:
    """A WSGI application that forwards each request to a server on a loopback port, as a reverse proxy does."""

    def __init__(self, port: int):
        self.port = port

    def __call__(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else None
        path = quote(environ["PATH_INFO"].encode("latin-1"), safe="/:@!$&'()*+,;=-._~")
        if environ.get("QUERY_STRING"):
            path += "?" + environ["QUERY_STRING"]
        headers = {key[5:].replace("_", "-").title(): value for key, value in environ.items()
                   if key.startswith("HTTP_") and key[5:].replace("_", "-").lower() not in _NOT_FORWARDED}
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            connection.request(environ["REQUEST_METHOD"], path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        start_response(f"{response.status} {response.reason}",
                       [(key, value) for key, value in response.getheaders() if key.lower() not in _NOT_FORWARDED])
        return [data]


class NodeClient(Client):
    """The Flask test client's interface (``get``, ``post``, ``get_data``, cookies) over HTTP to a node."""

    def __init__(self, node: Node):
        super().__init__(RemoteApp(node.port), Response, use_cookies=True)

    def via(self, node: Node) -> NodeClient:
        """Send this client's next requests (with its cookies) to ``node``."""
        self.application.port = node.port
        return self


def _gunicorn_command(port: int) -> list[str]:
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    command = [gunicorn, "--bind", f"127.0.0.1:{port}", "--workers", "1", "--log-level", "warning",
               "--graceful-timeout", "2"]
    help_text = subprocess.run([gunicorn, "--help"], capture_output=True, text=True).stdout
    if "--no-control-socket" in help_text:  # gunicorn 25+ would open a control socket under ~/.gunicorn
        command.append("--no-control-socket")
    return [*command, "app:create_app()"]


class Node:
    """One machine of the deployment: its instance folder, its web server, its worker.

    Logs go to ``folder/logs``, beside the instance folder and not in it: a test may then show that the
    instance folder holds nothing another node would need.
    """

    def __init__(self, name: str, folder: Path, env: dict[str, str]):
        self.name = name
        self.instance = folder / "instance"
        self.logs = folder / "logs"
        self.instance.mkdir(parents=True)
        self.logs.mkdir()
        self.env = {**env, "MADOGUCHI_INSTANCE_PATH": str(self.instance)}
        self.port = free_port()
        self.web: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None
        self.worker_starts = 0
        self.url = f"http://127.0.0.1:{self.port}"

    def _log(self, what: str):
        return (self.logs / f"{what}.log").open("ab")

    def start_web(self) -> None:
        with self._log("web") as log:
            self.web = subprocess.Popen(_gunicorn_command(self.port), env=self.env, cwd=PROJECT_ROOT,
                                        stdout=log, stderr=subprocess.STDOUT)

    def wait_for_web(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.web.poll() is not None:
                raise RuntimeError(f"node {self.name}: gunicorn exited with {self.web.returncode}: {self.log('web')}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.2)
            finally:
                connection.close()
        raise RuntimeError(f"node {self.name}: gunicorn did not answer /healthz: {self.log('web')}")

    def start_worker(self, **extra_env: str) -> None:
        self.worker_starts += 1
        with self._log("worker") as log:
            self.worker = subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "app", "worker"], cwd=PROJECT_ROOT,
                env={**self.env, **extra_env}, stdout=log, stderr=subprocess.STDOUT)

    def wait_for_worker(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while (self.logs / "worker.log").read_text(errors="replace").count("worker started") < self.worker_starts:
            if self.worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"node {self.name}: the worker did not start: {self.log('worker')}")
            time.sleep(0.1)

    def worker_id(self) -> str:
        """The id the worker claims jobs under (app.jobs.worker.worker_id)."""
        return f"{os.uname().nodename}:{self.worker.pid}"

    def flask(self, *args: str) -> subprocess.CompletedProcess:
        """A ``flask`` command on this node, as an operator would run it there."""
        return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=PROJECT_ROOT, env=self.env,
                              capture_output=True, text=True, timeout=300)

    def flask_async(self, *args: str) -> subprocess.Popen:
        """``flask`` started, not awaited: ``communicate()`` gives (stdout, stderr)."""
        return subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", *args], cwd=PROJECT_ROOT, env=self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def log(self, what: str) -> str:
        path = self.logs / f"{what}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def stop(self) -> None:
        for process in (self.worker, self.web):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in (self.worker, self.web):
            if process is not None:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
