"""A user's account after sign-up: their attributes (Admin/Update/DeleteUserAttributes, verifying a
changed email or phone number), their password (ChangePassword, ForgotPassword, ConfirmForgotPassword,
AdminResetUserPassword) and DeleteUser.

The self-service operations take an access token (scope ``aws.cognito.signin.user.admin``), as in
Cognito; the codes they rely on are ``_userpool_codes.py``'s.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

from ...cognito.errors import CognitoError
from ...cognito.passwords import check_policy, verify_password
from ...cognito.pools import check_attributes
from ._userpool_codes import UserPoolCodes, delivery_for_recovery, masked, recovery_order, simulated_delivery
from ._userpool_users import User, attributes_of

__all__ = ["UserPoolAccount"]

_FORGOT = "forgot_password"
_VERIFIABLE = ("email", "phone_number")
_SIGN_IN = "sign_in"


def _invalid_attributes(problems: Iterable[str]) -> CognitoError:
    return CognitoError("InvalidParameterException", "Invalid user attributes: " + "".join(f"{p}\n" for p in problems))


def _check_writable(client: Mapping[str, Any], names: Iterable[str]) -> None:
    """Refuse, as Cognito does, an attribute the app client may not write on the user's behalf.

    A user may not mark their own email or phone number verified unless the app client lists
    ``*_verified`` among its WriteAttributes explicitly: without a code that would verify an
    address nobody checked, and an authorizer that trusts ``email_verified`` would be deceived.
    """
    writable = client.get("WriteAttributes")
    for name in names:
        explicitly = writable is not None and name in writable
        # Developer-only attributes are for administrators' calls alone, whatever the client says.
        if (writable is not None and name not in writable) or (name.endswith("_verified") and not explicitly) or name.startswith("dev:"):
            raise CognitoError("NotAuthorizedException", "A client attempted to write unauthorized attribute")


def _refuse_unless_confirmed(user: User) -> None:
    """ChangePassword's refusals: as sign-in refuses such a user (a reset one must use the code)."""
    if not user.enabled:
        raise CognitoError("NotAuthorizedException", "User is disabled.")
    if user.status == "UNCONFIRMED":
        raise CognitoError("UserNotConfirmedException", "User is not confirmed.")
    if user.status == "RESET_REQUIRED":
        raise CognitoError("PasswordResetRequiredException", "Password reset required for the user")
    if user.status != "CONFIRMED":
        raise CognitoError("NotAuthorizedException", "User password cannot be changed in the current state.")


def _refuse_force_change(user: User) -> None:
    """An administrator's user still on the temporary password answers its challenge, never a reset."""
    if user.status == "FORCE_CHANGE_PASSWORD":
        raise CognitoError("NotAuthorizedException", "User password cannot be reset in the current state.")


class UserPoolAccount(UserPoolCodes):
    """Attributes, passwords and deletion of existing users (see :class:`~.userpools.SqliteUserPools`)."""

    # -------------------------------------------------------------- attributes

    def admin_update_user_attributes(self, pool_id: str, username: str, attributes: Iterable[Mapping[str, str]]) -> None:
        """AdminUpdateUserAttributes: an administrator may set any mutable attribute, ``*_verified`` too.

        A changed email or phone number becomes unverified unless the same call verifies it (Cognito's rule).
        """
        pool = self.must_pool(pool_id)
        with self.db.transaction() as conn:
            user = self._must_user(conn, pool_id, username)
            self._update_attributes(conn, pool, user, attributes_of(attributes))

    def update_user_attributes(self, access_token: str, attributes: Iterable[Mapping[str, str]]) -> list[dict[str, str]]:
        """UpdateUserAttributes: the signed-in user changes their own attributes, within the app client's
        WriteAttributes (see :func:`_check_writable`). Returns the CodeDeliveryDetailsList of the codes
        that verify a changed email or phone number (for VerifyUserAttribute).
        """
        claims, user = self._access(access_token)
        changes = attributes_of(attributes)
        _check_writable(self.must_client(str(claims.get("client_id"))), changes)
        pool = self.must_pool(user.pool_id)
        with self.db.transaction() as conn:
            user = self._must_user(conn, user.pool_id, user.username)
            changed = self._update_attributes(conn, pool, user, changes)
            deliveries = []
            for attribute in changed:
                if attribute in (pool.get("AutoVerifiedAttributes") or []):
                    self._issue_code(conn, user, f"verify_{attribute}", target=changes[attribute])
                    deliveries.append(
                        {
                            "Destination": masked(attribute, changes[attribute]),
                            "DeliveryMedium": "EMAIL" if attribute == "email" else "SMS",
                            "AttributeName": attribute,
                        }
                    )
        return deliveries

    def _challenge_attributes(
        self, conn: sqlite3.Connection, pool: Mapping[str, Any], client: Mapping[str, Any], user: User, changes: dict[str, str]
    ) -> None:
        """The attributes a NEW_PASSWORD_REQUIRED answer sets (``userAttributes.*``): those the pool
        requires and the user lacks, and others the app client may write, checked as UpdateUserAttributes
        checks them (so a temporary password buys no verified flag nor another user's alias).

        Cognito's guide: "you can't modify a required attribute that already has a value" there; it
        answers NotAuthorizedException "Cannot modify an already provided <name>", even for the value
        the user already has (UpdateUserAttributes is the way to change it afterwards).
        """
        for name in changes:
            if name.endswith("_verified"):
                # Whatever the client may write elsewhere: a temporary password proves no address
                # (Cognito refuses it so in this challenge).
                raise CognitoError("InvalidParameterException", f"Cannot modify the non-mutable attribute {name}")
        _check_writable(client, changes)
        required = {str(a["Name"]) for a in pool["SchemaAttributes"] if a.get("Required")}
        for name in changes:
            if name in required and user.attributes.get(name):
                raise CognitoError("NotAuthorizedException", f"Cannot modify an already provided {name}")
        self._update_attributes(conn, pool, user, changes)

    def _update_attributes(self, conn: sqlite3.Connection, pool: Mapping[str, Any], user: User, changes: dict[str, str]) -> list[str]:
        """Apply ``changes`` to ``user``; returns the verifiable attributes whose value changed unverified."""
        schema = {str(a["Name"]): a for a in pool["SchemaAttributes"]}
        check_attributes(changes, schema.values(), creating=False)
        immutable = [n for n in changes if not schema[n].get("Mutable", True)]
        if immutable:
            raise CognitoError(
                "InvalidParameterException",
                f"Invalid user attributes: user.{immutable[0]}: Attribute cannot be updated. (changing an immutable attribute)",
            )
        updated = {**user.attributes, **changes}
        unverified = []
        for attribute in _VERIFIABLE:
            flag = f"{attribute}_verified"
            if attribute in changes and changes[attribute] != user.attributes.get(attribute):
                # A code sent to the old value must not verify the new one (by anyone's hand).
                self._drop_code(conn, user, f"verify_{attribute}")
            if attribute in changes and changes[attribute] != user.attributes.get(attribute) and flag not in changes:
                updated[flag] = "false"
                unverified.append(attribute)
            if attribute in changes and self._taken(conn, pool, user, attribute, changes[attribute]):
                raise CognitoError("AliasExistsException", f"An account with the given {attribute.replace('_', ' ')} already exists.")
        conn.execute(
            "UPDATE cognito_users SET attributes=?, updated_at=? WHERE pool_id=? AND username_key=?",
            (json.dumps(updated), self.clock.now().timestamp(), user.pool_id, user.key),
        )
        return unverified

    def _taken(self, conn: sqlite3.Connection, pool: Mapping[str, Any], user: User, attribute: str, value: str) -> bool:
        """Whether another user signs in with ``value`` (a username or alias attribute must stay unique)."""
        if attribute not in (pool.get("UsernameAttributes") or []) + (pool.get("AliasAttributes") or []):
            return False
        row = conn.execute(
            "SELECT 1 FROM cognito_users WHERE pool_id=? AND username_key<>? AND json_extract(attributes, ?) = ?",
            (user.pool_id, user.key, f'$."{attribute}"', value),
        ).fetchone()
        return row is not None

    def admin_delete_user_attributes(self, pool_id: str, username: str, names: Iterable[str]) -> None:
        """AdminDeleteUserAttributes: every name must be in the pool's schema, and none required."""
        pool = self.must_pool(pool_id)
        with self.db.transaction() as conn:
            user = self._must_user(conn, pool_id, username)
            self._delete_attributes(conn, pool, user, list(names))

    def delete_user_attributes(self, access_token: str, names: Iterable[str]) -> None:
        """DeleteUserAttributes: the signed-in user's own, within the app client's WriteAttributes."""
        claims, user = self._access(access_token)
        wanted = list(names)
        writable = self.must_client(str(claims.get("client_id"))).get("WriteAttributes")
        if any((writable is not None and n not in writable) or n.startswith("dev:") for n in wanted):
            raise CognitoError("NotAuthorizedException", "A client attempted to write unauthorized attribute")
        pool = self.must_pool(user.pool_id)
        with self.db.transaction() as conn:
            self._delete_attributes(conn, pool, self._must_user(conn, user.pool_id, user.username), wanted)

    def _delete_attributes(self, conn: sqlite3.Connection, pool: Mapping[str, Any], user: User, names: list[str]) -> None:
        schema = {str(a["Name"]): a for a in pool["SchemaAttributes"]}
        unknown = [f"user.{n}: Attribute does not exist in the schema." for n in names if n not in schema or n == "sub"]
        if unknown:
            raise _invalid_attributes(unknown)
        required = [f"user.{n}: The attribute is required" for n in names if schema[n].get("Required")]
        if required:
            raise _invalid_attributes(required)
        kept = {k: v for k, v in user.attributes.items() if k not in names}
        for attribute in _VERIFIABLE:
            if attribute in names:
                self._drop_code(conn, user, f"verify_{attribute}")
        conn.execute(
            "UPDATE cognito_users SET attributes=?, updated_at=? WHERE pool_id=? AND username_key=?",
            (json.dumps(kept), self.clock.now().timestamp(), user.pool_id, user.key),
        )

    def get_user_attribute_verification_code(self, access_token: str, attribute: str) -> dict[str, str]:
        """GetUserAttributeVerificationCode: a new code for the user's email or phone number."""
        _, user = self._access(access_token)
        with self.db.transaction() as conn:
            user = self._must_user(conn, user.pool_id, user.username)
            value = user.attributes.get(attribute) if attribute in _VERIFIABLE else None
            if not value:
                raise CognitoError("InvalidParameterException", f"Invalid attribute name: {attribute}")
            self._issue_code(conn, user, f"verify_{attribute}", target=value)
        return {
            "Destination": masked(attribute, value),
            "DeliveryMedium": "EMAIL" if attribute == "email" else "SMS",
            "AttributeName": attribute,
        }

    def verify_user_attribute(self, access_token: str, attribute: str, code: str) -> None:
        """VerifyUserAttribute: the code sent for ``attribute`` marks it verified."""
        _, user = self._access(access_token)
        if attribute not in _VERIFIABLE:
            raise CognitoError("InvalidParameterException", f"Invalid attribute name: {attribute}")
        refused: CognitoError | None = None
        with self.db.transaction() as conn:
            user = self._must_user(conn, user.pool_id, user.username)
            refused = self._use_code(conn, user, f"verify_{attribute}", code, target=user.attributes.get(attribute, ""))
            if refused is None:
                conn.execute(
                    "UPDATE cognito_users SET attributes=?, updated_at=? WHERE pool_id=? AND username_key=?",
                    (
                        json.dumps({**user.attributes, f"{attribute}_verified": "true"}),
                        self.clock.now().timestamp(),
                        user.pool_id,
                        user.key,
                    ),
                )
        if refused is not None:
            raise refused

    # -------------------------------------------------------------- passwords

    def change_password(self, access_token: str, previous: str | None, proposed: str) -> None:
        """ChangePassword: the signed-in user's, given the current one (wrong ones count towards the lockout)."""
        _, user = self._access(access_token)
        _refuse_unless_confirmed(user)
        pool = self.must_pool(user.pool_id)
        now = self.clock.now().timestamp()
        with self.db.transaction() as conn:
            if self._attempts(conn, user, _SIGN_IN, now).locked(now):
                raise CognitoError("NotAuthorizedException", "Password attempts exceeded")
        if not (previous and user.password_hash and verify_password(previous, user.password_hash)):
            self._sign_in_failed(user, now)
            raise CognitoError("NotAuthorizedException", "Incorrect username or password.")
        check_policy(proposed, pool["Policies"]["PasswordPolicy"])
        with self.db.transaction() as conn:
            user = self._must_user(conn, user.pool_id, user.username)
            _refuse_unless_confirmed(user)  # again under the write lock: an administrator may have reset it meanwhile
            self._set_password(conn, user, proposed, "CONFIRMED")

    def forgot_password(self, client_id: str, username: str, *, secret_hash: str | None = None) -> dict[str, str]:
        """ForgotPassword: a reset code for the user, and where Cognito would have sent it.

        A user who does not exist is a UserNotFoundException, unless the app client prevents
        user-existence errors: then a user who does not exist, is disabled or has no verified
        channel gets a made-up destination, as in Cognito ("Managing user existence error responses").
        A user made by an administrator who never replaced the temporary password may not reset it.
        """
        client = self.must_client(client_id)
        self.check_secret_hash(client, username, secret_hash)
        pool = self.must_pool(client["UserPoolId"])
        recovery_order(pool)  # an admin-only pool refuses everyone alike, existing or not
        hidden = client.get("PreventUserExistenceErrors") == "ENABLED"
        with self.db.transaction() as conn:
            user = self._find(conn, pool, username)
            if user is None:
                if hidden:
                    return simulated_delivery(pool, username)
                raise CognitoError("UserNotFoundException", "Username/client id combination not found.")
            if not user.enabled:
                if hidden:
                    return simulated_delivery(pool, username)
                raise CognitoError("NotAuthorizedException", "User is disabled.")
            _refuse_force_change(user)
            try:
                delivery = delivery_for_recovery(pool, user)
            except CognitoError as exc:
                if hidden and exc.code == "InvalidParameterException":
                    return simulated_delivery(pool, username)
                raise
            self._issue_code(conn, user, _FORGOT)
        return delivery

    def confirm_forgot_password(self, client_id: str, username: str, code: str, password: str, *, secret_hash: str | None = None) -> None:
        """ConfirmForgotPassword: the code ForgotPassword (or AdminResetUserPassword) made sets a new password.

        When the app client prevents user-existence errors, the answer must not tell who exists: the
        code is checked before the password policy, and a user who does not exist, is disabled or has
        no code outstanding gets CodeMismatchException, wrong tries counting towards the same lockout.
        (Cognito's guide says ExpiredCodeException when no code was requested; that tells an attacker
        the user exists, so Sluiceway answers as for a user who does not.)
        """
        client = self.must_client(client_id)
        self.check_secret_hash(client, username, secret_hash)
        pool = self.must_pool(client["UserPoolId"])
        hidden = client.get("PreventUserExistenceErrors") == "ENABLED"
        refused: CognitoError | None = None
        with self.db.transaction() as conn:
            user = self._find(conn, pool, username)
            if user is None or (hidden and not user.enabled):
                if not hidden:
                    raise CognitoError("UserNotFoundException", "Username/client id combination not found.")
                refused = self._no_code(conn, pool["Id"], self._username_key(pool, username), _FORGOT)
            else:
                if not user.enabled:
                    raise CognitoError("NotAuthorizedException", "User is disabled.")
                if not hidden:
                    check_policy(password, pool["Policies"]["PasswordPolicy"])
                refused = self._use_code(conn, user, _FORGOT, code, disguised=hidden)
                if refused is None:
                    # Raised inside the transaction: the code stays unspent when the password is refused.
                    _refuse_force_change(user)
                    check_policy(password, pool["Policies"]["PasswordPolicy"])
                    self._set_password(conn, user, password, "CONFIRMED")
        if refused is not None:
            raise refused

    def admin_reset_user_password(self, pool_id: str, username: str) -> None:
        """AdminResetUserPassword: the password stops working (RESET_REQUIRED: sign-in answers
        PasswordResetRequiredException), the user's sign-ins are revoked, and a reset code is made for
        ConfirmForgotPassword."""
        pool = self.must_pool(pool_id)
        with self.db.transaction() as conn:
            user = self._must_user(conn, pool_id, username)
            if not user.enabled:
                raise CognitoError("NotAuthorizedException", "User is disabled")
            if user.status not in ("CONFIRMED", "RESET_REQUIRED"):
                raise CognitoError("NotAuthorizedException", "User password cannot be reset in the current state.")
            delivery_for_recovery(pool, user)
            conn.execute(
                "UPDATE cognito_users SET status='RESET_REQUIRED', updated_at=? WHERE pool_id=? AND username_key=?",
                (self.clock.now().timestamp(), user.pool_id, user.key),
            )
            # The password is no longer trusted, so neither are the sign-ins it made: whoever holds
            # their tokens must not keep them, nor use them to change the password without the code.
            # (Cognito's documentation does not say; failing closed, as AdminDisableUser does.)
            conn.execute("UPDATE cognito_sign_ins SET revoked=1 WHERE pool_id=? AND username_key=?", (user.pool_id, user.key))
            self._issue_code(conn, user, _FORGOT)

    # -------------------------------------------------------------- deleting oneself

    def delete_user(self, access_token: str) -> None:
        """DeleteUser: the signed-in user deletes themselves (their sign-ins go with them)."""
        _, user = self._access(access_token)
        self.admin_delete_user(user.pool_id, user.username)
