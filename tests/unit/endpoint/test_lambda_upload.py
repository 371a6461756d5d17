"""Lambda's checks of an uploaded package: sizes in Lambda's order and words, and zips it cannot read."""

from __future__ import annotations

import io
import zipfile

import pytest

from sluiceway.endpoint.errors import AwsError
from sluiceway.endpoint.services._lambda_upload import MAX_REQUEST_BYTES, MAX_ZIPPED_BYTES, check_package, check_request


def test_an_inline_zip_over_50_mb_is_refused_before_the_request_size() -> None:
    with pytest.raises(AwsError) as excinfo:
        check_request("UpdateFunctionCode", zip_file=bytes(MAX_ZIPPED_BYTES + 1), request_bytes=MAX_REQUEST_BYTES + 1)
    assert (excinfo.value.code, excinfo.value.status) == ("RequestEntityTooLargeException", 413)
    assert excinfo.value.message == "Zipped size must be smaller than 52428800 bytes"
    check_request("CreateFunction", zip_file=bytes(MAX_ZIPPED_BYTES), request_bytes=MAX_REQUEST_BYTES)


@pytest.mark.parametrize("operation", ["CreateFunction", "UpdateFunctionCode"])
def test_the_request_limit_names_the_operation(operation: str) -> None:
    with pytest.raises(AwsError) as excinfo:
        check_request(operation, zip_file=None, request_bytes=MAX_REQUEST_BYTES + 1)
    assert excinfo.value.message == f"Request must be smaller than 70167211 bytes for the {operation} operation"


def test_a_package_from_s3_is_not_limited_zipped() -> None:
    check_request("CreateFunction", zip_file=None, request_bytes=1000)


def _zip(**members: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_unreadable_or_oversized_packages() -> None:
    check_package(_zip(app=b"x"))
    for data in (b"not a zip", b"PK\x03\x04 truncated"):
        with pytest.raises(AwsError) as excinfo:
            check_package(data)
        assert excinfo.value.message == "Could not unzip uploaded file. Please check your file, then try to upload again."
    with pytest.raises(AwsError) as excinfo:
        check_package(_zip(big=bytes(262_144_000)))
    assert (excinfo.value.code, excinfo.value.message) == (
        "InvalidParameterValueException",
        "Unzipped size must be smaller than 262144000 bytes",
    )
