"""A real S3-compatible server for tests: moto's server on a loopback port.

`moto_s3()` starts it and points the standard AWS variables at it (dummy credentials,
`AWS_ENDPOINT_URL`), so boto3, s3fs and anything else that honours them talk to it.
`iam_enforced()` makes the same server check IAM policies for a while, so access can
really be denied.
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.support.net import free_port, wait_for_port

HOW_TO_GET_MOTO = (
    "moto's S3 server is needed for this test: install the dev extras "
    '(`.venv/bin/pip install -c constraints.txt -e ".[dev]"`, which brings moto[server]).'
)

#: The variables `moto_s3()` sets for the duration of the server.
DUMMY_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@contextmanager
def moto_s3() -> Iterator[str]:
    """Run moto's server on 127.0.0.1 and set the AWS environment to use it; yield its URL."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:
        pytest.fail(f"{HOW_TO_GET_MOTO} ({exc})", pytrace=False)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_for_port("127.0.0.1", port)
        with _environment({**DUMMY_ENV, "AWS_ENDPOINT_URL": endpoint}):
            yield endpoint
    finally:
        server.stop()


def s3_client(endpoint: str, **credentials: str) -> Any:
    """A boto3 S3 client for the server (the dummy credentials unless others are given)."""
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **credentials)


def iam_client(endpoint: str) -> Any:
    import boto3

    return boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1")


def create_user_with_policy(endpoint: str, name: str, policy: dict[str, Any]) -> dict[str, str]:
    """An IAM user with `policy` attached; returns boto3-style credentials for it."""
    iam = iam_client(endpoint)
    iam.create_user(UserName=name)
    iam.put_user_policy(
        UserName=name, PolicyName=f"{name}-policy", PolicyDocument=json.dumps(policy)
    )
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {
        "aws_access_key_id": key["AccessKeyId"],
        "aws_secret_access_key": key["SecretAccessKey"],
    }


@contextmanager
def iam_enforced(endpoint: str) -> Iterator[None]:
    """Make the server authenticate every request and check it against IAM policies."""
    _reset_auth(endpoint, "0")
    try:
        yield
    finally:
        _reset_auth(endpoint, "inf")


def _reset_auth(endpoint: str, initial_no_auth_action_count: str) -> None:
    request = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth",
        data=initial_no_auth_action_count.encode(),
        # not form-encoded: the server reads the raw body
        headers={"Content-Type": "text/plain"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10):
        pass


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
