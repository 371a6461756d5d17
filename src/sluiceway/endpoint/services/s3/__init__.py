"""S3 on the endpoint: buckets, objects, listings, multipart uploads and notification configurations.

Every write goes through the local buckets' writer (``EventingObjectStore``), so an
object put here has exactly the effects of one put by ``sluiceway upload``: its
EventBridge event when EventBridge is on for the bucket, and the bucket's Lambda, SQS
and SNS notifications. Modules, one idea each:

    buckets.py        CreateBucket, DeleteBucket, ListBuckets, HeadBucket, GetBucketLocation
    notifications.py  Put/GetBucketNotificationConfiguration
    objects.py        PutObject, GetObject, HeadObject, DeleteObject(s), CopyObject
    attributes.py     GetObjectAttributes
    listing.py        ListObjectsV2, ListObjects
    versions.py       ListObjectVersions (one version of each object, "null")
    multipart.py      the multipart upload operations
    checksums.py      Content-MD5 and x-amz-checksum-* checks
    tagging.py        bucket and object tags, and writes' x-amz-tagging
    acl.py            bucket and object ACLs, and writes' canned ACLs and grants
    configurations.py CORS, lifecycle, policy, encryption, ownership, public access block,
                      acceleration and versioning configurations

Virtual-host-style requests (``photos.localhost:4566``, ``photos.s3.us-east-1.amazonaws.com``)
are rewritten to path style before they are parsed: :func:`bucket_from_host` says which
bucket a Host names.
"""

from __future__ import annotations

from ...routing import virtual_host_bucket as bucket_from_host
from . import acl, attributes, buckets, configurations, listing, multipart, notifications, objects, tagging, versions
from ._common import OPERATIONS

__all__ = [
    "OPERATIONS",
    "acl",
    "attributes",
    "bucket_from_host",
    "buckets",
    "configurations",
    "listing",
    "multipart",
    "notifications",
    "objects",
    "tagging",
    "versions",
]
