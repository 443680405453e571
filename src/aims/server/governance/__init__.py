"""The governance API: every governance act of the CLI, over HTTP.

Each module holds the routes of one family of acts and exposes ``router``.
Every route is secured with :func:`aims.server.auth.require` (its lowest role)
and checks the project of what it touches; the actor recorded in the audit log
is always the token's principal (:attr:`aims.server.auth.Principal.actor`),
never a name sent in the request. A route answers with the same document the
matching service returns, so the CLI renders local and remote results alike.
"""

from __future__ import annotations

from fastapi import APIRouter

from aims.server.governance import (
    access,
    admin,
    applicability,
    audit_log,
    datasets,
    decisions,
    elevation,
    evaluations,
    evidence,
    gateway,
    incidents,
    labels_files,
    models,
    monitoring,
    reports,
    reviews,
)

__all__ = ["routers"]


def routers() -> list[APIRouter]:
    """Every router of the governance API, in the order of the OpenAPI document."""
    return [
        datasets.router,
        models.router,
        evaluations.router,
        decisions.router,
        incidents.router,
        monitoring.router,
        labels_files.router,
        admin.router,
        elevation.router,
        access.router,
        audit_log.router,
        reports.router,
        applicability.router,
        evidence.router,
        reviews.router,
        gateway.router,
    ]
