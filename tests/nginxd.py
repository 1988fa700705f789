"""Real web servers for the tests that check redirects end to end: a real nginx (Debian package,
see scripts/ensure-nginx.sh) serving an emitted config on a free loopback port, and the two
things every server test needs (wait until a server listens, ask it a URL)."""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from bascule.redirects.nginx import HTTP_CONF, SERVER_CONF
from samples import OLD


def nginx_bin() -> str:
    b = shutil.which("nginx") or "/usr/sbin/nginx"
    assert os.path.exists(b), "nginx is missing: run scripts/ensure-nginx.sh"
    return b


def write_nginx_conf(root: Path, conf_dir: Path, port: int) -> Path:
    for d in ("logs", "tmp"):
        (root / d).mkdir(parents=True, exist_ok=True)
    conf = root / "nginx.conf"
    conf.write_text(f"""
daemon off;
master_process off;
worker_processes 1;
pid {root}/logs/nginx.pid;
error_log {root}/logs/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {root}/logs/access.log;
    client_body_temp_path {root}/tmp/body;
    proxy_temp_path {root}/tmp/proxy;
    fastcgi_temp_path {root}/tmp/fastcgi;
    uwsgi_temp_path {root}/tmp/uwsgi;
    scgi_temp_path {root}/tmp/scgi;
    default_type application/octet-stream;
    include {conf_dir}/{HTTP_CONF};
    server {{
        listen 127.0.0.1:{port};
        server_name {OLD};
        include {conf_dir}/{SERVER_CONF};
        location / {{ return 404 "passthrough\\n"; }}
    }}
}}
""")
    return conf


def nginx_test(root: Path, conf: Path) -> subprocess.CompletedProcess:
    return subprocess.run([nginx_bin(), "-t", "-p", str(root), "-e", str(root / "logs/error.log"),
                           "-c", str(conf)], capture_output=True, text=True, timeout=600)


def wait_port(port: int, proc: subprocess.Popen, log: Path | None = None,
              timeout: float = 30.0) -> None:
    """Until ``proc`` listens on ``port`` (bounded); its stderr and ``log`` if it exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:  # poll the port until the server listens (bounded)
        if proc.poll() is not None:
            raise AssertionError(f"server exited {proc.returncode}: "
                                 f"{proc.stderr.read().decode() if proc.stderr else ''}"
                                 f"{log.read_text() if log and log.exists() else ''}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.005)
    raise AssertionError("server did not listen")


def get(port: int, url: str) -> tuple[int, dict, str]:
    """GET ``url`` with the old host's Host header: (status, headers lower-cased, body)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", url, headers={"Host": OLD})
    r = c.getresponse()
    body = r.read().decode("utf-8", "replace")
    h = {k.lower(): v for k, v in r.getheaders()}
    c.close()
    return r.status, h, body


class Nginx:
    def __init__(self, root: Path, conf: Path, port: int, start_timeout: float = 30.0):
        self.port = port
        self.proc = subprocess.Popen([nginx_bin(), "-p", str(root), "-e", str(root / "logs/error.log"),
                                      "-c", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.root = root
        wait_port(port, self.proc, root / "logs/error.log", start_timeout)

    def get(self, url: str) -> tuple[int, dict, str]:
        return get(self.port, url)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            self.proc.kill()
            self.proc.wait()
