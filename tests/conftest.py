"""Shared fixtures. Real parts only: a real SQLite file, a real PostgreSQL server, real HTTP."""

from __future__ import annotations
