"""`loa web`: the terminal UI served to signed-in browsers (see :mod:`scheduler.web.server`).

Only :mod:`scheduler.web.server` imports textual-serve (and aiohttp); the CLI imports it when
the command runs. Nothing here imports textual: each tab's ``loa tui`` is its own process.
"""
