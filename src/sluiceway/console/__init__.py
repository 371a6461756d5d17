"""Sluiceway's web console: a static single-page app over the management API, and its graph of an execution.

The browser app (``static/``) signs in through the default user pool and reads and steers the
stack only through the management API (:mod:`sluiceway.api`), so it shows nothing a token's role
could not read with ``curl``. The endpoint serves the files (:mod:`.assets`); nothing is fetched
from elsewhere, so the console works offline.
"""
