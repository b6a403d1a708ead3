"""Static checks of docker-compose.yml, the Dockerfile, .env.example and prometheus.yml."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from core.settings import Settings
from tests.deploy.redis_acl import (
    ACL_SCRIPT,
    SERVICE_USERS,
    USERS,
    acl_rules,
    dangerous_grants,
    password_variable,
    run_acl_script,
    sample_passwords,
    write_acl,
)

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
PROMETHEUS_FILE = ROOT / "prometheus" / "prometheus.yml"
DASHBOARD_PROVIDER_FILE = ROOT / "grafana" / "provisioning" / "dashboards" / "lifeboat.yml"
DATASOURCE_FILE = ROOT / "grafana" / "provisioning" / "datasources" / "prometheus.yml"

SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|AUTH", re.IGNORECASE)
# ${NAME...} or $NAME, but not the escaped $$ of a healthcheck's shell variable
INTERPOLATION = re.compile(r"(?<!\$)\$\{(\w+)([^}]*)\}|(?<!\$)\$([A-Za-z_]\w*)")
APP_SERVICES = ("web", "worker", "reports-worker", "beat", "flower")
# Services whose UI or API would be reachable from other hosts if published on every
# interface: Flower and Grafana have a login, Prometheus and cAdvisor none.
LOOPBACK_BY_DEFAULT = ("flower", "grafana", "prometheus", "cadvisor")
# ${NAME:-default} in a port mapping, as compose resolves it when NAME is unset
DEFAULTED = re.compile(r"\$\{\w+:-([^}]*)\}")
REQUIRED_SERVICES = {
    "redis",
    "web",
    "worker",
    "reports-worker",
    "beat",
    "flower",
    "celery-exporter",
    "prometheus",
    "grafana",
    "cadvisor",
    "redis-exporter",
    "minio",
    "minio-init",
}
# Services that run once at start and exit: nothing to probe, restarted only on failure.
ONE_SHOT = ("minio-init",)
STORAGE_SERVICES = ("web", "worker", "reports-worker")  # they read and write stored files
# What each image family is known to contain for a healthcheck (checked against the
# images' Dockerfiles): python:slim has neither curl nor wget; the others are
# Alpine or BusyBox based and have wget, not curl.
HEALTHCHECK_TOOLS = {
    "lifeboat": {"python", "celery"},
    "danihodovic/celery-exporter": {"python"},
    "redis": {"redis-cli"},
    "oliver006/redis_exporter": {"wget"},
    "gcr.io/cadvisor/cadvisor": {"wget"},
    "prom/prometheus": {"wget"},
    "grafana/grafana": {"wget"},
    # the server image ships MinIO's client (`mc ready local` asks its health API)
    "minio/minio": {"mc"},
}
PROMETHEUS_JOBS = {
    "lifeboat-web",
    "lifeboat-worker",
    "celery-exporter",
    "flower",
    "cadvisor",
    "redis",
    "prometheus",
}

COMPOSE = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
SERVICES: dict[str, dict] = COMPOSE["services"]


def split_image(image: str) -> tuple[str, str]:
    """Return (repository, tag) of an image reference; the tag is '' when absent."""
    image = image.split("@", 1)[0]
    repository, _, last = image.rpartition("/")
    name, _, tag = last.partition(":")
    return (f"{repository}/{name}" if repository else name), tag


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def volume_mounts(service: dict) -> list[tuple[str, str, str]]:
    """Return (source, target, mode) for every volume of a service."""
    mounts = []
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            mode = "ro" if volume.get("read_only") else "rw"
            mounts.append((volume.get("source", ""), volume["target"], mode))
            continue
        parts = volume.split(":")
        if len(parts) == 1:  # anonymous volume
            mounts.append(("", parts[0], "rw"))
        else:
            mounts.append((parts[0], parts[1], parts[2] if len(parts) > 2 else "rw"))
    return mounts


def is_bind_source(source: str) -> bool:
    return source.startswith((".", "/", "~"))


def healthcheck_command(test: list[str] | str) -> str:
    """First program a healthcheck runs, skipping leading VAR=value assignments."""
    if isinstance(test, str):
        words = test.split()
    elif test[0] == "CMD-SHELL":
        words = test[1].split()
    else:
        words = test[1:]
    words = [word for word in words if not re.match(r"^\w+=", word)]
    return words[0]


def interpolations() -> list[tuple[str, str]]:
    """(variable name, modifier such as ':?message' or ':-default') of every ${...}."""
    lines = COMPOSE_FILE.read_text(encoding="utf-8").splitlines()
    text = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
    return [
        (braced or bare, modifier if braced else "")
        for braced, modifier, bare in INTERPOLATION.findall(text)
    ]


def test_every_required_service_is_defined():
    assert set(SERVICES) >= REQUIRED_SERVICES


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_service_image_is_pinned_to_a_version(name):
    image = SERVICES[name].get("image")
    assert image, f"{name} has no image name (services built locally need one too)"
    _, tag = split_image(image)
    assert tag, f"{name}: {image} has no tag"
    assert tag != "latest", f"{name}: {image} floats with latest"
    # MinIO names its releases by date (RELEASE.2025-04-22T22-12-26Z)
    assert re.search(r"\d+\.\d+|^RELEASE\.\d{4}-\d\d-\d\dT", tag), (
        f"{name}: {image} tag is not a version"
    )


LONG_RUNNING = sorted(set(SERVICES) - set(ONE_SHOT))


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_service_has_a_healthcheck(name):
    healthcheck = SERVICES[name].get("healthcheck")
    assert healthcheck, f"{name} has no healthcheck"
    assert not healthcheck.get("disable"), f"{name} disables its healthcheck"
    assert healthcheck.get("test") not in (None, [], ["NONE"]), f"{name} has an empty test"


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_service_healthcheck_uses_a_tool_its_image_contains(name):
    repository, tag = split_image(SERVICES[name]["image"])
    assert repository in HEALTHCHECK_TOOLS, f"{name}: no known tools for image {repository}"
    command = healthcheck_command(SERVICES[name]["healthcheck"]["test"])
    assert command in HEALTHCHECK_TOOLS[repository], (
        f"{name}: {command!r} is not known to exist in {repository}"
    )
    if repository == "oliver006/redis_exporter":
        # the default redis_exporter image is FROM scratch: only -alpine has wget
        assert tag.endswith("-alpine"), f"{name}: {tag} has no shell tools"


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_service_restarts_after_a_crash(name):
    assert SERVICES[name].get("restart") in {"always", "unless-stopped", "on-failure"}


@pytest.mark.parametrize("name", ONE_SHOT)
def test_one_shot_service_is_restarted_only_when_it_fails(name):
    assert SERVICES[name].get("restart") == "on-failure"


def test_every_bind_mounted_repository_path_exists():
    missing = [
        f"{name}: {source}"
        for name, service in SERVICES.items()
        for source, _, _ in volume_mounts(service)
        if source.startswith(".") and not (ROOT / source).exists()
    ]
    assert not missing


def test_host_system_paths_are_mounted_read_only():
    writable = [
        f"{name}: {source}"
        for name, service in SERVICES.items()
        for source, _, mode in volume_mounts(service)
        if source.startswith(("/", "~")) and "ro" not in mode.split(",")
    ]
    assert not writable


def test_repository_config_files_are_mounted_read_only():
    writable = [
        f"{name}: {source}"
        for name, service in SERVICES.items()
        for source, _, mode in volume_mounts(service)
        if source.startswith(".") and "ro" not in mode.split(",")
    ]
    assert not writable


def test_every_named_volume_is_declared():
    declared = set(COMPOSE.get("volumes") or {})
    used = {
        source
        for service in SERVICES.values()
        for source, _, _ in volume_mounts(service)
        if source and not is_bind_source(source)
    }
    assert used <= declared, f"undeclared volumes: {sorted(used - declared)}"


@pytest.mark.parametrize(
    ("name", "target"),
    [
        ("redis", "/data"),
        ("prometheus", "/prometheus"),
        ("grafana", "/var/lib/grafana"),
        ("minio", "/data"),
    ],
)
def test_state_lives_in_a_named_volume(name, target):
    sources = {t: s for s, t, _ in volume_mounts(SERVICES[name])}
    assert target in sources, f"{name} keeps {target} in the container layer"
    assert sources[target]
    assert not is_bind_source(sources[target])


def test_no_secret_is_interpolated_with_a_default_or_optionally():
    weak = [
        f"${{{name}{modifier}}}"
        for name, modifier in interpolations()
        if SECRET_NAME.search(name) and not modifier.startswith(":?")
    ]
    assert not weak, "secrets must use ${VAR:?message}"


def test_no_secret_has_a_literal_value_in_the_environment():
    literal = [
        f"{name}: {key}"
        for name, service in SERVICES.items()
        for key, value in environment(service).items()
        # GF_AUTH_ANONYMOUS_ENABLED: "false" is a switch, not a secret
        if SECRET_NAME.search(key) and "${" not in value and value not in {"true", "false"}
    ]
    assert not literal


def test_env_example_documents_every_variable_the_compose_file_reads():
    documented = set(
        re.findall(
            r"^#?\s*([A-Z][A-Z0-9_]*)=",
            (ROOT / ".env.example").read_text(encoding="utf-8"),
            re.MULTILINE,
        )
    )
    read = {name for name, _ in interpolations()}
    assert read <= documented, f"undocumented: {sorted(read - documented)}"


def test_env_example_ships_no_secret_value():
    filled = [
        line
        for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
        if re.match(r"^[A-Z][A-Z0-9_]*=\S", line) and SECRET_NAME.search(line.split("=", 1)[0])
    ]
    assert not filled


@pytest.mark.parametrize("name", ["worker", "reports-worker"])
def test_worker_can_be_scaled_with_docker_compose_scale(name):
    worker = SERVICES[name]
    assert "container_name" not in worker
    host_ports = [port for port in worker.get("ports", []) if ":" in str(port)]
    assert not host_ports, "a fixed host port allows a single worker replica"


def test_services_using_redis_wait_until_it_is_healthy():
    not_waiting = [
        name
        for name in (*APP_SERVICES, "celery-exporter", "redis-exporter")
        if (SERVICES[name].get("depends_on") or {}).get("redis", {}).get("condition")
        != "service_healthy"
    ]
    assert not not_waiting


def test_redis_keeps_an_append_only_file_and_never_evicts():
    command = " ".join(SERVICES["redis"]["command"])
    assert "--appendonly yes" in command
    assert "--appendfsync ${LIFEBOAT_REDIS_APPENDFSYNC:-everysec}" in command
    assert "--maxmemory-policy noeviction" in command
    assert "--requirepass" not in command, "users and passwords come from the ACL file only"


def test_redis_writes_its_acl_file_with_the_mounted_script_and_loads_it():
    command = SERVICES["redis"]["command"]
    mounts = {target: source for source, target, _ in volume_mounts(SERVICES["redis"])}
    script, acl_file = command[1], command[2]
    assert command[0] == "sh"
    assert mounts[script] == "./" + ACL_SCRIPT.relative_to(ROOT).as_posix()
    assert command[3] == "redis-server"
    assert " ".join(command[4:6]) == f"--aclfile {acl_file}"
    # the ACL file holds every password: in the container's tmpfs, never in the volume
    assert acl_file.startswith("/tmp/")
    assert "/tmp" in SERVICES["redis"]["tmpfs"]
    assert SERVICES["redis"]["user"] == "redis"


def test_redis_gets_every_acl_users_password_from_the_env_file():
    env = environment(SERVICES["redis"])
    expected = {password_variable(user) for user in USERS}
    assert {name for name in env if name.startswith("REDIS_PASSWORD")} == expected
    for name in expected:
        assert env[name].startswith(f"${{{name}:?"), f"{name} is not required"


def redis_user_of(name: str) -> tuple[str, str]:
    """(user, password as written) with which a service connects to Redis."""
    env = environment(SERVICES[name])
    if name == "redis-exporter":
        return env["REDIS_USER"], env["REDIS_PASSWORD"]
    url = env["CE_BROKER_URL" if name == "celery-exporter" else "LIFEBOAT_REDIS_URL"]
    match = re.fullmatch(r"redis://([\w-]+):(\$\{[^}]+\})@redis:6379/0", url)
    assert match, f"{name}: {url} names no user and password"
    return match[1], match[2]


@pytest.mark.parametrize("name", sorted(SERVICE_USERS))
def test_every_service_connects_to_redis_as_its_own_user(name):
    user, password = redis_user_of(name)
    assert user == SERVICE_USERS[name]
    assert password.startswith(f"${{{password_variable(user)}:?")


def test_the_acl_file_has_exactly_the_users_services_connect_as(tmp_path):
    users = acl_rules(write_acl(tmp_path / "users.acl", sample_passwords()))
    assert set(users) == {"default", *USERS}
    assert users["default"][0] == "off"


def test_the_keda_user_is_written_only_when_its_password_is_set(tmp_path):
    without = acl_rules(write_acl(tmp_path / "without.acl", sample_passwords()))
    assert "keda" not in without
    passwords = {**sample_passwords(), "keda": "sample-keda-0123456789abcdef"}
    rules = acl_rules(write_acl(tmp_path / "with.acl", passwords))["keda"]
    assert [r for r in rules if r.startswith("+")] == [
        *("+ping", "+select", "+echo", "+client|setname", "+client|getname", "+client|id"),
        *("+eval", "+type", "+llen"),
    ]
    assert [r for r in rules if r.startswith("~")] == [
        "~predictions*",
        "~batches*",
        "~reports*",
        "~webhooks*",
        "~shadow*",
    ]
    assert not [r for r in rules if r.startswith("&")], "no pub/sub channel"


def test_no_redis_user_may_run_a_dangerous_command(tmp_path):
    users = acl_rules(write_acl(tmp_path / "users.acl", sample_passwords()))
    for user, rules in users.items():
        assert "-@all" in rules, f"{user} does not start from no command at all"
        assert rules.index("-@all") < min(
            (i for i, rule in enumerate(rules) if rule.startswith("+")), default=len(rules)
        )
        assert not dangerous_grants(rules), f"{user} may run {dangerous_grants(rules)}"


def test_only_the_web_and_the_workers_may_touch_lifeboats_keys(tmp_path):
    users = acl_rules(write_acl(tmp_path / "users.acl", sample_passwords()))
    with_app_keys = {user for user, rules in users.items() if "~lifeboat:*" in rules}
    assert with_app_keys == {"web", "worker"}
    assert not [user for user, rules in users.items() if "~*" in rules or "allkeys" in rules]


def test_the_acl_file_is_readable_by_its_owner_only(tmp_path):
    acl_file = write_acl(tmp_path / "users.acl", sample_passwords())
    assert acl_file.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("password", "complaint"),
    [("", "is not set"), ("short-1234", "at least 16"), ("has space 0123456789", "only")],
)
def test_the_acl_script_refuses_a_missing_or_weak_password(tmp_path, password, complaint):
    variables = {password_variable(user): pw for user, pw in sample_passwords().items()}
    variables[password_variable("web")] = password
    done = run_acl_script(tmp_path / "users.acl", variables)
    assert done.returncode != 0
    assert complaint in done.stderr
    assert not list(tmp_path.iterdir()), "a partial ACL file (with passwords) was left"


def host_ip(port: str) -> str:
    """The host address a short-syntax port mapping binds when no variable is set."""
    resolved = DEFAULTED.sub(lambda m: m[1], port)
    parts = resolved.split(":")
    return parts[0] if len(parts) == 3 else "0.0.0.0"


@pytest.mark.parametrize("name", LOOPBACK_BY_DEFAULT)
def test_monitoring_uis_bind_loopback_unless_configured_otherwise(name):
    ports = [str(port) for port in SERVICES[name]["ports"]]
    assert ports
    assert all(host_ip(port) == "127.0.0.1" for port in ports), ports
    assert all(port.startswith("${") for port in ports), f"{name}: the address is not settable"


def test_only_the_web_api_is_published_on_every_interface_by_default():
    public = [
        name
        for name, service in SERVICES.items()
        for port in service.get("ports", [])
        if host_ip(str(port)) != "127.0.0.1"
    ]
    assert public == ["web"]


def test_app_processes_run_the_agreed_commands():
    commands = {name: " ".join(SERVICES[name]["command"]) for name in APP_SERVICES}
    assert commands["web"] == "gunicorn -c web/gunicorn_conf.py web.app:create_app()"
    for worker, queues, node in (
        ("worker", "predictions,batches", "scoring"),
        ("reports-worker", "reports,webhooks,shadow", "reports"),
    ):
        assert commands[worker].startswith("celery -A workers.celery_app:app worker")
        assert f"-Q {queues} " in commands[worker]
        assert f"--hostname={node}@%h" in commands[worker]
        healthcheck = " ".join(SERVICES[worker]["healthcheck"]["test"])
        assert f'--destination "{node}@$$HOSTNAME"' in healthcheck
    assert commands["beat"].startswith("celery -A workers.celery_app:app beat")
    assert commands["flower"] == "celery -A workers.celery_app:app flower --port=5555"


def test_flower_requires_basic_auth_from_the_environment():
    value = environment(SERVICES["flower"]).get("FLOWER_BASIC_AUTH", "")
    assert value.startswith("${FLOWER_BASIC_AUTH:?")


def test_grafana_admin_password_is_required():
    value = environment(SERVICES["grafana"]).get("GF_SECURITY_ADMIN_PASSWORD", "")
    assert value.startswith("${GRAFANA_ADMIN_PASSWORD:?")


def test_scoring_workers_are_capped_in_memory_and_reports_workers_are_not():
    assert "LIFEBOAT_WORKER_MAX_MEMORY_MB" not in environment(SERVICES["worker"])  # default 400
    assert environment(SERVICES["reports-worker"])["LIFEBOAT_WORKER_MAX_MEMORY_MB"] == "0"


def test_scoring_workers_take_their_pool_size_from_the_env_file():
    assert environment(SERVICES["worker"])["LIFEBOAT_WORKER_CONCURRENCY"].startswith(
        "${LIFEBOAT_WORKER_CONCURRENCY:-"
    )
    assert "--concurrency" not in " ".join(SERVICES["worker"]["command"])
    assert "--concurrency=1" in SERVICES["reports-worker"]["command"]


def test_each_app_container_keeps_its_metrics_directory_private():
    for name in APP_SERVICES:
        metrics_dir = environment(SERVICES[name])["LIFEBOAT_METRICS_DIR"]
        assert "/tmp" in SERVICES[name].get("tmpfs", []), f"{name}: /tmp is not a tmpfs"
        assert metrics_dir.startswith("/tmp/"), f"{name}: {metrics_dir} may be shared"
        shared = [t for s, t, _ in volume_mounts(SERVICES[name]) if metrics_dir.startswith(t)]
        assert not shared, f"{name}: {metrics_dir} is inside a volume"


def test_web_listens_on_every_interface_of_its_container():
    assert environment(SERVICES["web"])["LIFEBOAT_WEB_HOST"] == "0.0.0.0"
    assert "8000" in {str(port).rsplit(":", 1)[-1] for port in SERVICES["web"]["ports"]}


def test_app_image_runs_as_a_non_root_user():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    users = re.findall(r"^USER\s+(\S+)", dockerfile, re.MULTILINE)
    assert users, "the Dockerfile never leaves root"
    assert users[-1].split(":")[0] not in {"root", "0"}
    assert all(SERVICES[name].get("user") in (None, users[-1]) for name in APP_SERVICES)


def test_app_image_base_is_pinned_to_a_python_patch_release():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    bases = re.findall(r"^FROM\s+(\S+)", dockerfile, re.MULTILINE)
    assert bases
    for base in bases:
        repository, tag = split_image(base)
        assert repository == "python"
        assert re.match(r"3\.11\.\d+-slim", tag), f"{base} is not pinned to a patch release"


def test_app_image_installs_requirements_trains_a_model_and_checks_health():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "pip install --no-cache-dir -r requirements.txt" in dockerfile
    assert re.search(r"^RUN python -m ml\.train", dockerfile, re.MULTILINE)
    assert re.search(r"^HEALTHCHECK .*urllib.*/health", dockerfile, re.MULTILINE | re.DOTALL)


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_image():
    ignored = set((ROOT / ".dockerignore").read_text(encoding="utf-8").split())
    assert {".git", ".env", ".venv", "models"} <= ignored


def scrape_configs() -> dict[str, dict]:
    config = yaml.safe_load(PROMETHEUS_FILE.read_text(encoding="utf-8"))
    return {job["job_name"]: job for job in config["scrape_configs"]}


def test_prometheus_scrapes_every_component_under_its_agreed_job_name():
    assert set(scrape_configs()) == PROMETHEUS_JOBS


def test_every_prometheus_target_is_a_compose_service():
    hosts = []
    for job in scrape_configs().values():
        for static in job.get("static_configs", []):
            hosts += [(job["job_name"], target.rsplit(":", 1)[0]) for target in static["targets"]]
        for dns in job.get("dns_sd_configs", []):
            hosts += [(job["job_name"], name) for name in dns["names"]]
    assert hosts
    unknown = [
        f"{job}: {host}"
        for job, host in hosts
        if host not in SERVICES and not (job == "prometheus" and host == "localhost")
    ]
    assert not unknown


def test_every_worker_replica_is_scraped_through_dns_discovery():
    job = scrape_configs()["lifeboat-worker"]
    assert "static_configs" not in job
    assert job["dns_sd_configs"] == [
        {
            "names": ["worker", "reports-worker"],
            "type": "A",
            "port": 9101,
            "refresh_interval": "15s",
        }
    ]


def test_prometheus_loads_the_alert_rules_it_is_given():
    config = yaml.safe_load(PROMETHEUS_FILE.read_text(encoding="utf-8"))
    mounted = {Path(t).name for _, t, _ in volume_mounts(SERVICES["prometheus"])}
    assert config["rule_files"] == ["alerts.yml"]
    assert "alerts.yml" in mounted


def test_grafana_loads_dashboards_from_where_they_are_mounted():
    provider = yaml.safe_load(DASHBOARD_PROVIDER_FILE.read_text(encoding="utf-8"))
    mounts = {s: t for s, t, _ in volume_mounts(SERVICES["grafana"])}
    assert provider["providers"][0]["options"]["path"] == mounts["./grafana/dashboards"]
    assert mounts["./grafana/provisioning"] == "/etc/grafana/provisioning"


def test_grafana_datasource_points_at_the_prometheus_service():
    datasource = yaml.safe_load(DATASOURCE_FILE.read_text(encoding="utf-8"))["datasources"][0]
    assert datasource["uid"] == "prometheus"
    assert datasource["url"] == "http://prometheus:9090"


SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmg]?)b?$", re.IGNORECASE)
DEFAULTED_VALUE = re.compile(r"^\$\{(\w+):-([^}]*)\}(.*)$")  # ${NAME:-default}rest


def default_of(value: str) -> str:
    """A compose value with its ${NAME:-default} interpolations resolved to the defaults."""
    match = DEFAULTED_VALUE.match(str(value))
    return match.group(2) + match.group(3) if match else str(value)


def size_bytes(size: str) -> int:
    number, unit = SIZE.match(size.strip()).groups()
    return int(float(number) * 1024 ** " kmg".index(unit.lower() or " "))


def memory_limit(service: dict) -> str | None:
    deployed = service.get("deploy", {}).get("resources", {}).get("limits", {}).get("memory")
    return service.get("mem_limit") or deployed


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_service_has_a_memory_limit(name):
    limit = memory_limit(SERVICES[name])
    assert limit, f"{name} may take all the host's memory"
    assert size_bytes(default_of(limit)) >= 64 * 1024**2


def test_redis_container_limit_is_above_its_maxmemory():
    command = SERVICES["redis"]["command"]
    maxmemory = default_of(command[command.index("--maxmemory") + 1])
    limit = default_of(memory_limit(SERVICES["redis"]))
    assert size_bytes(limit) >= 1.5 * size_bytes(maxmemory)


@pytest.mark.parametrize("name", ["worker", "reports-worker"])
def test_workers_stop_grace_period_is_the_workers_grace_setting(name):
    grace = environment(SERVICES[name])["LIFEBOAT_WORKER_GRACE_SECONDS"]
    assert grace.startswith("${LIFEBOAT_WORKER_GRACE_SECONDS:-")
    assert SERVICES[name]["stop_grace_period"] == f"{grace}s"
    assert int(default_of(grace)) == Settings().worker_grace_seconds


def test_prometheus_scrapes_the_web_with_the_metrics_key_the_web_makes():
    job = scrape_configs()["lifeboat-web"]
    secret = Path(job["authorization"]["credentials_file"])
    assert job["authorization"]["type"] == "Bearer"
    assert secret.parent == Path("/run/secrets")
    assert secret.name in SERVICES["prometheus"]["secrets"]
    assert COMPOSE["secrets"][secret.name] == {"environment": "METRICS_API_TOKEN"}
    web = environment(SERVICES["web"])
    assert web["LIFEBOAT_BOOTSTRAP_METRICS_KEY"].startswith("${METRICS_API_TOKEN:?")
    assert web["LIFEBOAT_BOOTSTRAP_ADMIN_KEY"].startswith("${ADMIN_API_TOKEN:?")


# --- stored files: MinIO, no volume shared between web and workers ----------------------


def test_no_volume_is_shared_between_the_web_and_the_workers():
    for name in STORAGE_SERVICES:
        for source, target, _ in volume_mounts(SERVICES[name]):
            # an anonymous volume is each container's own (each replica's too)
            assert source == "", f"{name} mounts {source or '?'} at {target}"
    assert "storage" not in (COMPOSE.get("volumes") or {})


@pytest.mark.parametrize("name", STORAGE_SERVICES)
def test_app_keeps_its_files_in_the_bucket_minio_init_creates(name):
    env = environment(SERVICES[name])
    bucket_default = DEFAULTED.search(SERVICES["minio-init"]["environment"]["BUCKET"])
    assert bucket_default is not None
    storage_url = DEFAULTED.sub(r"\1", env["LIFEBOAT_STORAGE_URL"])
    assert re.fullmatch(r"s3://[^/]+(/.*)?", storage_url)
    assert storage_url.removeprefix("s3://").split("/")[0] == bucket_default.group(1)
    assert env["AWS_ENDPOINT_URL"] == "http://minio:9000"
    assert env["AWS_ALLOW_HTTP"] == "true"  # MinIO answers plain HTTP inside the network
    # the app's own MinIO user, never the root one
    assert env["AWS_ACCESS_KEY_ID"].startswith("${S3_ACCESS_KEY:?")
    assert env["AWS_SECRET_ACCESS_KEY"].startswith("${S3_SECRET_KEY:?")
    assert not [k for k in env if k.startswith("MINIO_ROOT")]


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_start_once_the_bucket_exists(name):
    waits = SERVICES[name]["depends_on"]["minio-init"]["condition"]
    assert waits == "service_completed_successfully"


def test_minio_init_waits_for_a_healthy_minio_and_minio_publishes_no_port():
    assert SERVICES["minio-init"]["depends_on"]["minio"]["condition"] == "service_healthy"
    assert "ports" not in SERVICES["minio"]


def test_minio_images_are_pinned_to_a_release():
    for name in ("minio", "minio-init"):
        _, tag = split_image(SERVICES[name]["image"])
        assert re.fullmatch(r"RELEASE\.\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ", tag), name


# `mc` as minio-init calls it: records each call; `admin policy attach` of a policy already
# attached fails as mc does. The real mc needs a MinIO server, which only compose runs.
STAND_IN_MC = """#!/bin/sh
echo "$*" >>"$MC_LOG"
case "$*" in
  "admin policy create "*) cp "$6" "$MC_LOG.policy" ;;
  "admin policy attach "*)
    if [ -e "$MC_LOG.attached" ]; then echo "policy change is already in effect" >&2; exit 1; fi
    touch "$MC_LOG.attached" ;;
esac
echo "MC_HOST_local=$MC_HOST_local" >>"$MC_LOG.env"
"""


def run_minio_init(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    service = SERVICES["minio-init"]
    script = service["command"][0].replace("$$", "$")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "mc").write_text(STAND_IN_MC, encoding="utf-8")
    (bin_dir / "mc").chmod(0o755)
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "MC_LOG": str(tmp_path / "mc.log"),
        "MINIO_ROOT_USER": "root-user",
        "MINIO_ROOT_PASSWORD": "root-password-0123456789",
        "S3_ACCESS_KEY": "app-key",
        "S3_SECRET_KEY": "app-secret-0123456789",
        "BUCKET": "lifeboat",
    }
    *shell, flags, _ = [*service["entrypoint"], ""]
    return subprocess.run(
        [*shell, flags, script], env=env, capture_output=True, text=True, timeout=30, check=False
    )


def test_minio_init_makes_the_bucket_and_a_user_allowed_that_bucket_alone(tmp_path):
    done = run_minio_init(tmp_path)
    assert done.returncode == 0, done.stderr
    calls = (tmp_path / "mc.log").read_text(encoding="utf-8").splitlines()
    assert "mb --ignore-existing local/lifeboat" in calls
    assert "admin user add local app-key app-secret-0123456789" in calls
    assert "admin policy attach local lifeboat-app --user app-key" in calls
    policy = json.loads((tmp_path / "mc.log.policy").read_text(encoding="utf-8"))
    [statement] = policy["Statement"]
    assert statement["Resource"] == ["arn:aws:s3:::lifeboat", "arn:aws:s3:::lifeboat/*"]
    # the root password reaches mc through its environment, never its command line
    assert not [c for c in calls if "root-password" in c]
    assert "root-user:root-password-0123456789@minio:9000" in (tmp_path / "mc.log.env").read_text(
        encoding="utf-8"
    )


def test_minio_init_succeeds_again_at_the_next_start(tmp_path):
    assert run_minio_init(tmp_path).returncode == 0
    again = run_minio_init(tmp_path)
    assert again.returncode == 0, again.stderr
