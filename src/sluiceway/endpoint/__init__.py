"""The AWS-compatible endpoint: AWS's wire protocols over the local backends, on one port.

Layout:
    protocol/   requests to input shapes and output shapes to responses, from botocore's models
    routing.py  which service a request is for (SigV4 scope, X-Amz-Target, host, path)
    sigv4.py    signature checks (``--require-auth`` and non-loopback binds)
    services/   one module per service: its operations, each a small function over the ports
    server.py   the HTTP server, ``/_sluiceway/`` routes beside AWS's
"""
