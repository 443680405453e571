"""A real OpenID Connect provider for tests: ``oidc-provider-mock`` run as its own process.

The provider listens on a port the OS picks (read back from its log line), signs
ID tokens with RS256, takes any client id, and lets a test set a person's claims
(``PUT /users/<sub>``). Its log is read on a thread, which also counts the
requests for its signing keys (``jwks_fetches``).
"""

from __future__ import annotations

import queue
import re
import subprocess
import sys
import threading
import urllib.parse
from typing import Any

import httpx

_RUNNING = re.compile(r"Uvicorn running on (http://127\.0\.0\.1:\d+)")


class Provider:
    """One provider process; use as a context manager."""

    def __init__(self, *, token_max_age: int = 3600) -> None:
        self.token_max_age = token_max_age
        self.url = ""
        self.jwks_fetches = 0
        self._proc: subprocess.Popen[str] | None = None
        # One client for every call: creating one costs more than a call to the provider.
        self.http = httpx.Client(timeout=10)

    def __enter__(self) -> Provider:
        cmd = [sys.executable, "-m", "oidc_provider_mock", "--port", "0"]
        cmd += ["--token-max-age", str(self.token_max_age)]
        self._proc = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        started: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read_log, args=(started,), daemon=True).start()
        try:
            self.url = started.get(timeout=60)
        except queue.Empty:
            self._proc.kill()
            raise RuntimeError("the OIDC provider did not start within 60 s") from None
        if not self.url:
            raise RuntimeError("the OIDC provider exited before it started listening")
        return self

    def _read_log(self, started: queue.Queue[str]) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        for line in self._proc.stderr:
            match = _RUNNING.search(line)
            if match:
                started.put(match.group(1))
            elif '"GET /jwks ' in line:
                self.jwks_fetches += 1
        started.put("")

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(10)
            if self._proc.stderr is not None:
                self._proc.stderr.close()
        self.http.close()

    def set_user(self, sub: str, **claims: Any) -> None:
        """Give the person ``sub`` these claims in the tokens issued from now on."""
        quoted = urllib.parse.quote(sub, safe="")
        answer = self.http.put(f"{self.url}/users/{quoted}", json=claims)
        assert answer.status_code == 204, answer.text

    def authorize(self, authorization_url: str, sub: str) -> str:
        """Sign ``sub`` in at the provider's form; the redirect back to the client."""
        answer = self.http.post(authorization_url, data={"sub": sub})
        assert answer.status_code == 302, answer.text
        return answer.headers["location"]

    def tokens(self, sub: str, *, client_id: str = "aims", scope: str = "openid email") -> dict:
        """The token answer (``id_token``, ...) for ``sub``, through the authorization code flow."""
        redirect = "http://127.0.0.1:9/callback"
        params = {
            "client_id": client_id,
            "redirect_uri": redirect,
            "response_type": "code",
            "scope": scope,
            "state": "s",
            "nonce": "n",
        }
        location = self.authorize(
            f"{self.url}/oauth2/authorize?{urllib.parse.urlencode(params)}", sub
        )
        code = urllib.parse.parse_qs(urllib.parse.urlparse(location).query)["code"][0]
        answer = self.http.post(
            f"{self.url}/oauth2/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect,
                "client_id": client_id,
                "client_secret": "unused",
            },
        )
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def id_token(self, sub: str, **kw: Any) -> str:
        """A signed ID token for ``sub`` (what the API accepts as a bearer token)."""
        return str(self.tokens(sub, **kw)["id_token"])
