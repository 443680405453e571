"""Remote mode: ``aims login``, the credentials file, and the CLI acting through a real
server on loopback (its refusals mapped to the errors and exit codes of local mode)."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aims.errors import AimsError, ContractViolation, GateFailed, RateLimited, error_classes
from aims.server.app import create_app
from aims.server.problems import problem
from aims.services import identity, keys
from tests.server.conftest import LiveServer, free_port

AIMS = [sys.executable, "-m", "aims"]


class Server:
    """A team-mode workspace served on loopback, with a key per principal."""

    def __init__(self, ws: Any, url: str, keys_of: dict[str, str]) -> None:
        self.ws = ws
        self.url = url
        self.keys = keys_of


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A team-mode workspace: ana is a scientist, raj an approver and vic a viewer of
    project default, root admin of every project. One for the module: keys cost an
    argon2 hash each."""
    import yaml

    from aims.workspace import Workspace, init_workspace

    root = init_workspace(tmp_path_factory.mktemp("remote") / "ws")
    config = yaml.safe_load((root / "aims.yaml").read_text())
    (root / "aims.yaml").write_text(yaml.safe_dump({**config, "identity": "team"}))
    workspace = Workspace.open(root)
    grants = {
        "ana@x.org": ("scientist", "default"),
        "raj@x.org": ("approver", "default"),
        "vic@x.org": ("viewer", "default"),
        "root@x.org": ("admin", "*"),
    }
    made = {}
    for who, (role, project) in grants.items():
        identity.add_principal(workspace, who, kind="human", actor="root")
        identity.grant(workspace, who, role=role, project=project, actor="root")
        _, made[who] = keys.create_key(
            workspace, project=project, role=role, actor="root", principal=who
        )
    try:
        with LiveServer(create_app(workspace)) as live:
            yield Server(workspace, live.url, made)
    finally:
        workspace.close()


class Result:
    """What a run of ``aims`` printed and its exit code."""

    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture
def aims(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """Run ``aims`` in this process through its entry point (as the console script does),
    in folder ``cwd`` with ``env`` added to the environment and ``stdin`` as input."""
    from aims.cli.main import main

    def run(
        args: list[str], cwd: Path, env: dict[str, str] | None = None, stdin: str = ""
    ) -> Result:
        capsys.readouterr()
        with monkeypatch.context() as m:
            m.chdir(cwd)
            for name, value in (env or {}).items():
                m.setenv(name, value)
            m.setattr(sys, "stdin", io.StringIO(stdin))
            try:
                main(args)
                code = 0
            except SystemExit as exc:
                code = int(exc.code or 0)
        out = capsys.readouterr()
        return Result(code, out.out, out.err)

    return run


def test_login_saves_url_and_key_readable_by_the_owner_only(
    server: Server, tmp_path: Path, aims: Any
) -> None:
    config = tmp_path / "config"
    env = {"XDG_CONFIG_HOME": str(config)}
    out = aims(
        ["login", server.url + "/", "--api-key-stdin"], tmp_path, env, server.keys["ana@x.org"]
    )
    assert out.returncode == 0, out.stderr
    assert f"logged in to {server.url} as ana@x.org, scientist on project default" in out.stdout
    saved = config / "aims" / "credentials.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert stat.S_IMODE(saved.parent.stat().st_mode) == 0o700
    assert json.loads(saved.read_text()) == {"url": server.url, "api_key": server.keys["ana@x.org"]}

    # From any folder (no workspace here), as ana, whatever $AIMS_USER says.
    who = aims(["whoami", "--format", "json"], tmp_path, {**env, "AIMS_USER": "mallory@x.org"})
    assert who.returncode == 0, who.stderr
    me = json.loads(who.stdout)
    assert (me["mode"], me["principal"], me["role"], me["project"]) == (
        "remote",
        "ana@x.org",
        "scientist",
        "default",
    )
    listed = aims(["model", "list", "--format", "json"], tmp_path, env)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == []

    gone = aims(["logout"], tmp_path, env)
    assert gone.returncode == 0 and f"removed {saved}" in gone.stdout
    assert not saved.exists()
    local = aims(["whoami", "--format", "json"], tmp_path, {**env, "AIMS_USER": "mallory@x.org"})
    assert json.loads(local.stdout) == {"mode": "local", "principal": "mallory@x.org"}


def test_a_key_the_server_refuses_is_not_saved(server: Server, tmp_path: Path, aims: Any) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    wrong = server.keys["ana@x.org"][:-4] + "abcd"
    out = aims(["login", server.url, "--api-key-stdin"], tmp_path, env, wrong)
    assert out.returncode == 1
    assert out.stderr.startswith("error: ") and out.stderr.count("\n") == 1
    assert "aims login URL" in out.stderr
    assert not (tmp_path / "config" / "aims" / "credentials.json").exists()


def test_credentials_that_others_can_read_are_refused(
    server: Server, tmp_path: Path, aims: Any
) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    key = server.keys["ana@x.org"]
    assert aims(["login", server.url, "--api-key-stdin"], tmp_path, env, key).returncode == 0
    saved = tmp_path / "config" / "aims" / "credentials.json"
    saved.chmod(0o644)
    out = aims(["model", "list"], tmp_path, env)
    assert out.returncode == 1
    assert f"chmod 600 {saved}" in out.stderr and "mode 0644" in out.stderr
    saved.chmod(0o600)
    assert aims(["model", "list"], tmp_path, env).returncode == 0


def test_an_unreachable_server_is_one_line_naming_it(tmp_path: Path) -> None:
    # Through the console script itself: one line on stderr, no traceback, exit 1.
    url = f"http://127.0.0.1:{free_port()}"
    out = subprocess.run(
        [*AIMS, "model", "list"],
        cwd=tmp_path,
        env={**os.environ, "AIMS_URL": url, "AIMS_API_KEY": "aims.k0.x"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1
    assert out.stdout == ""
    lines = out.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: cannot reach the aims server at {url}")


def test_half_the_environment_is_refused(tmp_path: Path, aims: Any) -> None:
    out = aims(["model", "list"], tmp_path, {"AIMS_URL": "http://127.0.0.1:1"})
    assert out.returncode == 1
    assert "AIMS_API_KEY is not set" in out.stderr


def test_refusals_of_the_server_exit_1_with_its_message(
    server: Server, tmp_path: Path, aims: Any
) -> None:
    def as_(who: str) -> dict[str, str]:
        return {"AIMS_URL": server.url, "AIMS_API_KEY": server.keys[who]}

    data = tmp_path / "d.csv"
    data.write_text("x,y\n1,0\n2,1\n3,0\n")
    # Role too low on the project: 403 from the server, exit 1 here, nothing stored.
    out = aims(["dataset", "register", str(data), "--name", "d"], tmp_path, as_("vic@x.org"))
    assert out.returncode == 1
    assert out.stderr.startswith("error: ") and "needs the scientist role or higher" in out.stderr
    assert (
        json.loads(aims(["dataset", "list", "--format", "json"], tmp_path, as_("vic@x.org")).stdout)
        == []
    )
    # Unknown model: the not-found of local mode.
    out = aims(["model", "show", "nosuch@1"], tmp_path, as_("ana@x.org"))
    assert out.returncode == 1 and "model 'nosuch' is not registered" in out.stderr
    # The team-mode refusal of store writes does not apply: the server decides, and
    # records the key's principal, not $AIMS_USER.
    env = {**as_("ana@x.org"), "AIMS_USER": "mallory@x.org"}
    out = aims(["dataset", "register", str(data), "--name", "d", "--format", "json"], tmp_path, env)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["created"] is True
    from aims.services.audit import EventFilter, query

    events = query(server.ws.db, EventFilter(action="dataset.register"))
    assert [e["actor"] for e in events] == ["ana@x.org"]
    # --break-glass is for the store, not for the server.
    out = aims(
        ["dataset", "register", str(data), "-n", "d", "--break-glass", "--reason", "x"],
        tmp_path,
        env,
    )
    assert out.returncode == 1 and "in remote mode the server decides" in out.stderr


def test_commands_of_a_local_workspace_say_so_in_remote_mode(tmp_path: Path, aims: Any) -> None:
    env = {"AIMS_URL": "http://127.0.0.1:1", "AIMS_API_KEY": "aims.k0.x"}
    for args in (["serve"], ["init", "w"], ["team", "enable"], ["log", "query", "m"]):
        out = aims(args, tmp_path, env)
        assert out.returncode == 1, args
        assert (
            f"'aims {' '.join(args[:2]) if args[0] in ('team', 'log') else args[0]}' has no remote mode"
            in out.stderr
        )
    assert not (tmp_path / "w").exists()
    # Commands that need no store run here as always.
    data = tmp_path / "d.csv"
    data.write_text("x\n1\n2\n")
    out = aims(["contract", "infer", str(data)], tmp_path, env)
    assert out.returncode == 0, out.stderr


@pytest.mark.parametrize("cls", [c for c in error_classes() if "code" in c.__dict__])
def test_every_problem_type_becomes_its_error_class(cls: type[AimsError]) -> None:
    from aims.cli.remote import error_of

    errors = [{"row": 0, "field": "age", "rule": "range", "message": "age is 300"}]
    body = problem(cls.status, cls.code, cls.title, "what went wrong", errors=errors)
    headers = {"Retry-After": "7"} if cls is RateLimited else {}
    error = error_of(cls.status, headers, body)
    assert type(error) is cls
    assert error.message == "what went wrong"
    if cls is ContractViolation:
        assert error.failures == errors  # type: ignore[attr-defined]
    elif cls is GateFailed:
        assert error.rules == ["age is 300"]  # type: ignore[attr-defined]
    else:
        assert error.details == errors
    if cls is RateLimited:
        assert error.headers == {"Retry-After": "7"}


def test_an_answer_that_is_no_problem_maps_by_its_status() -> None:
    from aims.cli.remote import error_of

    error = error_of(502, {}, b"<html>bad gateway</html>")
    assert type(error) is AimsError and "HTTP 502" in error.message
    assert type(error_of(404, {}, b"")).__name__ == "NotFound"


def test_an_admin_manages_people_keys_and_the_audit_log_remotely(
    server: Server, tmp_path: Path, aims: Any
) -> None:
    env = {"AIMS_URL": server.url, "AIMS_API_KEY": server.keys["root@x.org"]}

    def ok(*args: str) -> Any:
        out = aims([*args, "--format", "json"], tmp_path, env)
        assert out.returncode == 0, (args, out.stderr)
        return json.loads(out.stdout)

    assert ok("principals", "add", "zoe@x.org", "--kind", "human")["name"] == "zoe@x.org"
    # --project is needed: the admin's key acts on every project.
    out = aims(["grant", "zoe@x.org", "--role", "viewer"], tmp_path, env)
    assert out.returncode == 1 and "give --project PROJECT" in out.stderr
    granted = ok("grant", "zoe@x.org", "--role", "viewer", "--project", "default")
    assert granted["grants"] == {"default": "viewer"}
    key = ok("keys", "create", "--principal", "zoe@x.org", "--project", "default")
    assert key["role"] == "viewer" and key["api_key"].startswith("aims.")
    listed = {k["key_id"]: k for k in ok("keys", "list", "--project", "default")}
    assert listed[key["key_id"]]["principal"] == "zoe@x.org"
    assert ok("keys", "revoke", key["key_id"], "--reason", "test")["key_id"] == key["key_id"]
    assert ok("revoke-grant", "zoe@x.org", "--project", "default")["grants"] == {}
    assert ok("principals", "disable", "zoe@x.org")["status"] == "disabled"
    people = {p["name"]: p for p in ok("principals", "list")}
    assert people["zoe@x.org"]["status"] == "disabled"

    # Every act was root's, whatever AIMS_USER said.
    events = ok("audit", "log", "--action", "principal.*", "--actor", "root@x.org")
    zoe = [e["action"] for e in events if e["subject"] == "principal:zoe@x.org"]
    assert zoe[0] == "principal.add" and "principal.disable" in zoe
    assert {e["actor"] for e in events} == {"root@x.org"}

    # A checkpoint signed by the server, written here, proves the chain later on.
    cp = tmp_path / "cp.json"
    out = aims(["audit", "checkpoint", "--out", str(cp)], tmp_path, env)
    assert out.returncode == 0, out.stderr
    assert json.loads(cp.read_text())["events"] > 0
    verified = ok("audit", "verify", "--checkpoint", str(cp))
    assert verified["ok"] is True and "checkpoint" in verified
    from aims.services.audit_checkpoint import public_key

    shown = aims(["audit", "public-key"], tmp_path, env)
    assert shown.stdout.strip() == public_key(server.ws.db)
