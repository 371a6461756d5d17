"""The management API's routes, one module per AWS service they read or act on."""
