"""``aims login``, ``aims logout`` and ``aims whoami``: remote mode's credentials.

``aims login URL`` checks an API key against the server (it must exchange for
a token) and saves both in the user's credentials file (mode 0600, see
:mod:`aims.cli.credentials`); from then on every command runs through the
server's API (:mod:`aims.cli.remote`) until ``aims logout``. ``AIMS_URL`` and
``AIMS_API_KEY`` do the same for one shell, without a file.

A single-sign-on login (``--oidc``, the device-code flow of the organisation's
identity provider) saves its own state through
:func:`aims.cli.credentials.save` with ``oidc=...`` instead of a key, and
:meth:`aims.cli.remote.Remote.session` asks ``aims.cli.oidc_login`` for its
tokens; :func:`check_login` is what both call to confirm who they are.
"""

from __future__ import annotations

import sys
from typing import Any

import typer

from aims.cli._output import Format, console, emit, err_console

FORMAT = typer.Option(Format.table, "--format", "-f", help="Output format.")


def check_login(url: str, api_key: str) -> dict[str, Any]:
    """Who ``api_key`` acts for at ``url``, refused (as the server refuses) if it is not valid."""
    from aims.cli.credentials import Credentials
    from aims.cli.remote import Remote, normal_url

    client = Remote(Credentials(normal_url(url), api_key, "the key given to aims login"))
    try:
        return _identity(client)
    finally:
        client.close()


def _identity(client: Any) -> dict[str, Any]:
    session = client.session()
    claims = _claims(session["access_token"])  # read for display only; the server checks
    return {
        "mode": "remote",
        "url": client.url,
        "principal": session.get("principal"),
        "key_id": claims.get("sub"),
        "role": session.get("role"),
        "project": session.get("project"),
        "source": client.where.source,
    }


def _claims(token: str) -> dict[str, Any]:
    try:
        import jwt

        claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
        return claims
    except Exception:  # another kind of token (an identity provider's): nothing to show
        return {}


def _who(d: dict[str, Any]) -> str:
    who = d["principal"] or f"key {d['key_id']} (no principal)"
    return f"{who}, {d['role']} on project {d['project']}"


def login(
    url: str = typer.Argument(..., help="The aims server, e.g. https://aims.example.org."),
    api_key_stdin: bool = typer.Option(
        False,
        "--api-key-stdin",
        help="Read the API key from standard input (for scripts) instead of prompting.",
    ),
    fmt: Format = FORMAT,
) -> None:
    """Log in to an aims server with an API key: every command then runs through its API.

    The key is checked against the server, then saved with the URL in
    $XDG_CONFIG_HOME/aims/credentials.json (~/.config/aims/ by default), readable
    by you only. Commands act as the key's principal ($AIMS_USER is ignored) and
    need no workspace folder. AIMS_URL and AIMS_API_KEY, when set, take
    precedence over the saved credentials. 'aims logout' forgets them."""
    from aims.cli import credentials
    from aims.cli.remote import normal_url
    from aims.errors import InvalidInput

    base = normal_url(url)
    if api_key_stdin:
        key = sys.stdin.readline().strip()
    else:
        key = typer.prompt("API key", hide_input=True).strip()
    if not key:
        raise InvalidInput(
            "no API key given; create one with aims keys create --principal NAME on the "
            "server's workspace and pass it on standard input (--api-key-stdin)"
        )
    data = check_login(base, key)
    data["saved_to"] = str(credentials.save(base, key))
    data["source"] = data["saved_to"]

    def render(d: dict[str, Any]) -> None:
        console.print(f"logged in to {d['url']} as {_who(d)}", highlight=False, soft_wrap=True)
        err_console.print(
            f"credentials saved in {d['saved_to']} (readable by you only); "
            "commands now run through this server until aims logout",
            highlight=False,
            soft_wrap=True,
        )

    emit(data, fmt, render)


def logout(fmt: Format = FORMAT) -> None:
    """Forget the credentials 'aims login' saved; commands work on local workspaces again.

    The key itself stays valid on the server: revoke it there ('aims keys
    revoke KEY_ID') if it may have leaked."""
    import os

    from aims.cli import credentials
    from aims.cli.remote import ENV_KEY, ENV_URL

    removed = credentials.forget()
    data = {
        "removed": None if removed is None else str(removed),
        "environment_still_set": bool(os.environ.get(ENV_URL) or os.environ.get(ENV_KEY)),
    }

    def render(d: dict[str, Any]) -> None:
        if d["removed"]:
            console.print(f"logged out: removed {d['removed']}", highlight=False, soft_wrap=True)
        else:
            console.print("not logged in: no saved credentials", highlight=False)
        if d["environment_still_set"]:
            err_console.print(
                f"{ENV_URL} and {ENV_KEY} are still set in this shell, so remote mode stays "
                "on; unset them to work on a local workspace",
                highlight=False,
                soft_wrap=True,
            )

    emit(data, fmt, render)


def whoami(fmt: Format = FORMAT) -> None:
    """Who the CLI acts as: principal, role and project on the server, or the local actor.

    In remote mode the key is checked with the server; in local mode the actor
    is $AIMS_USER, else the OS user, and no server is asked."""
    from aims.cli.remote import remote
    from aims.workspace import current_actor

    client = remote()
    if client is None:
        data: dict[str, Any] = {"mode": "local", "principal": current_actor()}
    else:
        try:
            data = _identity(client)
        finally:
            client.close()

    def render(d: dict[str, Any]) -> None:
        if d["mode"] == "local":
            console.print(
                f"{d['principal']} (local mode: $AIMS_USER, else the OS user; no server is asked)",
                highlight=False,
                soft_wrap=True,
            )
            return
        console.print(f"{_who(d)} at {d['url']}", highlight=False, soft_wrap=True)

    emit(data, fmt, render)
