"""Local HTTP stand-ins of the Facebook Graph API and the Zalo OA API.

Loa's real httpx clients run unchanged against them: one Starlette app serves the Graph API under
``/graph``, Zalo's OpenAPI under ``/zalo``, Zalo's OAuth host under ``/zalo-oauth`` and a control
API under ``/_sandbox``.  Start one with :func:`sandbox.testing.running_sandbox` (tests) or
``loa sandbox`` (demo).  Nothing here is imported by ``content/`` or ``scheduler/``.
"""
