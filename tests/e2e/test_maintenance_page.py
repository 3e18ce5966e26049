"""The maintenance page as visitors and the kubelet see it: the router's Caddyfile the openedx chart renders in
maintenance, served by the real Caddy (the version of the chart's image, built by the kit), on 127.0.0.1."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
import yaml

from components.charts import PROJECT_DIR
from tests.charts.chart_render import template
from tests.e2e.conftest import Cluster

RETRY_AFTER = 900
CADDY_MODULE = "github.com/caddyserver/caddy/v2"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def request(port: int, headers: dict[str, str]) -> tuple[int, dict[str, str], str]:
    try:
        with urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/dashboard", headers=headers),
                                    timeout=5) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


@pytest.fixture(scope="module")
def maintenance_page(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    caddy = shutil.which("caddy", path=cluster.env["PATH"])
    assert caddy, "the kit has no caddy: run tests/e2e/kit.sh build"
    render = template("openedx", ("openedx-production.yaml",),
                      extra={"global": {"maintenance": {"enabled": True, "retryAfterSeconds": RETRY_AFTER}}})
    caddyfile = render.get("ConfigMap", "caddy-maintenance")["data"]["Caddyfile"]
    port = free_port()
    # What the pod serves on its containerPort, here on a free port of 127.0.0.1 (the only address the test uses).
    served = caddyfile.replace("http://:8080 {", f"http://:{port} {{").replace(
        "\tpersist_config off\n", "\tpersist_config off\n\tdefault_bind 127.0.0.1\n")
    assert served != caddyfile
    config = tmp_path_factory.mktemp("caddy") / "Caddyfile"
    config.write_text(served)
    process = subprocess.Popen([caddy, "run", "--config", str(config), "--adapter", "caddyfile"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={"HOME": str(config.parent), "PATH": cluster.env["PATH"]})
    try:
        deadline = time.monotonic() + 20
        while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
            assert process.poll() is None, process.communicate()[0]
            assert time.monotonic() < deadline, "caddy did not listen within 20 s"
            time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_visitors_get_503_with_retry_after_and_the_page(maintenance_page: int) -> None:
    status, headers, body = request(maintenance_page, {"Host": "learn.example.com", "User-Agent": "Mozilla/5.0"})
    assert status == 503
    assert headers["Retry-After"] == str(RETRY_AFTER)
    assert headers["Cache-Control"] == "no-store" and headers["Content-Type"].startswith("text/html")
    assert "<h1>Down for maintenance</h1>" in body


def test_the_kubelet_probe_still_finds_the_router_ready(maintenance_page: int) -> None:
    status, _, _ = request(maintenance_page, {"User-Agent": "kube-probe/1.36"})
    assert status == 200


def test_the_kit_caddy_is_the_version_of_the_chart_image() -> None:
    go_mod = (PROJECT_DIR / "tests/e2e/tools/caddy/go.mod").read_text()
    (version,) = re.findall(rf"^\s*{re.escape(CADDY_MODULE)} v(\S+)", go_mod, re.MULTILINE)
    image = yaml.safe_load((PROJECT_DIR / "charts/openedx/charts/caddy/values.yaml").read_text())["image"]
    assert image["tag"] == version
