"""Bring-your-own serve programs behind endpoints and batch transform: a pushed image's
`serve` (Python's http.server, stdlib only) run as sandboxed workers, gated on /ping,
proxied on /invocations, replaced when killed, stopped with the endpoint; and a serial
inference pipeline of a BYO preprocessor in front of a built-in XGBoost model."""
import io
import json
import os
import signal
import subprocess
import tarfile
import threading
import time
import urllib.request

import numpy as np
import pytest
from botocore.exceptions import ClientError

from conftest import LATHE_BIN, Server, assert_clean_log
from jobs_util import ROLE, wait_for

BUCKET = "byo-models"
XGB_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
STARTUP_TIMEOUT_S = 8

# A linear model served the SageMaker way: /ping, /invocations on SAGEMAKER_BIND_TO_PORT.
# Its weights come from /opt/ml/model/weights.json, a scale from the model's Environment.
LINEAR_SERVE = r'''#!/usr/bin/env python3
import json, os, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WEIGHTS = json.load(open("/opt/ml/model/weights.json"))
SCALE = float(os.environ["SCALE"])
CLIENT_PORTS = set()  # the connections /invocations came in on
FAILED = [0]  # /invocations calls so far, for FAIL_FIRST
print(f"linear serve: {len(WEIGHTS['w'])} weights, scale {SCALE}, port "
      f"{os.environ['SAGEMAKER_BIND_TO_PORT']}, safe range {os.environ['SAGEMAKER_SAFE_PORT_RANGE']}",
      flush=True)
time.sleep(float(os.environ.get("START_DELAY", "0")))


def cgroup_limits():
    """The limits of the cgroup this process runs in (v1 or v2)."""
    found = {}
    for line in open("/proc/self/cgroup"):
        _, controllers, path = line.strip().split(":", 2)
        for c in controllers.split(",") if controllers else ["unified"]:
            base = "/sys/fs/cgroup" + ("" if c == "unified" else "/" + c) + path
            for f in ("memory.limit_in_bytes", "memory.max", "cpu.cfs_quota_us", "cpu.max"):
                if os.path.exists(os.path.join(base, f)):
                    found[f] = open(os.path.join(base, f)).read().strip()
    return found


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body, ctype="text/plain", extra=()):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/ping":
            if os.environ.get("NEVER_READY"):
                return self.answer(503, "not ready")
            return self.answer(200, "")
        if self.path == "/execution-parameters" and os.environ.get("EXEC_PARAMS"):
            return self.answer(200, os.environ["EXEC_PARAMS"], "application/json")
        if self.path == "/limits":
            return self.answer(200, json.dumps(cgroup_limits()), "application/json")
        self.answer(404, "no such path")

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
        CLIENT_PORTS.add(self.client_address[1])
        if self.path != "/invocations":
            return self.answer(404, "no such path")
        FAILED[0] += 1
        if FAILED[0] <= int(os.environ.get("FAIL_FIRST", "0")):  # a flaky model server
            print(f"failing call {FAILED[0]}", flush=True)
            return self.answer(500, "out of memory, try again")
        if self.headers.get("Content-Type", "").split(";")[0] != "text/csv":
            return self.answer(415, "send text/csv, not " + self.headers.get("Content-Type", ""))
        out = []
        for line in body.splitlines():
            if not line.strip():
                continue
            try:
                x = [float(v) for v in line.split(",")]
            except ValueError:
                return self.answer(400, "bad row: " + line)
            if len(x) != len(WEIGHTS["w"]):
                return self.answer(400, f"expected {len(WEIGHTS['w'])} columns, got {len(x)}")
            out.append(SCALE * (sum(a * b for a, b in zip(WEIGHTS["w"], x)) + WEIGHTS["b"]))
        if os.environ.get("LOG_BATCHES"):
            print(f"batch of {len(out)} rows", flush=True)
        time.sleep(float(os.environ.get("BATCH_DELAY", "0")))
        extra = []
        attrs = self.headers.get("X-Amzn-SageMaker-Custom-Attributes")
        if attrs == "connections?":
            extra.append(("X-Amzn-SageMaker-Custom-Attributes", f"connections={len(CLIENT_PORTS)}"))
        elif attrs:
            extra.append(("X-Amzn-SageMaker-Custom-Attributes", "seen=" + attrs))
        accept = self.headers.get("Accept", "text/csv")
        if accept.startswith("application/json"):
            return self.answer(200, json.dumps({"predictions": out}), "application/json", extra)
        self.answer(200, "".join(f"{v!r}\n" for v in out), "text/csv", extra)


ThreadingHTTPServer.daemon_threads = True
if os.environ.get("LOG_LIMITS"):
    print("limits " + json.dumps(cgroup_limits()), flush=True)
if os.environ.get("LOG_ENV"):
    print("env " + json.dumps({k: os.environ.get(k) for k in os.environ["LOG_ENV"].split(",")}),
          flush=True)
ThreadingHTTPServer(("127.0.0.1", int(os.environ["SAGEMAKER_BIND_TO_PORT"])), Handler).serve_forever()
'''

# A preprocessing container: multiplies every column by FACTOR, CSV in, CSV out.
SCALER_SERVE = r'''#!/usr/bin/env python3
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
FACTOR = float(os.environ["FACTOR"])


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body, ctype):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.answer(200 if self.path == "/ping" else 404, "", "text/plain")

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
        rows = [",".join(repr(float(v) * FACTOR) for v in l.split(",")) for l in body.splitlines() if l]
        self.answer(200, "\n".join(rows) + "\n", "text/csv")


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", int(os.environ["SAGEMAKER_BIND_TO_PORT"])), Handler).serve_forever()
'''


@pytest.fixture
def byo(tmp_path, monkeypatch):
    monkeypatch.setenv("LATHE_SERVE_STARTUP_TIMEOUT_S", str(STARTUP_TIMEOUT_S))
    srv = Server(tmp_path / "data").start()
    s3 = srv.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    yield srv, srv.client("sagemaker"), srv.client("sagemaker-runtime"), s3
    code = srv.stop()
    assert_clean_log(srv)
    assert code == 0, f"lathe server exited with {code}:\n{srv.log()[-4000:]}"


def push_image(server, tmp_path, tag, serve_text):
    img = tmp_path / tag.replace("/", "-").replace(":", "-")
    img.mkdir()
    (img / "serve").write_text(serve_text)
    (img / "serve").chmod(0o755)
    out = subprocess.run([LATHE_BIN, "image", "push", tag, str(img), "--data-dir", server.data_dir],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return tag


def upload_tar(s3, key, files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    s3.put_object(Bucket=BUCKET, Key=key, Body=buf.getvalue())
    return f"s3://{BUCKET}/{key}"


WEIGHTS = {"w": [0.5, -1.0, 2.0], "b": 0.25}


def linear_model(server, tmp_path, s3, sm, name, env=None):
    image = push_image(server, tmp_path, f"team/linear-{name}:v1", LINEAR_SERVE)
    url = upload_tar(s3, f"{name}/model.tar.gz", {"weights.json": json.dumps(WEIGHTS).encode()})
    sm.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={
        "Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/" + image, "ModelDataUrl": url,
        "Environment": dict({"SCALE": "3"}, **(env or {}))})


def create_endpoint(sm, name, model, count=1):
    sm.create_endpoint_config(EndpointConfigName=name + "-cfg", ProductionVariants=[
        {"VariantName": "AllTraffic", "ModelName": model, "InitialInstanceCount": count,
         "InstanceType": "ml.m5.large"}])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name + "-cfg")


def wait_endpoint(sm, name, timeout=60):
    def ready():
        d = sm.describe_endpoint(EndpointName=name)
        return d if d["EndpointStatus"] not in ("Creating", "Updating") else None
    return wait_for(ready, timeout=timeout, what=f"endpoint {name}")


def expected(rows):
    return [3 * (sum(a * b for a, b in zip(WEIGHTS["w"], r)) + WEIGHTS["b"]) for r in rows]


def csv_body(rows):
    return "".join(",".join(repr(float(v)) for v in r) + "\n" for r in rows)


def serve_pids(server):
    """Host pids of the server's serve-program processes (python running /opt/program/serve)."""
    children = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().split(b"\0")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append((int(pid), cmd))
    found, stack = [], [server.proc.pid]
    while stack:
        for pid, cmd in children.get(stack.pop(), []):
            stack.append(pid)
            if b"/opt/program/serve" in cmd and not cmd[0].endswith(b"bwrap"):
                found.append(pid)
    return sorted(found)


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def log_text(server, group):
    logs = server.client("logs")
    out = []
    for s in logs.describe_log_streams(logGroupName=group)["logStreams"]:
        events = logs.get_log_events(logGroupName=group, logStreamName=s["logStreamName"],
                                     startFromHead=True)["events"]
        out += [e["message"] for e in events]
    return "\n".join(out)


def test_byo_serve_program_answers_and_passes_errors_back(byo, tmp_path):
    server, sm, rt, s3 = byo
    linear_model(server, tmp_path, s3, sm, "lin", env={"START_DELAY": "1.5"})
    create_endpoint(sm, "lin", "lin")
    # /ping gates InService: the program sleeps before it listens.
    assert sm.describe_endpoint(EndpointName="lin")["EndpointStatus"] == "Creating"
    d = wait_endpoint(sm, "lin")
    assert d["EndpointStatus"] == "InService", d.get("FailureReason")
    assert d["ProductionVariants"][0]["CurrentInstanceCount"] == 1

    rows = [[1, 2, 3], [0.5, 0, -1], [10, 20, 30]]
    r = rt.invoke_endpoint(EndpointName="lin", ContentType="text/csv", Accept="application/json",
                           CustomAttributes="trace=7", Body=csv_body(rows))
    assert r["ContentType"] == "application/json"
    assert r["CustomAttributes"] == "seen=trace=7"
    assert r["ResponseMetadata"]["HTTPHeaders"]["x-amzn-invoked-production-variant"] == "AllTraffic"
    assert np.allclose(json.loads(r["Body"].read())["predictions"], expected(rows))
    text = rt.invoke_endpoint(EndpointName="lin", ContentType="text/csv",
                              Body=csv_body(rows))["Body"].read().decode()
    assert np.allclose([float(v) for v in text.split()], expected(rows))

    # The program's own refusals come back as ModelError with its status and message.
    with pytest.raises(ClientError) as e:
        rt.invoke_endpoint(EndpointName="lin", ContentType="text/csv", Body=b"1,2\n")
    resp = e.value.response
    assert resp["Error"]["Code"] == "ModelError" and resp["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert resp["OriginalStatusCode"] == 400
    assert resp["OriginalMessage"] == "expected 3 columns, got 2"
    with pytest.raises(ClientError) as e:
        rt.invoke_endpoint(EndpointName="lin", ContentType="application/json", Body=b"{}")
    assert e.value.response["OriginalStatusCode"] == 415
    ok = rt.invoke_endpoint(EndpointName="lin", ContentType="text/csv", Body=b"0,0,0\n")
    assert float(ok["Body"].read()) == pytest.approx(0.75)

    # Its output is in the endpoint's log group, with the contract's environment.
    text = wait_for(lambda: (t := log_text(server, "/aws/sagemaker/Endpoints/lin"))
                    and "linear serve" in t and t, what="the program's output in the logs")
    line = next(l for l in text.splitlines() if l.startswith("linear serve"))
    assert "3 weights, scale 3.0" in line
    port = int(line.split("port ")[1].split(",")[0])
    lo, hi = map(int, line.split("safe range ")[1].split("-"))
    assert port not in range(lo, hi + 1) and hi > lo
    env = dict(os.environ, AWS_SHARED_CREDENTIALS_FILE=server.credentials_file, AWS_DEFAULT_REGION="us-east-1")
    cli = subprocess.run([LATHE_BIN, "logs", "lin", "--kind", "endpoint", "--endpoint", server.endpoint],
                         capture_output=True, text=True, timeout=60, env=env)
    assert cli.returncode == 0, cli.stderr
    assert "linear serve: 3 weights" in cli.stdout and "passed the ping health check" in cli.stdout


def test_program_that_never_passes_ping_fails_the_endpoint(byo, tmp_path):
    server, sm, rt, s3 = byo
    linear_model(server, tmp_path, s3, sm, "deaf", env={"NEVER_READY": "1"})
    create_endpoint(sm, "deaf", "deaf")
    # While deaf's load waits out its start-up limit, another endpoint loads beside it.
    linear_model(server, tmp_path, s3, sm, "quick")
    create_endpoint(sm, "quick", "quick")
    d = wait_endpoint(sm, "quick", timeout=STARTUP_TIMEOUT_S)
    assert d["EndpointStatus"] == "InService", d.get("FailureReason")
    assert sm.describe_endpoint(EndpointName="deaf")["EndpointStatus"] == "Creating"
    r = rt.invoke_endpoint(EndpointName="quick", ContentType="text/csv", Body=b"0,0,0\n")
    assert float(r["Body"].read()) == pytest.approx(0.75)
    d = wait_endpoint(sm, "deaf", timeout=STARTUP_TIMEOUT_S + 30)
    assert d["EndpointStatus"] == "Failed"
    reason = d["FailureReason"]
    assert "did not pass the ping health check" in reason and f"within {STARTUP_TIMEOUT_S} s" in reason, reason
    assert "linear serve: 3 weights" in reason, reason  # the tail of its output
    sm.delete_endpoint(EndpointName="quick")
    assert wait_for(lambda: serve_pids(server) == [] or None, timeout=15, what="the workers to stop")
    with pytest.raises(ClientError) as e:
        rt.invoke_endpoint(EndpointName="deaf", ContentType="text/csv", Body=b"1,2,3\n")
    assert e.value.response["Error"]["Code"] == "ValidationError"


def test_slow_serve_program_holds_no_server_thread(byo, tmp_path):
    # Each answer takes 2 s and eight calls are in flight, more than the server's threads
    # (4): the calls wait off those threads, so /ping and S3 answer at once meanwhile, and
    # the eight run side by side rather than four at a time.
    server, sm, rt, s3 = byo
    linear_model(server, tmp_path, s3, sm, "slow", env={"BATCH_DELAY": "2"})
    create_endpoint(sm, "slow", "slow")
    assert wait_endpoint(sm, "slow")["EndpointStatus"] == "InService"
    answers, errors = [], []

    def call(i):
        try:
            r = rt.invoke_endpoint(EndpointName="slow", ContentType="text/csv",
                                   Body=csv_body([[i, 0, 0]]))
            answers.append((i, float(r["Body"].read())))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    started = time.monotonic()
    calls = [threading.Thread(target=call, args=(i,)) for i in range(8)]
    for t in calls:
        t.start()
    time.sleep(0.5)
    t0 = time.monotonic()
    with urllib.request.urlopen(server.endpoint + "/ping", timeout=10) as r:
        assert r.status == 200
    s3.list_buckets()
    waited = time.monotonic() - t0
    for t in calls:
        t.join()
    took = time.monotonic() - started
    assert not errors, errors
    assert waited < 1.0, f"/ping and ListBuckets took {waited:.2f} s behind the slow calls"
    assert sorted(answers) == [(i, pytest.approx(expected([[i, 0, 0]])[0])) for i in range(8)]
    assert took < 5.0, f"eight 2 s calls took {took:.1f} s"

    # SIGTERM with calls in flight: the server waits for them, then stops cleanly
    # (libmicrohttpd aborts if a connection is still suspended when the daemon stops).
    # A call either has its answer or sees the connection close; none hangs.
    answers.clear()
    calls = [threading.Thread(target=call, args=(i,)) for i in range(3)]
    for t in calls:
        t.start()
    time.sleep(1.0)  # the calls are in the program's 2 s
    t0 = time.monotonic()
    assert server.stop() == 0, server.log()[-3000:]
    assert time.monotonic() - t0 > 0.3  # it waited for the calls
    for t in calls:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in calls)
    assert len(answers) + len(errors) == 3
    for i, v in answers:
        assert v == pytest.approx(expected([[i, 0, 0]])[0])


def test_calls_one_at_a_time_share_one_connection_to_the_program(byo, tmp_path):
    # Calls run on offload threads, each with its own keep-alive connection to the
    # program; the thread idle last takes the next call, so calls made one at a time keep
    # reusing a connection or two instead of opening one per thread (32), which would
    # overflow a small listen backlog like this program's (5). (Two when the next call
    # comes before the thread that answered the last is back on the idle stack.)
    server, sm, rt, s3 = byo
    linear_model(server, tmp_path, s3, sm, "seq")
    create_endpoint(sm, "seq", "seq")
    assert wait_endpoint(sm, "seq")["EndpointStatus"] == "InService"
    for i in range(40):
        r = rt.invoke_endpoint(EndpointName="seq", ContentType="text/csv", Body=csv_body([[i, 1, 2]]))
        assert float(r["Body"].read()) == pytest.approx(expected([[i, 1, 2]])[0])
    r = rt.invoke_endpoint(EndpointName="seq", ContentType="text/csv", Body=csv_body([[0, 0, 0]]),
                           CustomAttributes="connections?")
    used = int(r["CustomAttributes"].split("=")[1])
    assert 1 <= used <= 3, f"41 calls one at a time opened {used} connections to the program"


def test_shutdown_cuts_short_a_call_past_the_grace(tmp_path, monkeypatch):
    # A model that takes 30 s and a 1 s shutdown grace: SIGTERM ends the server in
    # seconds, the call answered ServiceUnavailable (or its connection closed), and the
    # program's workers gone.
    monkeypatch.setenv("LATHE_SERVE_STARTUP_TIMEOUT_S", str(STARTUP_TIMEOUT_S))
    monkeypatch.setenv("LATHE_SHUTDOWN_GRACE_S", "1")
    srv = Server(tmp_path / "data").start()
    s3, sm, rt = srv.client("s3"), srv.client("sagemaker"), srv.client("sagemaker-runtime")
    s3.create_bucket(Bucket=BUCKET)
    linear_model(srv, tmp_path, s3, sm, "hung", env={"BATCH_DELAY": "30"})
    create_endpoint(sm, "hung", "hung")
    assert wait_endpoint(sm, "hung")["EndpointStatus"] == "InService"
    workers = serve_pids(srv)
    outcome = []

    def call():
        try:
            rt.invoke_endpoint(EndpointName="hung", ContentType="text/csv", Body=b"1,2,3\n")
            outcome.append("answered")
        except ClientError as e:
            outcome.append(e.response["Error"]["Code"])
        except Exception as e:  # noqa: BLE001 - the connection closed under it
            outcome.append(type(e).__name__)
    t = threading.Thread(target=call)
    t.start()
    time.sleep(1.0)
    t0 = time.monotonic()
    assert srv.stop() == 0, srv.log()[-3000:]
    took = time.monotonic() - t0
    t.join(timeout=30)
    assert_clean_log(srv)
    assert took < 10, f"stopping took {took:.1f} s"
    assert outcome and outcome[0] != "answered", outcome
    assert not any(alive(p) for p in workers), "a worker outlived the server"


def worker_limits(server):
    """What the one worker's GET /limits reports (asked on its own port), or None when the
    server could make no cgroup here (its log says so, as a job's does)."""
    pid = serve_pids(server)[0]
    with open(f"/proc/{pid}/environ", "rb") as f:
        env = dict(kv.split(b"=", 1) for kv in f.read().split(b"\0") if b"=" in kv)
    port = int(env[b"SAGEMAKER_BIND_TO_PORT"])
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/limits", timeout=10) as r:
        return json.loads(r.read())


def test_serve_program_runs_under_its_instance_types_limits(byo, tmp_path):
    server, sm, rt, s3 = byo
    linear_model(server, tmp_path, s3, sm, "lim")
    sm.create_endpoint_config(EndpointConfigName="lim-cfg", ProductionVariants=[
        {"VariantName": "AllTraffic", "ModelName": "lim", "InitialInstanceCount": 1,
         "InstanceType": "ml.c4.xlarge"}])  # 4 vCPU, 7 GiB in lathe's table
    sm.create_endpoint(EndpointName="lim", EndpointConfigName="lim-cfg")
    assert wait_endpoint(sm, "lim")["EndpointStatus"] == "InService"
    limits = worker_limits(server)
    text = log_text(server, "/aws/sagemaker/Endpoints/lim")
    if "no CPU or memory limit" in text or "no memory limit" in text:
        return  # this machine lets no process make cgroups; the worker's log says so
    assert (limits.get("memory.limit_in_bytes") or limits.get("memory.max")) == str(7 << 30), limits
    cpu = limits.get("cpu.cfs_quota_us") or limits.get("cpu.max", "").split()[0]
    assert cpu == "400000", limits
    sm.delete_endpoint(EndpointName="lim")
    wait_for(lambda: serve_pids(server) == [] or None, timeout=15, what="the worker to stop")


def test_killed_worker_is_replaced_under_traffic(byo, tmp_path):
    server, sm, rt, s3 = byo
    linear_model(server, tmp_path, s3, sm, "pair")
    create_endpoint(sm, "pair", "pair", count=2)
    d = wait_endpoint(sm, "pair")
    assert d["EndpointStatus"] == "InService", d.get("FailureReason")
    assert d["ProductionVariants"][0]["CurrentInstanceCount"] == 2
    before = serve_pids(server)
    assert len(before) == 2, before

    rows = [[1, 1, 1]]
    want = expected(rows)[0]
    stop, failures, done = threading.Event(), [], [0]

    def traffic():
        client = server.client("sagemaker-runtime")
        while not stop.is_set():
            try:
                body = client.invoke_endpoint(EndpointName="pair", ContentType="text/csv",
                                              Body=csv_body(rows))["Body"].read()
                if abs(float(body) - want) > 1e-9:
                    failures.append(("wrong answer", body))
                done[0] += 1
            except Exception as exc:  # noqa: BLE001 - every failure is counted
                failures.append(repr(exc))

    threads = [threading.Thread(target=traffic) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(1)
    os.kill(before[0], signal.SIGKILL)
    after = wait_for(lambda: (p := serve_pids(server)) and len(p) == 2 and before[0] not in p and p,
                     timeout=30, what="a new worker")
    time.sleep(1)
    stop.set()
    for t in threads:
        t.join()
    assert failures == [], failures[:5]
    assert done[0] > 20
    assert before[1] in after and len(set(after) - set(before)) == 1
    assert sm.describe_endpoint(EndpointName="pair")["EndpointStatus"] == "InService"
    text = log_text(server, "/aws/sagemaker/Endpoints/pair")
    assert "starting a new one" in text and "passed the ping health check" in text


def test_delete_restart_and_shutdown_leave_no_worker(tmp_path, monkeypatch):
    monkeypatch.setenv("LATHE_SERVE_STARTUP_TIMEOUT_S", str(STARTUP_TIMEOUT_S))
    srv = Server(tmp_path / "data").start()
    s3, sm = srv.client("s3"), srv.client("sagemaker")
    s3.create_bucket(Bucket=BUCKET)
    linear_model(srv, tmp_path, s3, sm, "dur")
    create_endpoint(sm, "dur", "dur", count=2)
    assert wait_endpoint(sm, "dur")["EndpointStatus"] == "InService"
    first = serve_pids(srv)
    assert len(first) == 2
    assert srv.stop() == 0
    assert_clean_log(srv)
    assert not any(alive(p) for p in first), "a worker outlived the server"

    def answer(rt):
        try:
            return rt.invoke_endpoint(EndpointName="dur", ContentType="text/csv",
                                      Body=b"1,2,3\n")["Body"].read()
        except ClientError:
            return None

    # A restarted server serves again; killed with -9, it takes its workers with it.
    srv2 = Server(tmp_path / "data", port=srv.port).start()
    rt = srv2.client("sagemaker-runtime")
    assert float(wait_for(lambda: answer(rt), what="the endpoint after a restart")) == \
        pytest.approx(expected([[1, 2, 3]])[0])
    second = serve_pids(srv2)
    assert len(second) == 2 and not set(second) & set(first)
    srv2.kill()
    wait_for(lambda: not any(alive(p) for p in second), timeout=15,
             what="the workers of a killed server to die")

    srv3 = Server(tmp_path / "data", port=srv.port).start()
    try:
        rt = srv3.client("sagemaker-runtime")
        assert wait_for(lambda: answer(rt), what="the endpoint after kill -9")
        third = serve_pids(srv3)
        assert len(third) == 2
        srv3.client("sagemaker").delete_endpoint(EndpointName="dur")
        wait_for(lambda: not any(alive(p) for p in third), timeout=15, what="the workers to stop")
        assert serve_pids(srv3) == []
    finally:
        assert srv3.stop() == 0
        assert_clean_log(srv3)


def test_pipeline_of_byo_preprocessor_and_builtin_xgboost(byo, tmp_path):
    server, sm, rt, s3 = byo
    import xgboost as xgb
    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 4))
    y = (x[:, 0] + 0.5 * x[:, 1] - x[:, 3] > 0).astype(float)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 3, "eta": 0.3, "nthread": 1},
                        xgb.DMatrix(x, label=y), num_boost_round=10)
    path = tmp_path / "xgboost-model.json"
    booster.save_model(str(path))
    xgb_url = upload_tar(s3, "xgb/model.tar.gz", {"xgboost-model": path.read_bytes()})
    scaler = push_image(server, tmp_path, "team/scaler:v1", SCALER_SERVE)
    sm.create_model(ModelName="pipe", ExecutionRoleArn=ROLE, Containers=[
        {"Image": scaler, "Environment": {"FACTOR": "0.5"}, "ContainerHostname": "scaler"},
        {"Image": XGB_IMAGE, "ModelDataUrl": xgb_url}])
    sm.create_model(ModelName="direct", ExecutionRoleArn=ROLE,
                    PrimaryContainer={"Image": XGB_IMAGE, "ModelDataUrl": xgb_url})
    sm.create_endpoint_config(EndpointConfigName="pipe-cfg", ProductionVariants=[
        {"VariantName": v, "ModelName": v, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
        for v in ("pipe", "direct")])
    sm.create_endpoint(EndpointName="pipe", EndpointConfigName="pipe-cfg")
    d = wait_endpoint(sm, "pipe")
    assert d["EndpointStatus"] == "InService", d.get("FailureReason")
    images = d["ProductionVariants"][0]["DeployedImages"]
    assert [i["SpecifiedImage"] for i in images] == [scaler, XGB_IMAGE]

    rows = x[:40]
    via_pipeline = rt.invoke_endpoint(EndpointName="pipe", TargetVariant="pipe", ContentType="text/csv",
                                      Accept="application/json", Body=csv_body(rows))
    assert via_pipeline["ContentType"] == "application/json"
    got = [p["score"] for p in json.loads(via_pipeline["Body"].read())["predictions"]]
    direct = rt.invoke_endpoint(EndpointName="pipe", TargetVariant="direct", ContentType="text/csv",
                                Accept="application/json", Body=csv_body(rows * 0.5))
    want = [p["score"] for p in json.loads(direct["Body"].read())["predictions"]]
    assert np.allclose(got, want, atol=1e-6)
    assert np.allclose(got, booster.predict(xgb.DMatrix(rows * 0.5)), atol=1e-5)
    # The last container's refusal names it.
    with pytest.raises(ClientError) as e:
        rt.invoke_endpoint(EndpointName="pipe", TargetVariant="pipe", ContentType="text/csv",
                           Accept="image/png", Body=csv_body(rows[:1]))
    assert e.value.response["OriginalStatusCode"] == 406
    assert "container-2" in e.value.response["Error"]["Message"]

    # Batch transform runs the same pipeline.
    s3.put_object(Bucket=BUCKET, Key="pin/rows.csv", Body=csv_body(rows).encode())
    sm.create_transform_job(
        TransformJobName="pipe-bt", ModelName="pipe", BatchStrategy="MultiRecord",
        TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                        "S3Uri": f"s3://{BUCKET}/pin/"}},
                        "ContentType": "text/csv", "SplitType": "Line"},
        TransformOutput={"S3OutputPath": f"s3://{BUCKET}/pout", "Accept": "text/csv"},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1})
    d = wait_for(lambda: (x := sm.describe_transform_job(TransformJobName="pipe-bt"))
                 ["TransformJobStatus"] not in ("InProgress", "Stopping") and x, timeout=90,
                 what="the pipeline transform")
    assert d["TransformJobStatus"] == "Completed", d.get("FailureReason")
    out = s3.get_object(Bucket=BUCKET, Key="pout/rows.csv.out")["Body"].read().decode()
    assert np.allclose([float(v) for v in out.split()], want, atol=1e-6)


def test_transform_job_over_a_byo_model(byo, tmp_path):
    server, sm, rt, s3 = byo
    # The program asks for one record per request on /execution-parameters; the job does not
    # say, so that default applies.
    linear_model(server, tmp_path, s3, sm, "bt", env={
        "LOG_BATCHES": "1", "LOG_LIMITS": "1", "EXEC_PARAMS": json.dumps({"BatchStrategy": "SingleRecord",
                                                        "MaxPayloadInMB": 1})})
    a_rows = [[1, 2, 3], [0, 0, 0], [-1, 0.5, 2]]
    b_rows = [[4, 4, 4], [2, 0, 1]]
    s3.put_object(Bucket=BUCKET, Key="in/a.csv", Body=csv_body(a_rows).encode())
    s3.put_object(Bucket=BUCKET, Key="in/sub/b.csv", Body=csv_body(b_rows).encode())

    def run(name, **extra):
        sm.create_transform_job(
            TransformJobName=name, ModelName="bt", MaxConcurrentTransforms=2,
            TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                            "S3Uri": f"s3://{BUCKET}/in/"}},
                            "ContentType": "text/csv", "SplitType": "Line"},
            TransformOutput={"S3OutputPath": f"s3://{BUCKET}/out/{name}", "Accept": "text/csv",
                             "AssembleWith": "Line"},
            TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1}, **extra)

        def ended():
            d = sm.describe_transform_job(TransformJobName=name)
            return d if d["TransformJobStatus"] not in ("InProgress", "Stopping") else None
        return wait_for(ended, timeout=90, what=f"transform {name}")

    d = run("bt-byo")
    assert d["TransformJobStatus"] == "Completed", d.get("FailureReason")
    for key, rows in (("a.csv", a_rows), ("sub/b.csv", b_rows)):
        out = s3.get_object(Bucket=BUCKET, Key=f"out/bt-byo/{key}.out")["Body"].read().decode()
        assert np.allclose([float(v) for v in out.split()], expected(rows)), out
    logs = log_text(server, "/aws/sagemaker/TransformJobs")
    batches = [l for l in logs.splitlines() if l.startswith("batch of")]
    assert batches == ["batch of 1 rows"] * 5, batches
    assert logs.count("passed the ping health check") == 2  # two workers
    # Each worker runs under the instance type's limits, as an endpoint's worker does
    # (ml.m5.large: 2 vCPUs, 8 GiB), unless this machine lets no process make cgroups.
    limits = [json.loads(l[len("limits "):]) for l in logs.splitlines() if l.startswith("limits ")]
    assert len(limits) == 2, logs
    if "no CPU or memory limit" not in logs and "no memory limit" not in logs:
        for lim in limits:
            assert (lim.get("memory.limit_in_bytes") or lim.get("memory.max")) == str(8 << 30), lim
            assert (lim.get("cpu.cfs_quota_us") or lim.get("cpu.max", "").split()[0]) == "200000", lim
    # The job's own BatchStrategy wins over the program's default.
    d = run("bt-multi", BatchStrategy="MultiRecord")
    assert d["TransformJobStatus"] == "Completed", d.get("FailureReason")
    logs = log_text(server, "/aws/sagemaker/TransformJobs")
    batches = sorted(l for l in logs.splitlines() if l.startswith("batch of"))
    assert batches == ["batch of 1 rows"] * 5 + ["batch of 2 rows", "batch of 3 rows"], batches

    # A record the program refuses fails the job, naming the object and the record.
    s3.put_object(Bucket=BUCKET, Key="bad/x.csv", Body=b"1,2,3\n1,2\n")
    sm.create_transform_job(
        TransformJobName="bt-bad", ModelName="bt",
        TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                        "S3Uri": f"s3://{BUCKET}/bad/"}},
                        "ContentType": "text/csv", "SplitType": "Line"},
        TransformOutput={"S3OutputPath": f"s3://{BUCKET}/out/bt-bad"},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1})
    d = wait_for(lambda: (x := sm.describe_transform_job(TransformJobName="bt-bad"))
                 ["TransformJobStatus"] not in ("InProgress", "Stopping") and x, timeout=90,
                 what="the bad transform")
    assert d["TransformJobStatus"] == "Failed"
    assert "s3://byo-models/bad/x.csv record 2" in d["FailureReason"], d["FailureReason"]
    assert "expected 3 columns, got 2" in d["FailureReason"]
    assert serve_pids(server) == []


def test_update_endpoint_is_blue_green_under_traffic(byo, tmp_path):
    server, sm, rt, s3 = byo
    linear_model(server, tmp_path, s3, sm, "blue")
    linear_model(server, tmp_path, s3, sm, "green", env={"SCALE": "5", "START_DELAY": "1"})
    create_endpoint(sm, "bg", "blue")
    assert wait_endpoint(sm, "bg")["EndpointStatus"] == "InService"
    old = serve_pids(server)
    assert len(old) == 1
    sm.create_endpoint_config(EndpointConfigName="bg-green", ProductionVariants=[
        {"VariantName": "AllTraffic", "ModelName": "green", "InitialInstanceCount": 2,
         "InstanceType": "ml.m5.large"}])
    base = (sum(a * b for a, b in zip(WEIGHTS["w"], [1, 1, 1])) + WEIGHTS["b"])
    seen, failures, latencies, stop = [], [], [], threading.Event()

    def traffic():
        client = server.client("sagemaker-runtime")
        while not stop.is_set():
            t0 = time.monotonic()
            try:
                seen.append(float(client.invoke_endpoint(EndpointName="bg", ContentType="text/csv",
                                                         Body=b"1,1,1\n")["Body"].read()))
            except Exception as exc:  # noqa: BLE001 - every failure is counted
                failures.append(repr(exc))
            latencies.append(time.monotonic() - t0)

    t = threading.Thread(target=traffic)
    t.start()
    sm.update_endpoint(EndpointName="bg", EndpointConfigName="bg-green")
    d = wait_endpoint(sm, "bg")
    time.sleep(0.5)
    stop.set()
    t.join()
    assert d["EndpointStatus"] == "InService" and d["EndpointConfigName"] == "bg-green"
    assert d["ProductionVariants"][0]["CurrentInstanceCount"] == 2
    assert failures == [], failures[:5]
    # Every answer came from the old program or the new one; the new one answered last.
    assert set(seen) <= {3 * base, 5 * base} and seen[-1] == pytest.approx(5 * base)
    assert seen[0] == pytest.approx(3 * base)
    wait_for(lambda: not any(alive(p) for p in old), timeout=15, what="the old worker to stop")
    assert len(serve_pids(server)) == 2
    # No request waits for the old program to stop (the worker thread stops it).
    assert max(latencies) < 2.5, f"a request waited {max(latencies):.1f} s"


def test_stop_is_seen_between_the_batches_of_one_object(byo, tmp_path):
    server, sm, rt, s3 = byo
    # 400 single-record batches at 50 ms each: 20 s if the Stop were only seen between objects.
    linear_model(server, tmp_path, s3, sm, "slow", env={"LOG_BATCHES": "1", "BATCH_DELAY": "0.05"})
    s3.put_object(Bucket=BUCKET, Key="big/one.csv", Body=csv_body([[1, 2, 3]] * 400).encode())
    sm.create_transform_job(
        TransformJobName="bt-stop", ModelName="slow", BatchStrategy="SingleRecord",
        MaxConcurrentTransforms=1,
        TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                        "S3Uri": f"s3://{BUCKET}/big/"}},
                        "ContentType": "text/csv", "SplitType": "Line"},
        TransformOutput={"S3OutputPath": f"s3://{BUCKET}/out/bt-stop"},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1})
    def some_batches():
        try:
            return "batch of 1 rows" in log_text(server, "/aws/sagemaker/TransformJobs")
        except ClientError:  # the log group appears with the job's first line
            return False
    wait_for(some_batches, timeout=60, what="the first batch")
    t0 = time.monotonic()
    sm.stop_transform_job(TransformJobName="bt-stop")
    d = wait_for(lambda: (x := sm.describe_transform_job(TransformJobName="bt-stop"))
                 ["TransformJobStatus"] not in ("InProgress", "Stopping") and x, timeout=30,
                 what="the stopped transform")
    assert d["TransformJobStatus"] == "Stopped", d
    assert time.monotonic() - t0 < 8, "the Stop waited for the whole object"
    batches = log_text(server, "/aws/sagemaker/TransformJobs").count("batch of 1 rows")
    assert 0 < batches < 300, batches
    # An object stopped part way writes no output.
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix="out/bt-stop").get("KeyCount", 0) == 0
    assert serve_pids(server) == []


def test_transform_passes_its_environment_and_retries_a_failing_program(byo, tmp_path):
    """CreateTransformJob's Environment reaches the serve program over the model's own, with
    SAGEMAKER_BATCH=true; a batch the program fails with a 5xx is sent again up to
    ModelClientConfig.InvocationsMaxRetries times."""
    server, sm, rt, s3 = byo
    linear_model(server, tmp_path, s3, sm, "tenv", env={"FAIL_FIRST": "2"})
    rows = [[1, 2, 3], [0, 0, 1]]
    s3.put_object(Bucket=BUCKET, Key="tenv/in/a.csv", Body=csv_body(rows).encode())

    def run(name, retries):
        sm.create_transform_job(
            TransformJobName=name, ModelName="tenv", MaxConcurrentTransforms=1,
            BatchStrategy="MultiRecord",
            Environment={"LOG_ENV": "SAGEMAKER_BATCH,JOB_FLAG,SCALE", "JOB_FLAG": "on", "SCALE": "5"},
            ModelClientConfig={"InvocationsMaxRetries": retries, "InvocationsTimeoutInSeconds": 30},
            TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                            "S3Uri": f"s3://{BUCKET}/tenv/in/"}},
                            "ContentType": "text/csv", "SplitType": "Line"},
            TransformOutput={"S3OutputPath": f"s3://{BUCKET}/out/{name}", "Accept": "text/csv"},
            TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1})
        return wait_for(lambda: (d := sm.describe_transform_job(TransformJobName=name))
                        ["TransformJobStatus"] not in ("InProgress", "Stopping") and d, timeout=90,
                        what=f"transform {name}")

    d = run("tenv-retried", 3)
    assert d["TransformJobStatus"] == "Completed", d.get("FailureReason")
    out = s3.get_object(Bucket=BUCKET, Key="out/tenv-retried/a.csv.out")["Body"].read().decode()
    # The job's SCALE (5) wins over the model's (3).
    assert np.allclose([float(v) for v in out.split()], [5 / 3 * e for e in expected(rows)]), out
    logs = log_text(server, "/aws/sagemaker/TransformJobs")
    env = [json.loads(l[4:]) for l in logs.splitlines() if l.startswith("env ")]
    assert env == [{"SAGEMAKER_BATCH": "true", "JOB_FLAG": "on", "SCALE": "5"}], logs
    assert logs.count("failing call") == 2

    d = run("tenv-no-retry", 0)
    assert d["TransformJobStatus"] == "Failed"
    assert "out of memory, try again" in d["FailureReason"], d["FailureReason"]
