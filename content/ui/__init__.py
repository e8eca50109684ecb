"""The terminal UI's screens and widgets (Textual). The only part of content/ that imports textual.

``tui.py`` at the top level holds the App; everything it shows lives here. Screens never
touch the database on the UI thread: :mod:`content.ui.data` holds the queries and the
screens run them in thread workers.
"""
