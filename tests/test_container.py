"""The container deployment (Dockerfile, compose.yaml, .dockerignore), checked without a Docker
daemon: the files read as Docker reads them, and their commands run here for real.

compose.yaml must run what scripts/serve runs (the same gunicorn command, the same scheduler, the
schema migrated first), from one image on one volume, with the secret from the environment only.
"""
from __future__ import annotations

import ast
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from storage import init_db
from tests.prism_support import free_port
from tests.test_serve import _wait_until_up

ROOT = Path(__file__).resolve().parent.parent
DATA = "/data/"                       # the volume's mount point in the image
SECRET = "a-long-random-secret-for-this-test"


# -- reading the files as Docker and Compose read them ----------------------------------------

def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per instruction: continuation lines joined, comments dropped."""
    instructions, pending = [], ""
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        word, _, rest = pending.strip().partition(" ")
        instructions.append((word.upper(), rest.strip()))
        pending = ""
    return instructions


def arguments_of(instruction: str) -> list[str]:
    return [rest for word, rest in dockerfile() if word == instruction]


def exec_form(text: str) -> list[str]:
    form = json.loads(text)
    assert isinstance(form, list) and all(isinstance(part, str) for part in form), text
    return form


def copy_sources() -> list[str]:
    sources = []
    for rest in arguments_of("COPY"):
        parts = [part for part in shlex.split(rest) if not part.startswith("--")]
        sources += parts[:-1]
    return sources


def dockerignore_patterns(text: str) -> list[tuple[bool, re.Pattern]]:
    """(re-included?, pattern) as Docker reads .dockerignore: Go's filepath.Match plus ``**``."""
    patterns = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        glob = os.path.normpath(line.lstrip("!").strip()).lstrip("/")
        regex = ""
        for token in re.split(r"(\*\*/|\*\*|\*|\?)", glob):
            regex += {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(token, re.escape(token))
        patterns.append((negated, re.compile(regex + r"\Z")))
    return patterns


def in_build_context(path: str, patterns: list[tuple[bool, re.Pattern]]) -> bool:
    """The last pattern that matches the path, or a folder it is in, decides."""
    parts = path.split("/")
    candidates = ["/".join(parts[:end]) for end in range(1, len(parts) + 1)]
    included = True
    for negated, pattern in patterns:
        if any(pattern.match(candidate) for candidate in candidates):
            included = negated
    return included


def build_context_patterns():
    return dockerignore_patterns((ROOT / ".dockerignore").read_text())


def tracked_files(folder: str) -> list[str]:
    listing = subprocess.run(["git", "ls-files", "--", folder], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    return listing or [folder]           # a file not yet committed is checked by its own name


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def serve_commands() -> dict[str, list[str]]:
    """The commands scripts/serve runs from its venv, by program and first argument."""
    commands = {}
    for line in (ROOT / "scripts" / "serve").read_text().splitlines():
        if line.startswith(".venv/bin/"):
            argv = shlex.split(line.rstrip("& "))
            argv[0] = argv[0].removeprefix(".venv/bin/")
            commands[" ".join(argv[:4]) if argv[0] == "flask" else argv[0]] = argv
    return commands


def graceful_timeout() -> int:
    module = ast.parse((ROOT / "deploy" / "gunicorn_conf.py").read_text())
    return next(node.value.value for node in module.body if isinstance(node, ast.Assign)
                and any(getattr(target, "id", None) == "graceful_timeout" for target in node.targets))


def seconds(duration: str) -> int:
    found = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s)?", duration)
    assert found and any(found.groups()), duration
    return int(found.group(1) or 0) * 60 + int(found.group(2) or 0)


def local_command(argv: list[str]) -> list[str]:
    """A container's command run from this venv: the same program, the same arguments."""
    program = sys.executable if argv[0] == "python" else str(Path(sys.executable).with_name(argv[0]))
    return [program, *argv[1:]]


def resolved(value: str, given: dict[str, str]) -> str | None:
    """A compose value with its ${VAR:-default} and ${VAR:?error} resolved against ``given``."""
    def one(match: re.Match) -> str:
        name, kind, rest = match.groups()
        if name in given:
            return given[name]
        if kind == "?":
            raise AssertionError(f"compose refuses to start without {name}: {rest}")
        return rest if kind == "-" else ""
    return re.sub(r"\$\{(\w+)(?::([-?])([^}]*))?\}", one, value)


def container_environment(compose: dict, service: str, tmp_path: Path, **given: str) -> dict[str, str]:
    """The service's environment as compose gives it, with the volume at tmp_path."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("FLASK_", "TWILIO_"))}
    for name, value in compose["services"][service]["environment"].items():
        if value is None:                 # passed through from the shell only when set there
            continue
        environment[name] = resolved(str(value), given).replace(DATA, f"{tmp_path}/")
    return environment


# -- the files --------------------------------------------------------------------------------

def test_the_image_is_python_slim_and_runs_as_a_user_of_its_own():
    instructions = dockerfile()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    users = [rest for word, rest in instructions if word == "USER"]
    assert users and users[-1] not in ("root", "0", "0:0")
    last_run = max(i for i, (word, _) in enumerate(instructions) if word == "RUN")
    assert max(i for i, (word, _) in enumerate(instructions) if word == "USER") > last_run
    # The volume's first content, owned by that user: the database's folder and the backups'.
    runs = " ".join(arguments_of("RUN"))
    assert users[-1] == "app" and "mkdir -p /data/backups" in runs and "chown -R app:app /data" in runs


def test_the_image_installs_from_pyproject_without_test_extras_and_compiles_the_catalogues():
    runs = " ".join(arguments_of("RUN"))
    assert "pyproject.toml" in runs and "['project']['dependencies']" in runs
    assert re.search(r"pip install --no-deps -e \.(\s|$)", runs)
    assert "[test]" not in runs and "optional-dependencies" not in runs
    assert re.search(r"pybabel (-q )?compile -d translations", runs)


def test_the_dependency_step_reads_exactly_pyprojects_dependencies(tmp_path):
    # The RUN line's own Python, run here: what it would hand pip is the project's dependency list.
    step = next(rest for rest in arguments_of("RUN") if "tomllib" in rest)
    program = shlex.split(step.split(">")[0])
    printed = subprocess.run([sys.executable, *program[1:]], cwd=ROOT, capture_output=True, text=True, check=True)
    import tomllib
    expected = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert printed.stdout.split("\n")[:-1] == expected and "gunicorn>=23" in expected


def test_no_secret_is_baked_into_the_image():
    for word, rest in dockerfile():
        if word in ("ENV", "ARG", "LABEL"):
            assert not re.search(r"SECRET|TWILIO_AUTH_TOKEN|PASSWORD", rest, re.IGNORECASE), (word, rest)
    assert not any("FLASK_SECRET_KEY" in rest for _, rest in dockerfile())   # a comment may name it


def test_the_secret_is_required_from_the_environment(compose):
    for name in ("migrate", "web", "scheduler"):
        secret = compose["services"][name]["environment"]["FLASK_SECRET_KEY"]
        assert re.fullmatch(r"\$\{FLASK_SECRET_KEY:\?[^}]+\}", secret)
    with pytest.raises(AssertionError, match="without FLASK_SECRET_KEY"):
        resolved(compose["services"]["web"]["environment"]["FLASK_SECRET_KEY"], {})


def test_web_and_scheduler_share_one_image_one_volume_and_one_database(compose):
    services = compose["services"]
    assert set(services) == {"migrate", "web", "scheduler"}
    assert {services[name]["image"] for name in services} == {"spine-pro"}
    assert {services[name]["build"] for name in services} == {"."}
    for name in services:
        assert services[name]["volumes"] == ["spine-pro-data:/data"]
        assert services[name]["environment"]["FLASK_DATABASE"] == "/data/spine-pro.sqlite3"
    assert "spine-pro-data" in compose["volumes"]
    assert "FLASK_DATABASE=/data/spine-pro.sqlite3" in " ".join(arguments_of("ENV"))


def test_the_commands_are_the_ones_scripts_serve_runs(compose):
    serve = serve_commands()
    web, scheduler, migrate = (compose["services"][name]["command"] for name in ("web", "scheduler", "migrate"))
    assert web == serve["gunicorn"] == ["gunicorn", "--config", "python:deploy.gunicorn_conf", "app:create_app()"]
    assert scheduler == serve["flask --app app scheduler"]
    assert migrate == serve["flask --app app init-db"]
    assert exec_form(arguments_of("CMD")[-1]) == web      # `docker run spine-pro` serves too


def test_the_schema_is_migrated_once_before_either_process_starts(compose):
    services = compose["services"]
    assert services["migrate"]["restart"] == "no"
    for name in ("web", "scheduler"):
        assert services[name]["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
        assert services[name]["restart"] == "unless-stopped"


def test_there_is_one_scheduler_and_only_web_has_a_port_and_a_healthcheck(compose):
    services = compose["services"]
    assert services["scheduler"]["deploy"] == {"replicas": 1}
    assert "ports" not in services["scheduler"] and "ports" not in services["migrate"]
    assert services["web"]["ports"] == ["127.0.0.1:${PORT:-8000}:${PORT:-8000}"]
    assert services["scheduler"]["healthcheck"] == {"disable": True} == services["migrate"]["healthcheck"]
    assert "healthcheck" not in services["web"]                   # the image's HEALTHCHECK holds
    (healthcheck,) = arguments_of("HEALTHCHECK")
    assert "/healthz" in healthcheck.partition(" CMD ")[2]


def test_port_defaults_to_8000(compose):
    assert "PORT=8000" in " ".join(arguments_of("ENV")) and arguments_of("EXPOSE") == ["8000"]
    assert resolved(compose["services"]["web"]["environment"]["PORT"], {}) == "8000"


def test_docker_waits_longer_than_gunicorns_graceful_timeout_before_it_kills(compose):
    assert graceful_timeout() == 30
    for name in ("web", "scheduler"):
        assert seconds(compose["services"][name]["stop_grace_period"]) > graceful_timeout()


def test_every_file_the_dockerfile_copies_exists_and_is_in_the_build_context():
    patterns = build_context_patterns()
    sources = copy_sources()
    assert {"pyproject.toml", "README.md", "app.py", "web/", "deploy/", "translations/"} <= set(sources)
    for source in sources:
        assert (ROOT / source).exists(), source
        for path in tracked_files(source):
            assert in_build_context(path, patterns), f"{path} is excluded by .dockerignore"


def test_every_package_the_project_installs_is_copied_into_the_image():
    import tomllib
    includes = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    copied = {source.rstrip("/") for source in copy_sources()}
    assert {pattern.rstrip("*") for pattern in includes} <= copied
    assert {"templates", "static", "translations"} <= copied          # app.py reads them beside itself


@pytest.mark.parametrize("path", ["instance/spine-pro.sqlite3", "web/spine-pro.sqlite3-wal", ".venv/bin/python",
                                  "tests/conftest.py", ".git/config", ".env", "node_modules/axe-core/axe.js",
                                  "translations/ar/LC_MESSAGES/messages.mo", "web/__pycache__/app.cpython-311.pyc",
                                  "instance/sms-outbox.jsonl", "benchmarks/submission.py"])
def test_the_build_context_leaves_out_data_secrets_and_local_builds(path):
    assert not in_build_context(path, build_context_patterns())


def test_the_dockerignore_reader_follows_dockers_rules():
    # The reader above must itself be right, or the two tests before it prove nothing.
    patterns = dockerignore_patterns("*\n!web/\n**/__pycache__\n!web/__pycache__/keep.pyc\n")
    assert in_build_context("web/a/b.py", patterns) and not in_build_context("app.py", patterns)
    assert not in_build_context("web/x/__pycache__/a.pyc", patterns)
    assert in_build_context("web/__pycache__/keep.pyc", patterns)
    assert in_build_context("anything", dockerignore_patterns("# a comment only\n"))


# -- the commands, run for real ---------------------------------------------------------------

def test_the_migrate_service_creates_the_schema_on_the_volume_and_is_idempotent(compose, tmp_path):
    environment = container_environment(compose, "migrate", tmp_path, FLASK_SECRET_KEY=SECRET)
    command = local_command(compose["services"]["migrate"]["command"])
    first = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    database = tmp_path / "spine-pro.sqlite3"
    every_migration = len(init_db(tmp_path / "reference.sqlite3"))
    assert every_migration >= 10
    assert first.stdout.strip() == f"Database ready at {database} ({every_migration} migration(s) applied)."
    again = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and again.stdout.strip() == f"Database ready at {database} (0 migration(s) applied)."


def test_the_healthcheck_passes_while_the_web_service_serves_and_fails_when_it_stops(compose, tmp_path):
    port = free_port()
    migrate = local_command(compose["services"]["migrate"]["command"])
    environment = container_environment(compose, "web", tmp_path, FLASK_SECRET_KEY=SECRET, PORT=str(port),
                                        WEB_CONCURRENCY="1")
    subprocess.run(migrate, cwd=ROOT, env=environment, capture_output=True, check=True, timeout=60)
    healthcheck = local_command(exec_form(arguments_of("HEALTHCHECK")[0].partition(" CMD ")[2]))
    web = subprocess.Popen(local_command(compose["services"]["web"]["command"]), cwd=ROOT, env=environment,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_until_up(web, port)
        healthy = subprocess.run(healthcheck, env=environment, capture_output=True, text=True, timeout=30)
        assert healthy.returncode == 0, healthy.stderr
    finally:
        web.terminate()
        output = web.communicate(timeout=30)[0]
    assert "GET /healthz HTTP/1.1\" 200" in output
    stopped = subprocess.run(healthcheck, env=environment, capture_output=True, text=True, timeout=30)
    assert stopped.returncode != 0 and "Connection refused" in stopped.stderr
