"""A real S3 API on 127.0.0.1 for the tests: moto in server mode (``ThreadedMotoServer``), reached
over HTTP by this process, by subprocesses and by Dask workers through boto3's usual settings."""

from __future__ import annotations

import contextlib
import os
import uuid


@contextlib.contextmanager
def s3_server():
    """Start moto's S3 server on a free port of 127.0.0.1; yield the environment that points boto3 at it."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {"AWS_ENDPOINT_URL": f"http://{host}:{port}", "AWS_ACCESS_KEY_ID": "envq-test",
           "AWS_SECRET_ACCESS_KEY": "envq-test", "AWS_DEFAULT_REGION": "us-east-1"}
    try:
        yield env
    finally:
        server.stop()


def new_bucket(env: dict) -> str:
    """A new, empty bucket on the server of *env*; its name."""
    import boto3

    name = f"envq-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                 aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                 region_name=env["AWS_DEFAULT_REGION"]).create_bucket(Bucket=name)
    return name


def child_env(env: dict, **extra) -> dict:
    """This process's environment with the server's settings (for a subprocess)."""
    return {**os.environ, **env, **{k: str(v) for k, v in extra.items()}}
