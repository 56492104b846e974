"""The front end's nginx (images/frontend/nginx) in front of a real API, outside a container, for the API's tests.

Rendered the way the image's entrypoint renders it and images/frontend/tests/support/nginx.ts does: the image's own
05-herd-check-env.sh writes the include files (its /tmp/herd moved to a private directory), the template is
envsubst'ed with the defined variables only, and the container-fixed facts are moved (every /tmp path to the run
directory, the two listen ports to free 127.0.0.1 ports, the web root to a small directory). Everything else is the
file the image runs. nginx runs as nobody when the tests run as root, as the image runs it unprivileged.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from servers import AS_ROOT, free_port, wait_for

NGINX_DIR = Path(__file__).resolve().parents[2] / "frontend" / "nginx"
NOBODY = 65534


def nginx_binary() -> str | None:
    return shutil.which("nginx") or (("/usr/sbin/nginx") if os.path.exists("/usr/sbin/nginx") else None)


def nginx_missing() -> str | None:
    if nginx_binary() is None:
        return "nginx not found (apt-get install nginx)"
    if not os.path.exists("/etc/nginx/mime.types"):
        return "/etc/nginx/mime.types is missing (apt-get install nginx)"
    return None


def envsubst(text: str, env: Mapping[str, str]) -> str:
    """envsubst "$defined_envs": only ${NAME} / $NAME of the given variables; nginx's own $variables stay."""

    def sub(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return env[name] if name in env else match.group(0)

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)", sub, text)


def _replace(text: str, old: str, new: str, where: str, count: int | None = None) -> str:
    found = text.count(old)
    if found == 0 or (count is not None and found != count):
        raise AssertionError(f"{where}: expected {old!r} {count or 'at least once'}, found it {found} time(s)")
    return text.replace(old, new)


@dataclass
class NginxFront:
    process: subprocess.Popen[bytes]
    port: int
    run_dir: Path

    @property
    def log_path(self) -> Path:
        return self.run_dir / "nginx.log"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.run_dir, ignore_errors=True)


def start_nginx(api_upstream: str, env: Mapping[str, str]) -> NginxFront:
    """Renders and starts the front end's nginx on a free port, proxying /api/ to ``api_upstream`` (host:port)."""
    binary = nginx_binary()
    assert binary is not None, nginx_missing()
    run_dir = Path(tempfile.mkdtemp(prefix="herd-api-nginx-"))
    run_dir.chmod(0o755)
    conf_dir, render_dir, root = run_dir / "conf", run_dir / "herd", run_dir / "html"
    for d in (conf_dir, render_dir, root):
        d.mkdir()
    (root / "index.html").write_text("<!doctype html><title>herd</title>\n")
    port, redirect_port = free_port(), free_port()
    full_env = {"API_UPSTREAM": api_upstream, "NGINX_ENVSUBST_OUTPUT_DIR": "/tmp", **env}

    script = _replace(
        (NGINX_DIR / "05-herd-check-env.sh").read_text(), "\nHERD_CONF_DIR=/tmp/herd\n",
        f"\nHERD_CONF_DIR={render_dir}\n", "05-herd-check-env.sh", 1,
    )
    check = subprocess.run(
        ["sh", "-c", script, "05-herd-check-env.sh"], env={"PATH": os.environ.get("PATH", ""), **full_env},
        capture_output=True, text=True, timeout=30,
    )
    if check.returncode != 0:
        shutil.rmtree(run_dir, ignore_errors=True)
        raise AssertionError(f"05-herd-check-env.sh failed ({check.returncode}): {check.stderr}")

    main = _replace((NGINX_DIR / "nginx.conf").read_text(), " /tmp/", f" {run_dir}/", "nginx.conf")
    (conf_dir / "nginx.conf").write_text(main)
    shutil.copy("/etc/nginx/mime.types", conf_dir / "mime.types")
    server = envsubst((NGINX_DIR / "server.conf.template").read_text(), full_env)
    server = _replace(server, "/tmp/herd/", f"{render_dir}/", "server.conf.template")
    server = _replace(server, "listen 8080 default_server;", f"listen 127.0.0.1:{port} default_server;",
                      "server.conf.template", 1)
    server = _replace(server, "listen 8081;", f"listen 127.0.0.1:{redirect_port};", "server.conf.template", 1)
    server = _replace(server, "root /usr/share/nginx/html;", f"root {root};", "server.conf.template", 1)
    (render_dir / "server.conf").write_text(server)
    if AS_ROOT:
        for path in (run_dir, *run_dir.rglob("*")):
            os.chown(path, NOBODY, NOBODY)

    log_file = run_dir / "nginx.log"
    with open(log_file, "wb") as log:
        if AS_ROOT:
            os.chown(log_file, NOBODY, NOBODY)
        process = subprocess.Popen(
            [binary, "-c", str(conf_dir / "nginx.conf"), "-p", f"{run_dir}/", "-e", "stderr", "-g", "daemon off;"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            **({"user": NOBODY, "group": NOBODY, "extra_groups": []} if AS_ROOT else {}),
        )
    front = NginxFront(process=process, port=port, run_dir=run_dir)

    def up() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"nginx exited with {process.returncode}:\n{front.log()}")
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return bool(response.status == 200)

    try:
        wait_for(up, 15, "nginx /healthz")
    except BaseException:
        log_text = front.log()
        front.stop()
        raise AssertionError(f"nginx did not start:\n{log_text}") from None
    return front
