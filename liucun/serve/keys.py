"""API keys: 256 random bits, shown once, stored only as a SHA-256.

A slow password hash would cost every request 50-300 ms; a key with 256 bits of entropy
cannot be guessed, so a plain SHA-256 is the right tool. Keys are compared in constant
time. The store is ``apikeys.json`` in the workspace.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from liucun.errors import LiucunError


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass
class ApiKey:
    name: str
    sha256: str
    created: str
    revoked: str | None = None


class KeyStore:
    """``apikeys.json`` of a workspace; re-read when it changes on disk."""

    def __init__(self, workspace: Path) -> None:
        self.path = Path(workspace) / "apikeys.json"
        self._keys: list[ApiKey] = []
        self._mtime: float | None = None

    def _load(self) -> list[ApiKey]:
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            self._keys, self._mtime = [], None
            return self._keys
        if mtime != self._mtime:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            self._keys = [ApiKey(**k) for k in data]
            self._mtime = mtime
        return self._keys

    def _save(self, keys: list[ApiKey]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps([asdict(k) for k in keys], indent=2), encoding="utf-8")
        os.replace(tmp, self.path)
        self._mtime = None

    def create(self, name: str) -> str:
        """A new key for ``name``; the only time the key itself exists outside its owner."""
        if not name or not name.strip():
            raise LiucunError("an API key needs a name")
        keys = list(self._load())
        if any(k.name == name and k.revoked is None for k in keys):
            raise LiucunError(f"an active key named {name!r} exists: revoke it first")
        key = secrets.token_urlsafe(32)  # 256 random bits
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        keys.append(ApiKey(name, _digest(key), now))
        self._save(keys)
        return key

    def list(self) -> list[ApiKey]:
        return list(self._load())

    def revoke(self, name: str) -> int:
        """Revoke the active keys named ``name``; how many were revoked."""
        keys = list(self._load())
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        n = 0
        for k in keys:
            if k.name == name and k.revoked is None:
                k.revoked = now
                n += 1
        if not n:
            raise LiucunError(f"no active API key named {name!r}")
        self._save(keys)
        return n

    def check(self, key: str | None) -> str:
        """``"ok"``, ``"revoked"`` or ``"unknown"``; every stored hash is compared, in
        constant time, so timing says nothing about which keys exist."""
        if not key:
            return "unknown"
        digest = _digest(key)
        status = "unknown"
        for k in self._load():
            if hmac.compare_digest(digest, k.sha256):
                status = "ok" if k.revoked is None else "revoked"
        return status
