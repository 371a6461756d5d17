"""Cognito user pools' pure parts: JSON Web Tokens, password hashing and policy, token claims.

No I/O here: the pools themselves are kept by ``backends/local/userpools.py`` and served
by the endpoint's ``cognito-idp`` operations.
"""
