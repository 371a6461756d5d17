"""The workflow's StoreResults state: Sluiceway's ``sluiceway.functions.store_results`` stage.

A module of the app's own, so that the template names the app's handler (``store_results.handler``); replace
the import with your own code to change what the state does.
"""

from sluiceway.functions.store_results import handler

__all__ = ["handler"]
