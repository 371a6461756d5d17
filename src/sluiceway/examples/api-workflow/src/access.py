"""What the API's handlers share: the caller's verified identity, and HTTP API answers (payload format 2.0).

The HttpApi's JWT authorizer has verified the token before a handler runs (signature, issuer,
audience, expiry); its claims arrive in ``event.requestContext.authorizer.jwt.claims``. A handler
only decides what the verified caller may do.
"""

import json


def claims(event):
    """The verified token's claims (empty when no authorizer ran: the handler then refuses)."""
    context = event.get("requestContext") or {}
    return ((context.get("authorizer") or {}).get("jwt") or {}).get("claims") or {}


def groups(verified):
    """The caller's Cognito groups.

    API Gateway hands an HTTP API's handler every claim as a string: a list claim such as
    ``cognito:groups`` arrives as ``"[submitters viewers]"``. A list (a test event, a REST API's
    authorizer) is taken as it is.
    """
    value = verified.get("cognito:groups")
    if value is None:
        return set()
    if isinstance(value, list):
        return {str(group) for group in value}
    text = str(value).strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return {group for group in text.replace(",", " ").split() if group}


def answer(status, body):
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body, default=str),
    }
