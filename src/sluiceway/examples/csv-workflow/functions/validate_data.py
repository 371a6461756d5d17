"""The workflow's ValidateData state: Sluiceway's ``sluiceway.functions.validate`` stage.

A module of the app's own, so that the template names the app's handler (``validate_data.handler``); replace
the import with your own code to change what the state does.
"""

from sluiceway.functions.validate import handler

__all__ = ["handler"]
