"""Shared fixtures: every test gets a live `lathe server` on a free port with a fresh
data directory, and real clients (boto3, the AWS CLI) pointed at it."""
import configparser
import glob
import os
import signal
import socket
import subprocess
import time
import urllib.request

import boto3
import pytest
from botocore.config import Config

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LATHE_BIN = os.environ.get("LATHE_BIN", os.path.join(ROOT, "build", "lathe"))
AWS_CLI = "/usr/bin/aws"
REGION = "us-east-1"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A running `lathe server` and what a client needs to reach it."""

    def __init__(self, data_dir, port=None):
        self.data_dir = str(data_dir)
        self.port = port or free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log_path = os.path.join(self.data_dir + ".log")
        self.proc = None

    def start(self, timeout=30):
        log = open(self.log_path, "ab")
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0",
                   UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
        self.proc = subprocess.Popen(
            [LATHE_BIN, "server", "--host", "127.0.0.1", "--port", str(self.port),
             "--data-dir", self.data_dir],
            stdout=log, stderr=subprocess.STDOUT, env=env)
        log.close()
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"lathe server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.endpoint + "/ping", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError("lathe server did not answer /ping:\n" + self.log())
        creds = configparser.ConfigParser()
        creds.read(self.credentials_file)
        self.access_key = creds["default"]["aws_access_key_id"]
        self.secret_key = creds["default"]["aws_secret_access_key"]
        return self

    @property
    def credentials_file(self):
        return os.path.join(self.data_dir, "credentials")

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else None

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    def client(self, service, **kwargs):
        cfg = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                     **kwargs.pop("config_kwargs", {}))
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION,
                            aws_access_key_id=kwargs.pop("access_key", self.access_key),
                            aws_secret_access_key=kwargs.pop("secret_key", self.secret_key),
                            config=cfg, **kwargs)

    def aws(self, *args, check=True, input=None):
        """Runs Debian's AWS CLI against the server; returns the CompletedProcess."""
        env = dict(os.environ, AWS_SHARED_CREDENTIALS_FILE=self.credentials_file,
                   AWS_CONFIG_FILE=os.devnull, AWS_DEFAULT_REGION=REGION, AWS_PAGER="")
        env.pop("AWS_ACCESS_KEY_ID", None)
        env.pop("AWS_SECRET_ACCESS_KEY", None)
        env.pop("AWS_PROFILE", None)
        proc = subprocess.run([AWS_CLI, "--endpoint-url", self.endpoint, *args], env=env,
                              capture_output=True, text=True, input=input, timeout=600)
        if check and proc.returncode != 0:
            raise AssertionError(f"aws {' '.join(args)} failed ({proc.returncode}):\n"
                                 f"{proc.stdout}\n{proc.stderr}")
        return proc


def assert_clean_log(server):
    text = server.log()
    for marker in ("AddressSanitizer", "runtime error:", "LeakSanitizer"):
        assert marker not in text, f"sanitizer report in the server log:\n{text[-6000:]}"
    # The job and tuning runners are lathe processes too: their logs must be clean as well.
    for log in glob.glob(os.path.join(server.data_dir, "jobs", "*", "*", "runner.log")):
        with open(log, errors="replace") as f:
            runner = f.read()
        for marker in ("AddressSanitizer", "runtime error:", "LeakSanitizer"):
            assert marker not in runner, f"sanitizer report in {log}:\n{runner[-6000:]}"


@pytest.fixture
def server(tmp_path):
    srv = Server(tmp_path / "data").start()
    yield srv
    code = srv.stop()
    assert_clean_log(srv)
    assert code == 0, f"lathe server exited with {code}:\n{srv.log()[-4000:]}"


@pytest.fixture
def sm(server):
    return server.client("sagemaker")


@pytest.fixture
def s3(server):
    return server.client("s3")
