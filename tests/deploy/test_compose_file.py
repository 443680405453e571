"""``deploy/compose.yaml`` checked part by part against what aims and the other services read.

No Docker engine runs here, so the containers are not started; every file the
services mount, every setting they share and every address one gives another
is checked instead. ``test_compose_processes.py`` runs the aims services'
own commands natively.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import tomllib
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from sqlalchemy.engine import make_url

from aims.settings import CONFIG_FILE, ENV_OVERRIDES, default_config, load_settings
from tests.deploy.compose import DEPLOY, ROOT, build_of, dockerfile, entrypoint, load, mounts
from tests.deploy.compose import published as ports_of

AIMS_SERVICES = ("aims", "monitor", "metrics-token")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load({})  # the defaults a first look on a laptop gets


def names_aims_reads() -> set[str]:
    """Every ``AIMS_*`` environment variable named in aims' source."""
    found: set[str] = set()
    for path in (ROOT / "src" / "aims").rglob("*.py"):
        found.update(re.findall(r"[\"'](AIMS_[A-Z0-9_]+)[\"']", path.read_text()))
    return found


def test_every_aims_variable_is_one_aims_reads_and_resolves_to_the_shared_stores(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    services = compose["services"]
    env = services["aims"]["environment"]
    for name in AIMS_SERVICES:
        assert services[name]["environment"] == env, name  # one environment for every part
    known = names_aims_reads()
    assert set(ENV_OVERRIDES) <= known
    unread = [n for n in env if n.startswith("AIMS_") and n not in known]
    assert not unread, f"compose.yaml sets variables aims never reads: {unread}"
    # what a workspace opened in the container resolves its stores to
    (tmp_path / CONFIG_FILE).write_text(yaml.safe_dump(default_config()))
    settings = load_settings(tmp_path, environ=env)
    assert settings.database_url == env["AIMS_DATABASE_URL"]
    assert settings.artifact_url == env["AIMS_ARTIFACT_URL"] == "s3://aims/artifacts"
    assert settings.prediction_log_url == env["AIMS_PREDICTION_LOG_URL"]
    assert settings.trace_log_url == env["AIMS_TRACE_LOG_URL"]
    assert env["AIMS_WORKSPACE"] in mounts(services["aims"])  # the workspace is a volume


def test_the_database_url_names_the_postgres_service_its_user_and_database(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    url = make_url(services["aims"]["environment"]["AIMS_DATABASE_URL"])
    pg = services["postgres"]["environment"]
    assert url.drivername == "postgresql+psycopg"  # installed by the postgres extra
    assert (url.host, url.port) == ("postgres", 5432)
    assert (url.username, url.password, url.database) == (
        pg["POSTGRES_USER"],
        pg["POSTGRES_PASSWORD"],
        pg["POSTGRES_DB"],
    )
    # a password set in the shell reaches both sides
    secret = load({"AIMS_DB_PASSWORD": "s3cr3t"})["services"]
    assert make_url(secret["aims"]["environment"]["AIMS_DATABASE_URL"]).password == "s3cr3t"
    assert secret["postgres"]["environment"]["POSTGRES_PASSWORD"] == "s3cr3t"
    assert services["aims"]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert "-U aims -d aims" in " ".join(services["postgres"]["healthcheck"]["test"])


def test_the_s3_settings_name_the_minio_service_its_credentials_and_its_bucket(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    env = services["aims"]["environment"]
    minio = services["minio"]
    endpoint = urlsplit(env["AWS_ENDPOINT_URL"])
    # MinIO serves the S3 API on 9000 unless --address says otherwise
    assert (endpoint.hostname, endpoint.port) == ("minio", 9000)
    assert "--address" not in minio["command"]
    assert env["AWS_ACCESS_KEY_ID"] == minio["environment"]["MINIO_ROOT_USER"]
    assert env["AWS_SECRET_ACCESS_KEY"] == minio["environment"]["MINIO_ROOT_PASSWORD"]
    buckets = {
        urlsplit(env[n]).netloc
        for n in ("AIMS_ARTIFACT_URL", "AIMS_PREDICTION_LOG_URL", "AIMS_TRACE_LOG_URL")
    }
    maker = services["minio-bucket"]
    script = " ".join(maker["command"])
    made = re.findall(r"mc mb (?:--ignore-existing )?local/([a-z0-9.-]+)", script)
    assert buckets == set(made) == {"aims"}
    assert "mc alias set local http://minio:9000 aims " in script
    assert maker["environment"]["MINIO_ROOT_PASSWORD"] == env["AWS_SECRET_ACCESS_KEY"]
    assert services["aims"]["depends_on"]["minio-bucket"] == {
        "condition": "service_completed_successfully"
    }


def test_ports_are_published_on_loopback_and_match_what_the_services_listen_on(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    for name, service in services.items():
        for host, _ in ports_of(service).values():
            assert host == "127.0.0.1", name  # nothing open beyond the host
    script, args = entrypoint(compose, "aims")
    assert args == ["serve"]
    text = script.read_text()
    serve = re.search(r"exec aims -w \"\$ws\" serve --host (\S+) --port (\d+)", text)
    assert serve, "the entrypoint's serve line changed; update this test"
    port = int(serve[2])
    assert serve[1] == "0.0.0.0"  # reachable from the other containers
    assert ports_of(services["aims"]) == {port: ("127.0.0.1", port)}
    health = " ".join(services["aims"]["healthcheck"]["test"])
    assert f"http://127.0.0.1:{port}/readyz" in health
    assert f"http://aims:{port}/v1/auth/token" in text
    # Prometheus, Grafana and the MinIO console on their images' default ports
    assert ports_of(services["prometheus"]) == {9090: ("127.0.0.1", 9090)}
    assert ports_of(services["grafana"]) == {3000: ("127.0.0.1", 3000)}
    assert "--console-address :9001" in services["minio"]["command"]
    assert ports_of(services["minio"]) == {9001: ("127.0.0.1", 9001)}


def test_prometheus_scrapes_the_aims_listener_with_the_token_the_token_service_writes(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    prom = mounts(services["prometheus"])
    config = yaml.safe_load((DEPLOY / prom["/etc/prometheus/prometheus.yml"]).read_text())
    [job] = config["scrape_configs"]
    [target] = job["static_configs"][0]["targets"]
    host, port = target.split(":")
    assert host == "aims" and int(port) in ports_of(services["aims"])
    assert job["metrics_path"] == "/metrics"  # scraped for real in test_compose_processes.py
    # the bearer token file: written by metrics-token into the volume Prometheus mounts
    credentials = PurePosixPath(job["authorization"]["credentials_file"])
    volume = prom[str(credentials.parent)]
    token_mounts = mounts(services["metrics-token"])
    [written_dir] = [target for target, source in token_mounts.items() if source == volume]
    script, args = entrypoint(compose, "metrics-token")
    assert args == ["metrics-token"]
    assert f'os.replace("{written_dir}/aims-token.tmp", "{written_dir}/{credentials.name}")' in (
        script.read_text()
    )
    # the alert rules file it loads is mounted next to the configuration
    for rules in config["rule_files"]:
        mounted = prom[str(PurePosixPath("/etc/prometheus") / rules)]
        groups = yaml.safe_load((DEPLOY / mounted).read_text())["groups"]
        assert groups and all(g["rules"] for g in groups)


def test_grafana_provisioning_files_exist_parse_and_point_at_prometheus_and_the_dashboard(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    grafana = mounts(services["grafana"])
    for source in grafana.values():
        assert (DEPLOY / source).is_file(), source
    sources = yaml.safe_load(
        (DEPLOY / grafana["/etc/grafana/provisioning/datasources/aims.yml"]).read_text()
    )
    [datasource] = sources["datasources"]
    url = urlsplit(datasource["url"])
    assert datasource["type"] == "prometheus"
    assert (url.hostname, url.port) == ("prometheus", 9090)
    assert "prometheus" in services["grafana"]["depends_on"]
    boards = yaml.safe_load(
        (DEPLOY / grafana["/etc/grafana/provisioning/dashboards/aims.yml"]).read_text()
    )
    [provider] = boards["providers"]
    folder = provider["options"]["path"]
    dashboards = [t for t in grafana if PurePosixPath(t).parent == PurePosixPath(folder)]
    assert dashboards, f"no dashboard mounted in {folder}"
    for target in dashboards:
        board = json.loads((DEPLOY / grafana[target]).read_text())
        assert board["panels"] and board["title"]


def test_every_mount_volume_and_dependency_exists(compose: dict[str, Any]) -> None:
    services = compose["services"]
    volumes = set(compose["volumes"])
    for name, service in services.items():
        for source in mounts(service).values():
            if source.startswith("./"):
                assert (DEPLOY / source).is_file(), (name, source)
            else:
                assert source in volumes, (name, source)
        depends = service.get("depends_on", [])
        for other in depends:
            assert other in services, (name, other)


def test_the_entrypoint_is_valid_sh_and_its_embedded_python_compiles(
    compose: dict[str, Any],
) -> None:
    script, _ = entrypoint(compose, "aims")
    checked = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    text = script.read_text()
    for block in re.findall(r"<<'PY'\n(.*?)\nPY\n", text, flags=re.S):
        compile(block, f"{script.name} (python block)", "exec")
    for snippet in re.findall(r"python -c '([^']*)'", text):
        compile(snippet, f"{script.name} (python -c)", "exec")
    # every command a service gives is one the script handles
    for name in AIMS_SERVICES:
        [command] = entrypoint(compose, name)[1]
        assert f"\n  {command})" in text, name


def test_the_dockerfile_installs_extras_that_exist_and_copies_files_that_exist(
    compose: dict[str, Any],
) -> None:
    build = build_of(compose, "aims")
    context, steps = dockerfile(build)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    installs = [rest for keyword, rest in steps if keyword == "RUN" and "pip install" in rest]
    assert installs
    for line in installs:
        [target] = [w for w in shlex.split(line) if w.startswith(".[")]
        extras = target[2:-1].split(",")
        missing = set(extras) - set(project["optional-dependencies"])
        assert not missing, f"the Dockerfile installs extras pyproject.toml lacks: {missing}"
        assert {"server", "postgres", "s3"} <= set(extras)
    for keyword, rest in steps:
        if keyword == "COPY":
            for source in shlex.split(rest)[:-1]:
                assert (context / source).exists(), source
    [base] = [rest for keyword, rest in steps if keyword == "FROM"]
    version = tuple(int(p) for p in re.search(r"python:(\d+)\.(\d+)", base).groups())  # type: ignore[union-attr]
    lowest = tuple(int(p) for p in re.findall(r"\d+", project["requires-python"])[:2])
    assert version >= lowest, (base, project["requires-python"])
