"""The workflow's ErrorHandler state: Sluiceway's ``sluiceway.functions.error_handler`` stage.

A module of the app's own, so that the template names the app's handler (``error_handler.handler``); replace
the import with your own code to change what the state does.
"""

from sluiceway.functions.error_handler import handler

__all__ = ["handler"]
