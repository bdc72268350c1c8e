"""The deployment files in ``infra/`` and the ``Dockerfile`` match the code.

``docker build`` and ``kubectl`` are not available here, so: the Dockerfile's
setup is read and compared with ``./run``'s (parsed, not copied: the Debian
packages, every virtualenv and every ``pip install``); the Kubernetes and
Compose files are parsed as YAML, checked for the fields their kinds need, and
every ``newsarchive`` command in them is parsed by the CLI's own argparse
parser (the verb and each flag exist and take the values given).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from newsarchive.cli.main import build_parser

ROOT = Path(__file__).resolve().parents[1]
INFRA = ROOT / "infra"
IMAGE = "ghcr.io/newsarchive/newsarchive:0.1.0"
#: sample values for the variables the commands use at run time
ENV = {"JOB_COMPLETION_INDEX": "3"}


# -- ./run and the Dockerfile -------------------------------------------------------
def shell_commands(text: str) -> list[str]:
    """Commands of a shell script or Dockerfile RUN lines: continuations joined, split at ``&&``."""
    joined = re.sub(r"\\\n", " ", text)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line.startswith("#"):
            continue
        line = line.removeprefix("RUN ")
        out += [part.strip() for part in line.split("&&") if part.strip()]
    return out


def apt_packages_of_run(text: str) -> set[str]:
    return {p for group in re.findall(r"need_apt\+=\(([^)]*)\)", text) for p in group.split()}


def pip_installs(commands: list[str]) -> list[list[str]]:
    """The arguments of every ``... -m pip install ARGS`` (redirections left out)."""
    found = []
    for cmd in commands:
        match = re.search(r"-m pip install (.*)", cmd)
        if match:
            args = shlex.split(re.sub(r"\s*[0-9]?>&?[0-9]\s*$", "", match.group(1)))
            found.append(args)
    return found


def test_dockerfile_sets_up_what_run_sets_up() -> None:
    run = (ROOT / "run").read_text()
    docker = (ROOT / "Dockerfile").read_text()
    run_cmds, docker_cmds = shell_commands(run), shell_commands(docker)

    wanted = apt_packages_of_run(run)
    assert {"python3", "python3-venv", "chromium"} <= wanted  # the parse found ./run's list
    installs = [shlex.split(c) for c in docker_cmds if "apt-get install" in c]
    assert installs, "the Dockerfile installs no Debian package"
    got = {w for words in installs for w in words if not w.startswith("-")}
    assert wanted <= got, f"./run installs {sorted(wanted - got)}, the Dockerfile does not"
    # with ./run's apt-get options
    run_apt = next(shlex.split(c) for c in run_cmds if "apt-get install" in c)
    assert {w for w in run_apt if w.startswith("-")} <= {w for w in installs[0] if w.startswith("-")}

    # every virtualenv ./run makes, and every pip install in it, in the same order
    venvs = [c for c in run_cmds if "-m venv" in c]
    assert len([c for c in docker_cmds if "-m venv" in c]) >= len(venvs) >= 1
    run_pips, docker_pips = pip_installs(run_cmds), pip_installs(docker_cmds)
    assert len(run_pips) >= 3  # pip itself, the lock, the project
    assert docker_pips == run_pips

    # ./run's stamp, so `./run` inside the image does not set up again
    stamp = next(c for c in run_cmds if "sha256sum" in c)
    stamp_pipe = re.search(r"cat (.*?) \| sha256sum \| cut -c1-16", stamp)
    assert stamp_pipe and f"cat {stamp_pipe.group(1)} | sha256sum | cut -c1-16" in docker

    # Debian, Debian's Chromium where the code expects it, never root
    assert re.search(r"^FROM debian:", docker, re.M)
    users = re.findall(r"^USER (\S+)", docker, re.M)
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    assert "chromium" in got and "/usr/bin/chromium" in (ROOT / "newsarchive" / "settings.py").read_text()
    entry = re.search(r"^ENTRYPOINT (.*)$", docker, re.M)
    assert entry and yaml.safe_load(entry.group(1)) == ["newsarchive"]
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".venv" in ignored  # the host's virtualenv never goes into the image


# -- the CLI commands in the manifests ---------------------------------------------
def check_command(argv: list[str]) -> Any:
    """Parse ``newsarchive ARGS`` with the CLI's parser; fail with argparse's message."""
    argv = [re.sub(r"\$\{?(\w+)\}?", lambda m: ENV[m.group(1)], a) for a in argv]
    if argv[0] == "newsarchive":
        argv = argv[1:]
    parser = build_parser()
    try:
        return parser.parse_args(argv)
    except SystemExit:
        pytest.fail(f"the CLI does not take: newsarchive {shlex.join(argv)}")


def container_argv(container: dict[str, Any]) -> list[str]:
    """The newsarchive command line a container runs (the image's entrypoint is newsarchive)."""
    command, args = container.get("command") or [], container.get("args") or []
    if command[:2] == ["sh", "-c"]:
        script = (command[2:] or args)[0]
        words = shlex.split(script)
        # exec: SIGTERM reaches newsarchive, not the shell
        assert words[:2] == ["exec", "newsarchive"], script
        return words[2:]
    return [*command, *args]


def documents(name: str) -> list[dict[str, Any]]:
    with (INFRA / "kubernetes" / name).open() as fh:
        docs = [d for d in yaml.safe_load_all(fh) if d]
    for doc in docs:
        assert {"apiVersion", "kind", "metadata"} <= doc.keys(), doc
        assert doc["metadata"].get("name"), doc
    return docs


def pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    spec = doc["spec"]
    if doc["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]  # type: ignore[no-any-return]


def check_pod(doc: dict[str, Any], claims: set[str], configmaps: set[str]) -> list[list[str]]:
    """Volumes resolve, mounts name volumes, the image is ours; the commands it runs."""
    pod = pod_spec(doc)
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    for volume in volumes.values():
        if "persistentVolumeClaim" in volume:
            assert volume["persistentVolumeClaim"]["claimName"] in claims, volume
        if "configMap" in volume:
            assert volume["configMap"]["name"] in configmaps, volume
    commands = []
    for container in pod["containers"]:
        for mount in container.get("volumeMounts", []):
            assert mount["name"] in volumes, mount
        if container["image"].startswith("redis:"):
            continue
        assert container["image"] == IMAGE
        commands.append(container_argv(container))
    if doc["kind"] in ("Job", "CronJob"):
        assert pod["restartPolicy"] in ("Never", "OnFailure")
    if pod.get("securityContext"):
        assert pod["securityContext"]["runAsUser"] == 10001  # the Dockerfile's user
    return commands


def all_manifests() -> list[dict[str, Any]]:
    return [d for p in sorted((INFRA / "kubernetes").glob("*.yaml")) for d in documents(p.name)]


def has_frontier() -> bool:
    """Whether this build's ``crawl`` takes ``--frontier`` (lane redis of issue 15)."""
    parser = build_parser()
    try:
        parser.parse_args(["crawl", "http://a.example/", "--out", "x", "--frontier",
                           "redis://r:6379/0"])
    except SystemExit:
        return False
    return True


needs_frontier = pytest.mark.skipif(
    not has_frontier(), reason="crawl --frontier (scrapy-redis workers) is not in this build yet")


@pytest.mark.parametrize("kinds", [
    pytest.param({"Job", "CronJob"}, id="jobs"),
    pytest.param({"Deployment"}, id="workers", marks=needs_frontier),
])
def test_kubernetes_manifests_parse_and_match_the_cli(kinds: set[str]) -> None:
    docs = all_manifests()
    claims = {d["metadata"]["name"] for d in docs if d["kind"] == "PersistentVolumeClaim"}
    configmaps = {d["metadata"]["name"] for d in docs if d["kind"] == "ConfigMap"}
    services = {d["metadata"]["name"] for d in docs if d["kind"] == "Service"}
    seen = set()
    for doc in docs:
        if doc["kind"] not in kinds:
            continue
        seen.add(doc["kind"])
        if doc["kind"] == "Deployment":
            labels = doc["spec"]["template"]["metadata"]["labels"]
            assert doc["spec"]["selector"]["matchLabels"].items() <= labels.items()
        for argv in check_pod(doc, claims, configmaps):
            args = check_command(argv)
            frontier = getattr(args, "frontier", None)
            if frontier:  # the Redis the workers share is a Service of these manifests
                assert frontier.split("//")[1].split(":")[0] in services
            if doc["kind"] == "Job":
                spec = doc["spec"]
                assert spec["completionMode"] == "Indexed"
                assert args.shard is not None, argv
                assert args.shard.count == spec["completions"] == spec["parallelism"]
                assert "JOB_COMPLETION_INDEX" in shlex.join(container_argv(
                    pod_spec(doc)["containers"][0]))
    assert seen == kinds
    if "Job" in kinds:
        jobs = {a[0] for d in docs if d["kind"] == "Job"
                for a in check_pod(d, claims, configmaps)}
        assert jobs == {"extract", "index"}


def test_cronjob_site_file_is_valid(tmp_path: Path) -> None:
    from newsarchive.discover.site import load_site

    for doc in all_manifests():
        if doc["kind"] == "ConfigMap":
            for name, text in doc["data"].items():
                (tmp_path / name).write_text(text)
                assert load_site(tmp_path / name).name


@needs_frontier
def test_compose_file_parses_and_matches_the_cli() -> None:
    compose = yaml.safe_load((INFRA / "docker" / "compose.yaml").read_text())
    services = compose["services"]
    assert {"redis", "worker"} <= services.keys()
    worker = services["worker"]
    assert (INFRA / "docker" / worker["build"]["context"] / worker["build"]["dockerfile"]).is_file()
    assert worker["image"] == IMAGE and worker["deploy"]["replicas"] >= 2
    assert "redis" in worker["depends_on"]
    named = set(compose.get("volumes", {}))
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (INFRA / "docker" / source).exists(), (name, volume)
            else:
                assert source in named, (name, volume)
        if service.get("image") == IMAGE:
            args = check_command(list(service["command"]))
            frontier = getattr(args, "frontier", None)
            if frontier:
                assert frontier.split("//")[1].split(":")[0] in services
    crawl = check_command(list(worker["command"]))
    assert crawl.command == "crawl" and crawl.frontier
    from newsarchive.discover.site import load_site

    site = crawl.target.replace("/sites/", "")
    assert load_site(INFRA / "docker" / "sites" / site).name
