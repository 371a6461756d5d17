"""Lambda's checks of a deployment package a request uploads, in Lambda's order and words.

CreateFunction and UpdateFunctionCode take a ``.zip`` inline (``ZipFile``) or from S3. Lambda
limits a package uploaded inline to 50 MB zipped, and the whole request to 70167211 bytes (a
50 MB zip in base64 with room for the rest); a package from S3 is not limited zipped, only by
its unzipped size (250 MB), which holds for both. A package that is not a zip Lambda can read
(not a zip, damaged, encrypted) is refused in one sentence that names no file: the caller sent
bytes, not a path.

Pure: the checks read the bytes they are given, nothing else.
"""

from __future__ import annotations

import io
import zipfile

from ...runtime.lambdas.code import MAX_UNZIPPED_BYTES
from ..errors import AwsError

__all__ = [
    "MAX_REQUEST_BYTES",
    "MAX_ZIPPED_BYTES",
    "UNZIP_FAILED",
    "check_package",
    "check_request",
    "unzip_failed",
]

MAX_ZIPPED_BYTES = 52_428_800
"""Lambda's quota for a zipped package uploaded directly (50 MB)."""
MAX_REQUEST_BYTES = 70_167_211
"""Lambda's limit of a CreateFunction or UpdateFunctionCode request (recorded from AWS)."""
UNZIP_FAILED = "Could not unzip uploaded file. Please check your file, then try to upload again."


def unzip_failed() -> AwsError:
    return AwsError("InvalidParameterValueException", UNZIP_FAILED, fields={"Type": "User"})


def check_request(operation: str, *, zip_file: bytes | None, request_bytes: int) -> None:
    """Lambda's size limits of an upload request: the inline zip's first, then the request's.

    Raises:
        AwsError: RequestEntityTooLargeException (413), as Lambda words it.
    """
    # The zip is checked before the request. Through the endpoint a request beyond the limit is
    # refused before it is read (server.py, in these same words), so only a zip between 50 MB and
    # what fits in such a request reaches the first check.
    if zip_file is not None and len(zip_file) > MAX_ZIPPED_BYTES:
        raise AwsError("RequestEntityTooLargeException", f"Zipped size must be smaller than {MAX_ZIPPED_BYTES} bytes", 413)
    if request_bytes > MAX_REQUEST_BYTES:
        raise AwsError(
            "RequestEntityTooLargeException", f"Request must be smaller than {MAX_REQUEST_BYTES} bytes for the {operation} operation", 413
        )


def check_package(data: bytes) -> None:
    """A package Lambda would unpack: a readable, unencrypted zip under the unzipped quota.

    Reads only the zip's directory; a member whose data is damaged is found when the package
    is unpacked (and refused in the same words).

    Raises:
        AwsError: InvalidParameterValueException, as Lambda words it.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            members = package.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError, ValueError):
        raise unzip_failed() from None
    if any(member.flag_bits & 0x1 for member in members):  # encrypted: Lambda has no password
        raise unzip_failed()
    # "Smaller than": a package of exactly the quota is refused too.
    if sum(member.file_size for member in members) >= MAX_UNZIPPED_BYTES:
        raise AwsError(
            "InvalidParameterValueException", f"Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes", fields={"Type": "User"}
        )
