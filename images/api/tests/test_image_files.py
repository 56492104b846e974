"""Static checks of what cannot be built here (no container engine): Dockerfile, .dockerignore,
requirement pins, and the settings uwsgi.ini promises."""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from herd_api.config import MAX_CONTENT_LENGTH_CAP
from servers import require, uwsgi_missing

API_DIR = Path(__file__).resolve().parent.parent
BUILD_TOOLS = ("gcc", "g++", "cc", "clang", "make", "build-essential", "libc6-dev", "python3-dev", "pkg-config")


# -- Dockerfile ---------------------------------------------------------------------------------


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)  # (INSTRUCTION, arguments)


def parse_dockerfile(text: str) -> list[Stage]:
    """Joins continuation lines, drops comments, splits into stages."""
    logical: list[str] = []
    current = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not current and (stripped.startswith("#") or not stripped):
            continue
        if stripped.startswith("#"):  # comment inside a continued instruction
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        logical.append(current + stripped)
        current = ""
    assert current == "", "Dockerfile ends inside a continued line"

    stages: list[Stage] = []
    for line in logical:
        instruction, _, args = line.partition(" ")
        instruction = instruction.upper()
        if instruction == "FROM":
            match = re.fullmatch(r"(\S+)(?:\s+AS\s+(\S+))?", args.strip(), flags=re.IGNORECASE)
            assert match, f"cannot parse FROM {args}"
            stages.append(Stage(base=match.group(1), name=match.group(2)))
        else:
            assert stages, f"{instruction} before the first FROM"
            stages[-1].instructions.append((instruction, args.strip()))
    return stages


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse_dockerfile((API_DIR / "Dockerfile").read_text())


def test_is_multi_stage_with_named_stages(stages: list[Stage]) -> None:
    assert len(stages) >= 2
    assert all(stage.name for stage in stages)
    final = stages[-1]
    copies_from = [args for instr, args in final.instructions if instr == "COPY" and "--from=" in args]
    assert any(f"--from={stages[0].name}" in args for args in copies_from), "final stage must copy from the builder"


def test_base_images_are_pinned_to_an_exact_patch_release(stages: list[Stage]) -> None:
    for stage in stages:
        image, _, digest = stage.base.partition("@")
        name, _, tag = image.rpartition(":")
        assert name and tag, f"{stage.base}: no tag"
        assert "latest" not in tag
        assert re.match(r"^\d+\.\d+\.\d+-", tag) or re.match(r"^\d+\.\d+\.\d+$", tag), f"{stage.base}: tag not X.Y.Z"
        if digest:
            assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest)
    assert len({stage.base for stage in stages}) == 1, "builder and runtime must share the base (the venv is copied)"


def test_final_stage_runs_as_a_numeric_non_root_user(stages: list[Stage]) -> None:
    users = [args for instr, args in stages[-1].instructions if instr == "USER"]
    assert users, "final stage has no USER"
    user, _, group = users[-1].partition(":")
    assert user.isdigit() and int(user) >= 10000, users[-1]
    assert group == "" or (group.isdigit() and int(group) >= 10000)
    # nothing after USER needs root
    last_user = max(i for i, (instr, _) in enumerate(stages[-1].instructions) if instr == "USER")
    assert not any(instr == "RUN" for instr, _ in stages[-1].instructions[last_user:])


def test_final_stage_has_no_build_tools(stages: list[Stage]) -> None:
    for instr, args in stages[-1].instructions:
        if instr != "RUN":
            continue
        words = set(re.split(r"[\s;&|]+", args))
        assert "apt-get" not in words and "apk" not in words, f"package installs belong in the builder: {args}"
        assert not words & set(BUILD_TOOLS), f"build tool in the final stage: {args}"
    builder_runs = " ".join(args for instr, args in stages[0].instructions if instr == "RUN")
    assert "gcc" in builder_runs, "the builder compiles uWSGI"


def test_final_stage_exposes_8000_and_runs_uwsgi_with_the_ini(stages: list[Stage]) -> None:
    final = dict((instr, args) for instr, args in stages[-1].instructions)
    assert final["EXPOSE"] == "8000 9102"
    assert json.loads(final["CMD"]) == ["uwsgi", "--ini", "/app/uwsgi.ini"]  # exec form: uwsgi is PID 1
    env = " ".join(args for instr, args in stages[-1].instructions if instr == "ENV")
    assert "VIRTUAL_ENV=/opt/venv" in env  # uwsgi.ini sets `virtualenv` from it
    assert "TMPDIR=/tmp" in env


def test_copied_sources_exist_and_survive_dockerignore(stages: list[Stage]) -> None:
    patterns = [
        line.strip()
        for line in (API_DIR / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def ignored(path: str) -> bool:
        result = False
        for pattern in patterns:
            negate = pattern.startswith("!")
            pat = pattern[1:] if negate else pattern
            pat = pat.rstrip("/")
            if fnmatch.fnmatch(path, pat) or fnmatch.fnmatch(path, pat.replace("**/", "")):
                result = not negate
        return result

    for stage in stages:
        for instr, args in stage.instructions:
            if instr != "COPY" or "--from=" in args:
                continue
            sources = args.split()[:-1]
            for source in sources:
                source = source.rstrip("/")
                assert (API_DIR / source).exists(), f"COPY source {source} missing"
                assert not ignored(source), f"COPY source {source} is excluded by .dockerignore"
    for never in (".venv", "tests", "README.md", "setup.sh", "requirements-dev.txt"):
        assert ignored(never), f"{never} should not be in the build context"


# -- requirements -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["requirements.txt", "requirements-dev.txt", "requirements-uwsgi.txt"])
def test_requirements_are_pinned_exactly(name: str) -> None:
    for line in (API_DIR / name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-r "):
            continue
        assert re.fullmatch(r"[A-Za-z0-9_.\-]+(\[[a-z0-9,_-]+\])?==[0-9][0-9A-Za-z.\-+]*", line), f"{name}: {line}"


def test_runtime_requirements_exclude_test_tools() -> None:
    runtime = (API_DIR / "requirements.txt").read_text().lower()
    assert "pytest" not in runtime


# -- uwsgi.ini ----------------------------------------------------------------------------------


def ini_entries() -> list[tuple[str, str]]:
    entries = []
    for line in (API_DIR / "uwsgi.ini").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith((";", "#", "[")):
            continue
        key, _, value = line.partition("=")
        entries.append((key.strip(), value.strip()))
    return entries


def guarded_default(env_var: str) -> tuple[str, str]:
    entries = ini_entries()
    index = entries.index(("if-not-env", env_var))
    assert entries[index + 2] == ("endif", ""), f"{env_var} block must hold one option"
    return entries[index + 1]


def test_ini_defaults_and_env_overrides() -> None:
    assert guarded_default("UWSGI_PROCESSES") == ("processes", "2")
    assert guarded_default("UWSGI_THREADS") == ("threads", "4")
    assert guarded_default("UWSGI_HTTP_SOCKET") == ("http-socket", ":8000")
    assert guarded_default("UWSGI_LISTEN") == ("listen", "128")
    assert guarded_default("UWSGI_HARAKIRI")[0] == "harakiri"
    assert guarded_default("UWSGI_MAX_REQUESTS")[0] == "max-requests"


def test_ini_production_settings() -> None:
    settings = dict(ini_entries())
    for key in ("master", "need-app", "die-on-term", "lazy-apps", "disable-logging", "enable-threads", "vacuum"):
        assert settings.get(key) == "true", key
    assert settings["module"] == "herd_api.wsgi:application"
    assert int(settings["buffer-size"]) >= 8192
    assert int(settings["post-buffering"]) > 0
    assert int(settings["limit-post"]) == MAX_CONTENT_LENGTH_CAP  # the app's 413 must fire before uwsgi's drop
    assert "max-requests-delta" in settings
    assert settings["hook-master-start"] == "unix_signal:15 gracefully_kill_them_all"
    assert "socket" not in settings and "uwsgi-socket" not in settings, "HTTP only (see README)"


def test_ini_keys_are_real_uwsgi_options() -> None:
    """The typo check `strict = true` would do, against the installed uwsgi's own option list."""
    require(uwsgi_missing())
    help_text = subprocess.run(
        ["uwsgi", "--plugin", "python3", "--help"], capture_output=True, text=True, timeout=60
    ).stdout
    if "--module" not in help_text:  # a uwsgi with Python built in (pip) has no python3 plugin to load
        help_text = subprocess.run(["uwsgi", "--help"], capture_output=True, text=True, timeout=60).stdout
    known = set(re.findall(r"--([a-z0-9][a-z0-9\-]*)", help_text))
    newer_than_debian_bookworm = {"max-requests-delta"}
    unknown = {key for key, _ in ini_entries()} - known - newer_than_debian_bookworm
    assert not unknown, f"not uwsgi options: {sorted(unknown)}"
