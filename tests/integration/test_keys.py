"""`lathe keys create|list|delete` manage the keys the running server accepts."""
import os
import subprocess

import pytest
from botocore.exceptions import ClientError

from conftest import LATHE_BIN


def lathe(*args):
    return subprocess.run([LATHE_BIN, *args], capture_output=True, text=True, timeout=60)


def test_created_key_works_and_deleted_key_is_refused(server):
    out = lathe("keys", "create", "--description", "ci robot", "--data-dir", server.data_dir)
    assert out.returncode == 0, out.stderr
    fields = dict(line.split("=", 1) for line in out.stdout.split() if "=" in line)
    access, secret = fields["aws_access_key_id"], fields["aws_secret_access_key"]
    listing = lathe("keys", "list", "--data-dir", server.data_dir)
    assert listing.returncode == 0
    assert access in listing.stdout and "ci robot" in listing.stdout
    assert secret not in listing.stdout  # list never prints secrets
    sm = server.client("sagemaker", access_key=access, secret_key=secret)
    assert sm.list_experiments()["ExperimentSummaries"] == []
    out = lathe("keys", "delete", access, "--data-dir", server.data_dir)
    assert out.returncode == 0, out.stderr
    with pytest.raises(ClientError) as e:
        sm.list_experiments()
    assert e.value.response["Error"]["Code"] == "UnrecognizedClientException"
    assert lathe("keys", "delete", access, "--data-dir", server.data_dir).returncode != 0


def test_restart_keeps_the_admin_key(server):
    first = open(server.credentials_file).read()
    assert server.stop() == 0
    server.start()
    assert open(server.credentials_file).read() == first
    assert server.client("sagemaker").list_experiments()["ExperimentSummaries"] == []


def test_version_and_usage():
    out = lathe("version")
    assert out.returncode == 0 and out.stdout.startswith("lathe ")
    bad = lathe("frobnicate")
    assert bad.returncode == 2 and "unknown command" in bad.stderr
    bad = lathe("server", "--port", "notaport")
    assert bad.returncode == 2 and "--port" in bad.stderr
