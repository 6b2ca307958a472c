"""The clinician console: server-rendered pages over the same services as the API (docs/console.md).

``chalicelib.console.routes.bp`` holds every console route (app.py registers it).
"""
