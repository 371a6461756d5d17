"""Where AWS credentials would come from on this machine (nothing talks to an AWS API)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import botocore.session

logger = logging.getLogger(__name__)

__all__ = ["credential_source"]


def credential_source(env: Mapping[str, str]) -> str | None:
    """botocore's own resolution chain (environment, profiles, SSO, web identity, containers,
    instance metadata): the method that would provide credentials, or None."""
    session = botocore.session.Session()
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        if env.get(name):
            session.set_config_variable("profile", env[name])
            break
    try:
        credentials = session.get_credentials()
    except Exception as exc:  # any failure to resolve means "no usable credentials"; the reason is logged
        logger.debug("credential resolution failed", extra={"error": str(exc)})
        return None
    if credentials is None:
        return None
    return str(getattr(credentials, "method", "") or "botocore")
