"""Shared pieces of the benchmarks: start a server on a scratch data directory, sign
requests with botocore's own SigV4 signer, time commands."""
import configparser
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

REGION = "us-east-1"


class _KnownPayloadS3Auth(S3SigV4Auth):
    """botocore's S3 signer, told the body's SHA-256 instead of hashing a body it lacks."""

    def __init__(self, credentials, payload_hash):
        super().__init__(credentials, "s3", REGION)
        self._payload_hash = payload_hash

    def payload(self, request):
        return self._payload_hash


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BenchServer:
    def __init__(self, lathe, threads=None, workdir=None):
        self.lathe = lathe
        self.threads = threads
        self.root = tempfile.mkdtemp(prefix="lathe-bench-", dir=workdir)
        self.data_dir = os.path.join(self.root, "data")
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        args = [self.lathe, "server", "--port", str(self.port), "--data-dir", self.data_dir]
        if self.threads:
            args += ["--threads", str(self.threads)]
        self.log = open(os.path.join(self.root, "server.log"), "wb")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(600):
            try:
                with urllib.request.urlopen(self.endpoint + "/ping", timeout=1):
                    break
            except OSError:
                time.sleep(0.05)
        creds = configparser.ConfigParser()
        creds.read(os.path.join(self.data_dir, "credentials"))
        self.creds = Credentials(creds["default"]["aws_access_key_id"],
                                 creds["default"]["aws_secret_access_key"])
        return self

    def __exit__(self, *exc):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)
        self.log.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def signed_headers(self, method, path, body=b"", headers=None, service="sagemaker",
                       payload_hash=None):
        """Headers (including Authorization) that botocore's signer produces."""
        req = AWSRequest(method=method, url=self.endpoint + path, data=body,
                         headers=dict(headers or {}))
        if service == "s3":
            signer = _KnownPayloadS3Auth(self.creds, payload_hash) if payload_hash else \
                S3SigV4Auth(self.creds, "s3", REGION)
        else:
            signer = SigV4Auth(self.creds, service, REGION)
        signer.add_auth(req)
        return dict(req.headers.items())


def deploy_endpoint(sm, name, model, instances=1, timeout_s=60):
    """CreateEndpointConfig (one variant, AllTraffic) and CreateEndpoint named `name` for
    `model`, then waits until it leaves Creating; asserts it is InService."""
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[
        {"VariantName": "AllTraffic", "ModelName": model, "InitialInstanceCount": instances,
         "InstanceType": "ml.m5.large"}])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    deadline = time.monotonic() + timeout_s
    while True:
        d = sm.describe_endpoint(EndpointName=name)
        if d["EndpointStatus"] != "Creating" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert d["EndpointStatus"] == "InService", d
    return d


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def timed(cmd):
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - start


def drop_caches_if_possible():
    try:
        subprocess.run(["sync"], check=True)
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("1\n")
    except OSError:
        pass
