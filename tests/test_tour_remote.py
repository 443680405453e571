"""The README's tour in both modes: on a local workspace, and through the API of a
team-mode ``aims serve`` on loopback, with the same outputs.

The ``aims`` commands are read from the README's tour, in order, with the
``AIMS_USER=...`` that prefixes some of them. Each runs twice: in local mode
(``AIMS_USER`` names who acts) and in remote mode (``AIMS_URL`` and
``AIMS_API_KEY``: ana and raj are principals of a team-mode workspace with
grants and a key each). What each prints is compared after replacing
timestamps, ids and durations; everything else must be equal, exit codes
included. Only ``init`` and ``serve`` differ by design (a team server is set
up by its admin, see :func:`team_server`), and ``aims keys create`` is part of
that set-up. The tour's ``curl`` prediction is sent by the test to each mode's
server, and its label file written the same way.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.test_tour import VENV_BIN, free_port, tour_blocks

pytestmark = pytest.mark.slow

PEOPLE = ("ana@example.org", "raj@example.org")
SET_UP = {"init", "serve", "keys"}
"""Commands of the tour that set a workspace up: run as the mode needs, not compared."""
NO_STORE = {"drift"}
"""Commands that need no store: run in both modes, their output files not compared."""


@dataclass
class Step:
    """One ``aims`` command of the tour."""

    line: str
    args: list[str]
    user: str | None = None
    """The ``AIMS_USER=`` given on the line itself, if any."""
    redirect: str | None = None
    """The file its standard output goes to (``> FILE``), if any."""

    @property
    def command(self) -> str:
        return self.args[0]


@dataclass
class Tour:
    """The commands of the README's tour, the actor it exports, and its extra settings."""

    actor: str
    steps: list[Step] = field(default_factory=list)
    settings: str = ""


def read_tour() -> tuple[str, Tour]:
    """The tour's data script, and its ``aims`` commands in order."""
    make_data, shell = tour_blocks()
    lines = shell.replace("\\\n", " ").splitlines()
    actor, tour = None, Tour(actor="")
    for line in lines:
        text = line.strip()
        if not text or "$(" in text:
            continue  # the tour's key and token exchanges: set-up, done by the test
        if text.startswith("printf") and ">> aims.yaml" in text:
            settings = shlex.split(text)[1].encode().decode("unicode_escape")
            # Each mode's prediction and monitor pass must fall in one window for the two
            # passes to say the same; an hour's window makes that all but certain (and
            # the test waits out a window's last minutes before predicting).
            tour.settings += re.sub(r"(?m)^(\s*window:).*$", r"\1 1h", settings)
            continue
        if not re.match(r"^(export |([A-Z_]+=\S+ )*aims )", text):
            continue  # curl, python, cd, ...: done by the test where the tour needs them
        words = shlex.split(text, comments=True)
        if words[:1] == ["export"]:
            name, _, value = words[1].partition("=")
            if name == "AIMS_USER":
                actor = value
            continue
        user = None
        while words and re.match(r"^[A-Z_]+=", words[0]):
            name, _, value = words.pop(0).partition("=")
            if name == "AIMS_USER":
                user = value
        if words[:1] != ["aims"]:
            continue
        args = words[1:]
        redirect = None
        if ">" in args:
            redirect = args[args.index(">") + 1]
            args = args[: args.index(">")]
        tour.steps.append(Step(text, args, user, redirect))
    assert actor in PEOPLE, "the tour exports AIMS_USER as one of its people"
    tour.actor = actor
    return make_data, tour


# ----------------------------------------------------------------------------- running
@dataclass
class Run:
    code: int
    out: str
    err: str


class Cli:
    """``aims`` run in this process through its entry point, as the console script runs it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
        self.monkeypatch = monkeypatch
        self.capsys = capsys

    def __call__(self, args: list[str], cwd: Path, env: dict[str, str]) -> Run:
        from aims.cli.main import main

        self.capsys.readouterr()
        with self.monkeypatch.context() as m:
            m.chdir(cwd)
            for name in ("AIMS_URL", "AIMS_API_KEY", "AIMS_USER"):
                m.delenv(name, raising=False)
            for name, value in env.items():
                m.setenv(name, value)
            try:
                main(args)
                code = 0
            except SystemExit as exc:
                code = int(exc.code or 0)
        out = self.capsys.readouterr()
        return Run(code, out.out, out.err)


@contextlib.contextmanager
def serving(ws: Path) -> Iterator[str]:
    """``aims serve`` on a free loopback port of ``ws``; yields its URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIMS_")}
    log = (ws / "serve.log").open("w")
    proc = subprocess.Popen(
        [str(VENV_BIN / "aims"), "serve", "--port", str(port)],
        cwd=ws,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                    break
            assert proc.poll() is None, (ws / "serve.log").read_text()
            assert time.monotonic() < deadline, "aims serve did not become ready"
            time.sleep(0.2)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
        log.close()


WINDOW = 3600
"""The monitor's window in both modes (see :func:`read_tour`)."""
MARGIN = 120
"""Seconds a window must still have left when the prediction is sent."""


def predict_and_label(url: str, api_key: str, ws: Path) -> str:
    """The tour's prediction (its four features) and the label file of its answer.

    Sent early enough in a window that the monitor pass which follows sees the
    window still open, in either mode.
    """
    while WINDOW - time.time() % WINDOW < MARGIN:
        time.sleep(1)  # the clock itself is what is waited for
    token = httpx.post(f"{url}/v1/auth/token", json={"api_key": api_key}, timeout=30)
    assert token.status_code == 200, token.text
    record = {
        "mean_radius": 14.1,
        "mean_texture": 19.3,
        "mean_smoothness": 0.096,
        "mean_concavity": 0.089,
    }
    # A running server takes a promotion up at its next poll of the store (server.poll_interval):
    # wait for the model to be served, as the README's tour waits for /readyz.
    bearer = {"authorization": f"Bearer {token.json()['access_token']}"}
    deadline = time.monotonic() + 60
    while httpx.get(f"{url}/v1/models/biopsy", headers=bearer, timeout=30).status_code != 200:
        assert time.monotonic() < deadline, "the promoted model was never served"
        time.sleep(0.2)  # polling the server's state, not waiting out a guess
    answer = httpx.post(
        f"{url}/v1/models/biopsy/predict",
        json={"records": [record]},
        headers={"authorization": f"Bearer {token.json()['access_token']}"},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    pid = answer.json()["predictions"][0]["prediction_id"]
    (ws / "labels.csv").write_text(f"prediction_id,label\n{pid},1\n")
    return str(pid)


def key_of(run: Run) -> str:
    assert run.code == 0, run.err
    return str(json.loads(run.out)["api_key"])


# ----------------------------------------------------------------------------- the modes
@dataclass
class Mode:
    """How one mode runs the tour's commands."""

    name: str
    ws: Path
    env_of: dict[str, dict[str, str]]
    """The environment of each person's commands."""
    predictor_key: str = ""
    url: str = ""


def local_mode(cli: Cli, base: Path, init: Step) -> Mode:
    """The tour as written: a local workspace, AIMS_USER naming who acts."""
    run = cli(init.args, base, {"AIMS_USER": PEOPLE[0]})
    assert run.code == 0, run.err
    ws = base / init.args[1]
    return Mode("local", ws, {p: {"AIMS_USER": p} for p in PEOPLE})


@contextlib.contextmanager
def team_server(cli: Cli, base: Path, init: Step, settings: str) -> Iterator[Mode]:
    """A team-mode workspace as its admin sets it up, served: ana operates every
    project and raj approves on the default one, each with a key of their own."""
    admin = {"AIMS_USER": "root@example.org"}
    run = cli(init.args, base, admin)
    assert run.code == 0, run.err
    ws = base / init.args[1]
    with (ws / "aims.yaml").open("a") as f:
        f.write(settings)
    steps = [
        ["principals", "add", "root@example.org", "--kind", "human"],
        ["principals", "add", PEOPLE[0], "--kind", "human"],
        ["principals", "add", PEOPLE[1], "--kind", "human"],
        ["grant", PEOPLE[0], "--role", "operator", "--project", "*"],
        ["grant", PEOPLE[1], "--role", "approver"],
    ]
    for args in steps:
        run = cli(args, ws, admin)
        assert run.code == 0, run.err
    env_of = {}
    for person, project in ((PEOPLE[0], "*"), (PEOPLE[1], "default")):
        args = ["keys", "create", "--principal", person, "--project", project, "--format", "json"]
        env_of[person] = {"AIMS_API_KEY": key_of(cli(args, ws, admin))}
    predictor = key_of(
        cli(["keys", "create", "--role", "predictor", "--format", "json"], ws, admin)
    )
    run = cli(["team", "enable", "--admin", "root@example.org"], ws, admin)
    assert run.code == 0, run.err
    with serving(ws) as url:
        for env in env_of.values():
            env["AIMS_URL"] = url
            env["AIMS_USER"] = "mallory@example.org"  # ignored in remote mode
        yield Mode("remote", ws, env_of, predictor, url)


AFTER = [
    "aims model list",
    "aims model show biopsy",
    "aims model show biopsy@1 --format json",
    "aims model owners biopsy monitoring=kim@example.org",
    "aims history biopsy --format json",
    "aims risk list",
    "aims risk show biopsy --format json",
    "aims gates biopsy@1 --format json",
    "aims incidents list --status all --format json",
    "aims monitor windows biopsy",
    "aims monitor windows biopsy --format json",
]
"""Commands the tour mentions or a reader runs next, compared the same way."""


def play(cli: Cli, mode: Mode, tour: Tour, data: Path) -> dict[str, Run]:
    """Run the tour's commands in ``mode``; what each printed, by its line."""
    for name in ("train.parquet", "holdout.parquet", "model.skops", "risk.yaml"):
        shutil.copy(data / name, mode.ws / name)
    if mode.name == "local":
        with (mode.ws / "aims.yaml").open("a") as f:
            f.write(tour.settings)
    outputs: dict[str, Run] = {}
    with contextlib.ExitStack() as stack:
        for step in tour.steps:
            if step.command == "init":
                continue
            if step.command == "serve":
                if mode.name == "local":
                    args = ["keys", "create", "--role", "predictor", "--format", "json"]
                    mode.predictor_key = key_of(cli(args, mode.ws, mode.env_of[tour.actor]))
                    mode.url = stack.enter_context(serving(mode.ws))
                pid = predict_and_label(mode.url, mode.predictor_key, mode.ws)
                if mode.name == "local":
                    wait_until_logged(cli, mode, pid)
                continue
            env = mode.env_of[step.user or tour.actor]
            run = cli(step.args, mode.ws, env)
            if step.redirect:
                (mode.ws / step.redirect).write_text(run.out)
            outputs[step.line] = run
        for line in AFTER:
            outputs[line] = cli(shlex.split(line)[1:], mode.ws, mode.env_of[tour.actor])
    return outputs


def wait_until_logged(cli: Cli, mode: Mode, pid: str) -> None:
    """Until the server's log writer has written the prediction (labels join the log)."""
    deadline = time.monotonic() + 60
    args = ["log", "query", "biopsy", "--format", "json"]
    while pid not in cli(args, mode.ws, mode.env_of[PEOPLE[0]]).out:
        assert time.monotonic() < deadline, "the prediction never reached the log"
        time.sleep(0.2)


# ----------------------------------------------------------------------------- comparing
NORMAL = [
    # Timestamps: ISO 8601 (with T or a space, any zone), and clock times.
    (
        re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?"),
        "<TIME>",
    ),
    (re.compile(r"\b\d{2}:\d{2}\b"), "<TIME>"),
    # Ids: hex ids and hashes, label batches, audit sequence numbers and counts.
    (re.compile(r"\b[0-9a-f]{12,64}\b"), "<ID>"),
    (re.compile(r"\(batch [^)]+\)"), "(batch <ID>)"),
    (re.compile(r"\d+ events, head #\d+"), "<N> events, head #<ID>"),
    # Durations.
    (re.compile(r"\b\d+(\.\d+)?(ms|s|m|h|d)\b"), "<DURATION>"),
]


def normal(text: str) -> str:
    for pattern, replacement in NORMAL:
        text = pattern.sub(replacement, text)
    return text


def test_the_tour_prints_the_same_in_local_and_remote_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    make_data, tour = read_tour()
    commands = {s.command for s in tour.steps}
    assert {"dataset", "model", "evaluate", "approve", "promote", "audit"} <= commands
    monkeypatch.setenv("COLUMNS", "200")  # the same table widths in both modes
    data = tmp_path / "data"
    data.mkdir()
    (data / "make_data.py").write_text(make_data)
    made = subprocess.run(
        [sys.executable, "make_data.py"], cwd=data, capture_output=True, text=True, timeout=300
    )
    assert made.returncode == 0, made.stderr
    cli = Cli(monkeypatch, capsys)
    init = next(s for s in tour.steps if s.command == "init")

    (tmp_path / "local").mkdir()
    local = play(cli, local_mode(cli, tmp_path / "local", init), tour, data)
    (tmp_path / "remote").mkdir()
    with team_server(cli, tmp_path / "remote", init, tour.settings) as mode:
        remote = play(cli, mode, tour, data)

    compared = [s for s in tour.steps if s.command not in SET_UP]
    assert len(compared) >= 15
    compared += [Step(line, shlex.split(line)[1:]) for line in AFTER]
    differ = []
    for step in compared:
        here, there = local[step.line], remote[step.line]
        assert (here.code, there.code) == (0, 0), f"{step.line}\n{here.err}\n{there.err}"
        if step.command in NO_STORE:
            assert (mode.ws / str(step.redirect)).stat().st_size > 0
            continue
        for stream in ("out", "err"):
            mine, theirs = normal(getattr(here, stream)), normal(getattr(there, stream))
            if mine != theirs:
                differ.append(f"{step.line} ({stream})\n--- local\n{mine}\n--- remote\n{theirs}")
    assert not differ, "\n\n".join(differ)
    # Remote mode acted as the principals of the keys, whatever AIMS_USER said.
    events = cli(["audit", "log", "--format", "json"], mode.ws, {"AIMS_USER": "root@example.org"})
    actors = {e["action"]: e["actor"] for e in json.loads(events.out)}
    assert actors["model.approve"] == PEOPLE[1]
    assert actors["model.register"] == PEOPLE[0]
    assert "mallory@example.org" not in events.out
