"""The HTTP server of aims (``aims serve``): prediction API, labels, metrics, access control.

The app is built by :func:`aims.server.app.create_app`; its parts are one
module each: :mod:`~aims.server.auth` (tokens, roles, projects),
:mod:`~aims.server.routing` (production, canary, shadow),
:mod:`~aims.server.deployments` (reloading what is served),
:mod:`~aims.server.validation` (request checks), :mod:`~aims.server.metrics`
(Prometheus), :mod:`~aims.server.ratelimit` and :mod:`~aims.server.config`.
Importing this package does not import the web stack.
"""
