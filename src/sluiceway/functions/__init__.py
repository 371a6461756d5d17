"""The pipeline's Lambda-style functions, one module per state of DataProcessingWorkflow.

======================  =================================  ==============================
state                   module                             stage function
======================  =================================  ==============================
ValidateData            :mod:`.validate`                   :func:`.validate.validate`
ProcessChunk (Map)      :mod:`.process_chunk`              :func:`.process_chunk.process_chunk`
AggregateData           :mod:`.aggregate`                  :func:`.aggregate.aggregate`
StoreResults            :mod:`.store_results`              :func:`.store_results.store_results`
ErrorHandler            :mod:`.error_handler`              :func:`.error_handler.handle_error`
======================  =================================  ==============================

Each module's ``handler(event, context)`` is a shim: it gets the process's
services from :func:`sluiceway.services.get_services` and calls the stage
function, which works on plain values and ports and is tested without wiring.
The output layout is described in :mod:`._common`.
"""

from __future__ import annotations
