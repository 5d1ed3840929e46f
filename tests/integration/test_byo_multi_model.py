"""Multi-model endpoints over a bring-your-own serve program (Mode MultiModel with a
pushed image), under SageMaker's multi-model container contract: Lathe fetches each
TargetModel once into /opt/ml/models/<name>/model, loads it into a worker with
POST /models, calls POST /models/<name>/invoke, unloads the model used longest ago when the
container answers 507, unloads after every call with ModelCacheSetting Disabled, and loads
again into a worker that replaced a killed one."""
import io
import json
import os
import signal
import subprocess
import tarfile
import threading

import numpy as np
import pytest
from botocore.exceptions import ClientError

from conftest import LATHE_BIN, Server, assert_clean_log
from jobs_util import ROLE, wait_for
from test_byo_serve import (BUCKET, LINEAR_SERVE, STARTUP_TIMEOUT_S, byo,  # noqa: F401
                            log_text, push_image, serve_pids, wait_endpoint)

# The multi-model contract in the stdlib: GET /ping, POST /models (load; 409 when loaded,
# 507 past CAPACITY models), GET /models, GET and DELETE /models/<name>,
# POST /models/<name>/invoke. A model is a linear map read from <url>/weights.json. Each
# answer reports what the process has seen, so the tests can check what Lathe asked of it.
MME_SERVE = r'''#!/usr/bin/env python3
import json, os, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CAPACITY = int(os.environ.get("CAPACITY", "0"))
LOADED = {}    # model_name -> (url, weights)
LOADS = {}     # model_name -> times loaded
UNLOADS = []   # model names, in order
LOCK = threading.Lock()
print("mme serve: SAGEMAKER_MULTI_MODEL=%s, models: %s" % (
    os.environ.get("SAGEMAKER_MULTI_MODEL"), sorted(os.listdir("/opt/ml/models"))), flush=True)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body, ctype="application/json"):
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/ping":
            return self.answer(200, "", "text/plain")
        with LOCK:
            if self.path == "/models":
                return self.answer(200, {"models": [{"modelName": n, "modelUrl": u}
                                                    for n, (u, _) in LOADED.items()]})
            name = self.path[len("/models/"):]
            if self.path.startswith("/models/") and name in LOADED:
                return self.answer(200, {"modelName": name, "modelUrl": LOADED[name][0]})
        self.answer(404, {"error": "no such model or path"})

    def do_DELETE(self):
        name = self.path[len("/models/"):]
        with LOCK:
            if not self.path.startswith("/models/") or LOADED.pop(name, None) is None:
                return self.answer(404, {"error": f"{name} is not loaded"})
            UNLOADS.append(name)
        self.answer(200, {"unloaded": name})

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path == "/models":
            req = json.loads(body)
            name, url = req["model_name"], req["url"]
            with LOCK:
                if name in LOADED:
                    return self.answer(409, {"error": f"{name} is already loaded"})
                if CAPACITY and len(LOADED) >= CAPACITY:
                    return self.answer(507, {"error": "no room for another model"})
            try:
                with open(os.path.join(url, "weights.json")) as f:
                    weights = json.load(f)
            except OSError as e:
                return self.answer(500, {"error": f"cannot load {name}: {e.strerror}"})
            with LOCK:
                LOADED[name] = (url, weights)
                LOADS[name] = LOADS.get(name, 0) + 1
            return self.answer(200, {"loaded": name})
        if self.path.startswith("/models/") and self.path.endswith("/invoke"):
            name = self.path[len("/models/"):-len("/invoke")]
            with LOCK:
                model = LOADED.get(name)
            if model is None:
                return self.answer(404, {"error": f"{name} is not loaded"})
            w = model[1]
            rows = [[float(v) for v in line.split(",")] for line in body.decode().splitlines()
                    if line.strip()]
            if any(len(r) != len(w["w"]) for r in rows):
                return self.answer(400, f"expected {len(w['w'])} columns", "text/plain")
            preds = [sum(a * b for a, b in zip(w["w"], r)) + w["b"] for r in rows]
            with LOCK:
                seen = {"loads": LOADS[name], "loaded": sorted(LOADED), "unloads": list(UNLOADS),
                        "on_disk": sorted(os.listdir("/opt/ml/models"))}
            return self.answer(200, dict(
                predictions=preds, model=name, url=model[0],
                port=int(os.environ["SAGEMAKER_BIND_TO_PORT"]),
                target=self.headers.get("X-Amzn-SageMaker-Target-Model"),
                content_type=self.headers.get("Content-Type"), **seen))
        self.answer(404, {"error": "no such path"})


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", int(os.environ["SAGEMAKER_BIND_TO_PORT"])), Handler).serve_forever()
'''

MODELS = {"a.tar.gz": {"w": [1.0, 2.0], "b": 0.5},
          "v2/b.tar.gz": {"w": [-3.0, 0.25], "b": 10.0},
          "c.tar.gz": {"w": [0.0, 1.0], "b": -1.0}}
ROWS = [[1.0, 2.0], [-4.0, 0.5]]


def upload_model(s3, key, weights):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        data = json.dumps(weights).encode()
        info = tarfile.TarInfo("weights.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    s3.put_object(Bucket=BUCKET, Key=key, Body=buf.getvalue())


def upload_models(s3, prefix):
    for key, weights in MODELS.items():
        upload_model(s3, prefix + key, weights)
    buf = io.BytesIO()  # a model.tar.gz without the file the container loads
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("README")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    s3.put_object(Bucket=BUCKET, Key=prefix + "broken.tar.gz", Body=buf.getvalue())


def mme_endpoint(server, tmp_path, sm, s3, name, env=None, cache=None, count=1):
    image = push_image(server, tmp_path, f"team/mme-{name}:v1", MME_SERVE)
    upload_models(s3, f"{name}/")
    container = {"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/" + image,
                 "Mode": "MultiModel", "ModelDataUrl": f"s3://{BUCKET}/{name}/",
                 "Environment": env or {}}
    if cache:
        container["MultiModelConfig"] = {"ModelCacheSetting": cache}
    sm.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer=container)
    sm.create_endpoint_config(EndpointConfigName=name + "-cfg", ProductionVariants=[
        {"VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": count,
         "InstanceType": "ml.m5.large"}])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name + "-cfg")
    d = wait_endpoint(sm, name)
    assert d["EndpointStatus"] == "InService", d.get("FailureReason")


def call(rt, endpoint, target, rows=ROWS):
    r = rt.invoke_endpoint(EndpointName=endpoint, TargetModel=target, ContentType="text/csv",
                           Accept="application/json",
                           Body="".join(",".join(map(repr, row)) + "\n" for row in rows))
    assert r["ResponseMetadata"]["HTTPHeaders"]["x-amzn-invoked-production-variant"] == "AllTraffic"
    return json.loads(r["Body"].read())


def expected(target, rows=ROWS):
    w = MODELS[target]
    return [sum(a * b for a, b in zip(w["w"], r)) + w["b"] for r in rows]


def refused(rt, **kw):
    with pytest.raises(ClientError) as e:
        rt.invoke_endpoint(ContentType="text/csv", Body="1,2\n", **kw)
    return e.value.response


def test_each_target_model_is_fetched_loaded_and_invoked(byo, tmp_path):
    server, sm, rt, s3 = byo
    mme_endpoint(server, tmp_path, sm, s3, "mm")
    assert sm.describe_model(ModelName="mm")["PrimaryContainer"]["Mode"] == "MultiModel"

    a = call(rt, "mm", "a.tar.gz")
    assert np.allclose(a["predictions"], expected("a.tar.gz"))
    assert a["target"] == "a.tar.gz" and a["content_type"] == "text/csv"
    assert len(a["model"]) == 32 and int(a["model"], 16) >= 0  # an opaque id, not the key
    assert a["url"] == f"/opt/ml/models/{a['model']}/model"
    assert a["loads"] == 1 and a["loaded"] == [a["model"]]
    b = call(rt, "mm", "v2/b.tar.gz")
    assert np.allclose(b["predictions"], expected("v2/b.tar.gz"))
    assert b["model"] != a["model"] and b["loaded"] == sorted([a["model"], b["model"]])
    again = call(rt, "mm", "a.tar.gz", rows=[[0.0, 0.0]])
    assert again["predictions"] == [0.5] and again["loads"] == 1  # loaded once, kept

    # What the runtime refuses before the container sees it.
    resp = refused(rt, EndpointName="mm")
    assert resp["Error"]["Code"] == "ValidationError" and "TargetModel" in resp["Error"]["Message"]
    resp = refused(rt, EndpointName="mm", TargetModel="missing.tar.gz")
    assert resp["Error"]["Code"] == "ValidationError"
    assert f"Failed to download model data (s3://{BUCKET}/mm/missing.tar.gz)" in resp["Error"]["Message"]
    resp = refused(rt, EndpointName="mm", TargetModel="../mm/a.tar.gz")
    assert resp["Error"]["Code"] == "ValidationError" and ".." in resp["Error"]["Message"]
    # What the container refuses: a model it cannot load, rows it cannot read.
    resp = refused(rt, EndpointName="mm", TargetModel="broken.tar.gz")
    assert resp["Error"]["Code"] == "ModelError" and resp["OriginalStatusCode"] == 500
    assert "cannot load" in resp["OriginalMessage"]
    with pytest.raises(ClientError) as e:
        rt.invoke_endpoint(EndpointName="mm", TargetModel="c.tar.gz", ContentType="text/csv",
                           Body="1,2,3\n")
    assert e.value.response["Error"]["Code"] == "ModelError"
    assert e.value.response["OriginalStatusCode"] == 400
    assert e.value.response["OriginalMessage"] == "expected 2 columns"
    # Still serving, every model as before.
    for target in MODELS:
        assert np.allclose(call(rt, "mm", target)["predictions"], expected(target))

    # `lathe predict --target-model` from the command line.
    env = dict(os.environ, AWS_SHARED_CREDENTIALS_FILE=server.credentials_file,
               AWS_DEFAULT_REGION="us-east-1")
    cli = subprocess.run([LATHE_BIN, "predict", "mm", "--target-model", "v2/b.tar.gz", "--accept",
                          "application/json", "--endpoint", server.endpoint],
                         input="1,2\n", capture_output=True, text=True, timeout=60, env=env)
    assert cli.returncode == 0, cli.stderr
    assert np.allclose(json.loads(cli.stdout)["predictions"], expected("v2/b.tar.gz", [[1, 2]]))
    cli = subprocess.run([LATHE_BIN, "predict", "mm", "--endpoint", server.endpoint],
                         input="1,2\n", capture_output=True, text=True, timeout=60, env=env)
    assert cli.returncode == 1 and "TargetModel" in cli.stderr, cli.stderr

    text = wait_for(lambda: (t := log_text(server, "/aws/sagemaker/Endpoints/mm"))
                    and "mme serve" in t and t, what="the program's output in the logs")
    assert "SAGEMAKER_MULTI_MODEL=true, models: []" in text  # nothing fetched before a call


# A single-model program: /ping and /invocations, 404 for any other path.
INVOCATIONS_ONLY = r'''#!/usr/bin/env python3
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.answer(200 if self.path == "/ping" else 404, b"")

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path == "/invocations":
            return self.answer(200, b"0.5\n")
        self.answer(404, b"no such path")


ThreadingHTTPServer(("127.0.0.1", int(os.environ["SAGEMAKER_BIND_TO_PORT"])), Handler).serve_forever()
'''


def test_single_model_programs_deployed_as_multi_model_say_why_they_cannot_serve(byo, tmp_path):
    server, sm, rt, s3 = byo
    upload_models(s3, "single/")

    def deploy(name, serve_text, env):
        image = push_image(server, tmp_path, f"team/{name}:v1", serve_text)
        sm.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={
            "Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/" + image,
            "Mode": "MultiModel", "ModelDataUrl": f"s3://{BUCKET}/single/", "Environment": env})
        sm.create_endpoint_config(EndpointConfigName=name + "-cfg", ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 1,
             "InstanceType": "ml.m5.large"}])
        sm.create_endpoint(EndpointName=name, EndpointConfigName=name + "-cfg")
        return wait_endpoint(sm, name)
    # One reads /opt/ml/model/weights.json as it starts, which a multi-model container does
    # not get: it exits, and the endpoint fails with the program's own words.
    d = deploy("linear", LINEAR_SERVE, {"SCALE": "1"})
    assert d["EndpointStatus"] == "Failed"
    assert "/opt/ml/model/weights.json" in d["FailureReason"], d["FailureReason"]
    # One starts, but has no POST /models: every call is a ModelError that says so.
    d = deploy("plain", INVOCATIONS_ONLY, {})
    assert d["EndpointStatus"] == "InService", d.get("FailureReason")
    resp = refused(rt, EndpointName="plain", TargetModel="a.tar.gz")
    assert resp["Error"]["Code"] == "ModelError" and resp["OriginalStatusCode"] == 404
    assert "does not implement SageMaker's multi-model contract" in resp["OriginalMessage"]


def test_a_full_container_gives_up_the_model_used_longest_ago(byo, tmp_path):
    # The container holds two models and answers 507 to a third: Lathe unloads the one
    # called longest ago that no call is using, and loads again.
    server, sm, rt, s3 = byo
    mme_endpoint(server, tmp_path, sm, s3, "full", env={"CAPACITY": "2"})
    a = call(rt, "full", "a.tar.gz")
    b = call(rt, "full", "v2/b.tar.gz")
    call(rt, "full", "a.tar.gz")  # now b is the one used longest ago
    c = call(rt, "full", "c.tar.gz")
    assert np.allclose(c["predictions"], expected("c.tar.gz"))
    assert c["unloads"] == [b["model"]] and c["loaded"] == sorted([a["model"], c["model"]])
    b2 = call(rt, "full", "v2/b.tar.gz")
    assert np.allclose(b2["predictions"], expected("v2/b.tar.gz"))
    assert b2["loads"] == 2 and b2["unloads"] == [b["model"], a["model"]]


def test_first_calls_at_once_load_a_model_once(byo, tmp_path):
    server, sm, rt, s3 = byo
    mme_endpoint(server, tmp_path, sm, s3, "rush", count=2)
    answers, errors = [], []

    def first(target):
        try:
            answers.append((target, call(rt, "rush", target)))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))
    threads = [threading.Thread(target=first, args=(t,)) for t in list(MODELS) * 4]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(answers) == 12
    for target, a in answers:
        assert np.allclose(a["predictions"], expected(target))
        assert a["loads"] == 1  # a second load of it in the same process answered 409
    for target in MODELS:  # each model answered from its one home worker
        assert len({a["port"] for t, a in answers if t == target}) == 1


def test_past_64_models_on_disk_the_one_used_longest_ago_goes(byo, tmp_path):
    server, sm, rt, s3 = byo
    mme_endpoint(server, tmp_path, sm, s3, "many")
    for i in range(65):
        upload_model(s3, f"many/m{i}.tar.gz", {"w": [float(i), 0.0], "b": 0.0})
    names = []
    for i in range(65):
        a = call(rt, "many", f"m{i}.tar.gz", rows=[[1.0, 5.0]])
        assert a["predictions"] == [float(i)] and a["loads"] == 1
        names.append(a["model"])
    # The 65th model's fetch made room: m0 was unloaded from the worker and removed.
    assert a["unloads"] == [names[0]] and len(a["on_disk"]) == 64 and names[0] not in a["on_disk"]
    again = call(rt, "many", "m0.tar.gz", rows=[[1.0, 5.0]])
    assert again["predictions"] == [0.0] and again["model"] == names[0]
    assert again["loads"] == 2 and again["unloads"] == [names[0], names[1]]
    assert names[0] in again["on_disk"] and names[1] not in again["on_disk"]


def test_cache_disabled_unloads_after_every_call(byo, tmp_path):
    server, sm, rt, s3 = byo
    mme_endpoint(server, tmp_path, sm, s3, "nocache", cache="Disabled")
    first = call(rt, "nocache", "a.tar.gz")
    second = call(rt, "nocache", "a.tar.gz")
    assert np.allclose(second["predictions"], expected("a.tar.gz"))
    assert first["loads"] == 1 and second["loads"] == 2
    assert second["unloads"] == [first["model"]] and second["loaded"] == [first["model"]]
    assert second["on_disk"] == [first["model"]]  # fetched again after the first call


def test_a_replaced_worker_loads_its_models_again(byo, tmp_path):
    # A model is called on one worker (its home while that one is ready). Kill the home of
    # a.tar.gz: the other worker loads it meanwhile, and the replacement loads it afresh.
    server, sm, rt, s3 = byo
    mme_endpoint(server, tmp_path, sm, s3, "heal", count=2)
    before = {t: call(rt, "heal", t) for t in MODELS}
    assert all(v["loads"] == 1 for v in before.values())
    home = before["a.tar.gz"]["port"]
    assert call(rt, "heal", "a.tar.gz")["port"] == home  # the same worker again

    def port_of(pid):
        with open(f"/proc/{pid}/environ", "rb") as f:
            env = dict(kv.split(b"=", 1) for kv in f.read().split(b"\0") if b"=" in kv)
        return int(env[b"SAGEMAKER_BIND_TO_PORT"])
    pids = {port_of(p): p for p in serve_pids(server)}
    assert len(pids) == 2 and home in pids
    os.kill(pids[home], signal.SIGKILL)

    def answered(where):
        try:
            r = call(rt, "heal", "a.tar.gz")
        except ClientError as e:
            assert e.response["Error"]["Code"] == "ServiceUnavailable", e.response
            return None
        return r if where(r["port"]) else None
    other = next(p for p in pids if p != home)
    meanwhile = wait_for(lambda: answered(lambda port: port == other), timeout=30,
                         what="a.tar.gz to answer from the other worker")
    assert np.allclose(meanwhile["predictions"], expected("a.tar.gz")) and meanwhile["loads"] == 1
    after = wait_for(lambda: answered(lambda port: port not in pids), timeout=30,
                     what="a.tar.gz to answer from the worker that replaced its home")
    assert np.allclose(after["predictions"], expected("a.tar.gz"))
    assert after["loads"] == 1 and after["loaded"] == [before["a.tar.gz"]["model"]]
    for t in MODELS:
        assert np.allclose(call(rt, "heal", t)["predictions"], expected(t))


def test_a_restarted_server_serves_the_models_again(tmp_path, monkeypatch):
    monkeypatch.setenv("LATHE_SERVE_STARTUP_TIMEOUT_S", str(STARTUP_TIMEOUT_S))
    srv = Server(tmp_path / "data").start()
    sm, s3 = srv.client("sagemaker"), srv.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    mme_endpoint(srv, tmp_path, sm, s3, "again")
    before = call(srv.client("sagemaker-runtime"), "again", "v2/b.tar.gz")
    assert srv.stop() == 0
    assert_clean_log(srv)
    srv2 = Server(tmp_path / "data", port=srv.port).start()
    try:
        rt = srv2.client("sagemaker-runtime")

        def answered():
            try:
                return call(rt, "again", "v2/b.tar.gz")
            except ClientError:
                return None
        after = wait_for(answered, what="the multi-model endpoint after a restart")
        assert np.allclose(after["predictions"], expected("v2/b.tar.gz"))
        # A new process, which loaded the model from a fresh fetch, under the same name.
        assert after["model"] == before["model"] and after["loads"] == 1
        assert after["on_disk"] == [before["model"]] and after["loaded"] == [before["model"]]
    finally:
        assert srv2.stop() == 0
        assert_clean_log(srv2)
