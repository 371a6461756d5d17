"""Lambda's tenant isolation mode: which invocations a function takes, and under which tenant.

A function created with ``TenancyConfig: {TenantIsolationMode: PER_TENANT}`` (create-only: a
function cannot gain or lose it) must be invoked with a tenant identifier (Invoke's ``TenantId``,
the ``X-Amz-Tenant-Id`` header), and every execution environment it gets serves one tenant only:
two tenants never share module-level state (:mod:`.workers` keys its workers by function and
tenant). The handler reads the tenant as ``context.tenant_id``. A function without the mode takes
a tenant identifier and ignores it: its environments are shared by all callers, and
``context.tenant_id`` is None. (A published SAM app maps ``X-Amz-Tenant-Id`` onto a function without
the mode, and its README shows AWS answering 200; Invoke's ``TenantId`` is that same header.)

The checks come from botocore's model (``TenantId``: 1-256 characters of
``[a-zA-Z0-9._:/=+\\-@ ]``) and Lambda's documentation (a tenant-isolated function needs a
tenant id on every invocation). The exact words of Lambda's two refusals could not be confirmed
against AWS: the codes are the Invoke API's ``InvalidParameterValueException`` (400), the messages
ours.
"""

from __future__ import annotations

import re

__all__ = ["PER_TENANT", "TENANT_ID_PATTERN", "tenancy_config", "tenancy_mode", "tenant_refusal"]

PER_TENANT = "PER_TENANT"
"""The one ``TenantIsolationMode`` Lambda has."""
TENANT_ID_PATTERN = r"[a-zA-Z0-9\._:\/=+\-@ ]+"
"""``TenantId``'s pattern in Lambda's API model, quoted by the validation error."""
_TENANT_ID = re.compile(TENANT_ID_PATTERN)
_MAX_TENANT_ID = 256


def tenancy_mode(config: object) -> str | None:
    """The ``TenantIsolationMode`` of a ``TenancyConfig`` (None for none), or ValueError in Lambda's words."""
    if config is None:
        return None
    mode = config.get("TenantIsolationMode") if isinstance(config, dict) else None
    if mode != PER_TENANT:
        raise ValueError(
            f"1 validation error detected: Value '{mode}' at 'tenancyConfig.tenantIsolationMode' failed to satisfy"
            f" constraint: Member must satisfy enum value set: [{PER_TENANT}]"
        )
    return PER_TENANT


def tenancy_config(mode: str | None) -> dict[str, dict[str, str]]:
    """The ``TenancyConfig`` member of a function's configuration: absent without the mode, as Lambda shows it."""
    return {"TenancyConfig": {"TenantIsolationMode": mode}} if mode else {}


def tenant_refusal(mode: str | None, tenant_id: str | None) -> tuple[str, str] | None:
    """Why Lambda refuses ``tenant_id`` for a function in ``mode``: ``(error code, message)``, or None.

    The format comes first (a malformed header is refused for any function), then the mode.
    """
    if tenant_id is not None and (len(tenant_id) > _MAX_TENANT_ID or not _TENANT_ID.fullmatch(tenant_id)):
        constraint = (
            f"Member must have length less than or equal to {_MAX_TENANT_ID}"
            if len(tenant_id) > _MAX_TENANT_ID
            else f"Member must satisfy regular expression pattern: {TENANT_ID_PATTERN}"
        )
        if not tenant_id:
            constraint = "Member must have length greater than or equal to 1"
        return (
            "ValidationException",
            f"1 validation error detected: Value '{tenant_id}' at 'tenantId' failed to satisfy constraint: {constraint}",
        )
    if mode == PER_TENANT and tenant_id is None:
        # Unconfirmed wording (see the module docstring).
        return "InvalidParameterValueException", "TenantId is required for functions with tenant isolation mode enabled."
    return None
