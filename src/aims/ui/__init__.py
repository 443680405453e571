"""The dashboard: server-rendered pages at ``/ui`` (Jinja2, a little JavaScript, vendored uPlot)."""
