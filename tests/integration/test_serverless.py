"""Serverless endpoints through boto3: a variant with ServerlessConfig instead of instances,
described with CurrentServerlessConfig, scaled to zero when idle (its serve program stopped)
and started again by the next call, kept warm by ProvisionedConcurrency, and throttled past
MaxConcurrency."""
import json
import os
import subprocess
import threading
import time

import boto3
import numpy as np
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import LATHE_BIN, Server, assert_clean_log
from jobs_util import ROLE, wait_for
from test_byo_serve import BUCKET as BYO_BUCKET
from test_byo_serve import (LINEAR_SERVE, STARTUP_TIMEOUT_S, expected, log_text, push_image,
                            serve_pids, upload_tar, worker_limits)
from test_endpoints import BUCKET, KMEANS_IMAGE, env, kmeans_artifact, wait_endpoint  # noqa: F401

IDLE_S = 1


def lathe_api(server, op, request):
    """One control-plane call with `lathe api`, which sends the JSON as given: this
    botocore predates ServerlessConfig.ProvisionedConcurrency, which newer SDKs send."""
    env = dict(os.environ, AWS_SHARED_CREDENTIALS_FILE=server.credentials_file,
               AWS_DEFAULT_REGION="us-east-1")
    out = subprocess.run([LATHE_BIN, "api", op, "--json", json.dumps(request), "--endpoint",
                          server.endpoint], capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 0, out.stderr
    return out


def serverless_endpoint(sm, name, model, max_concurrency=2, provisioned=None, server=None):
    config = {"MemorySizeInMB": 2048, "MaxConcurrency": max_concurrency}
    request = {"EndpointConfigName": name + "-cfg", "ProductionVariants": [
        {"VariantName": "AllTraffic", "ModelName": model, "ServerlessConfig": config}]}
    if provisioned:
        config["ProvisionedConcurrency"] = provisioned
        lathe_api(server, "CreateEndpointConfig", request)
    else:
        sm.create_endpoint_config(**request)
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name + "-cfg")
    d = wait_endpoint(sm, name, timeout=60)
    assert d["EndpointStatus"] == "InService", d.get("FailureReason")
    return d, config


def test_serverless_builtin_model_answers_and_is_described(env, tmp_path):
    server, sm, rt, s3 = env
    url = kmeans_artifact(tmp_path, s3, "skm/model.tar.gz", [[0, 0], [10, 10]])
    sm.create_model(ModelName="skm", ExecutionRoleArn=ROLE,
                    PrimaryContainer={"Image": KMEANS_IMAGE, "ModelDataUrl": url})
    d, config = serverless_endpoint(sm, "skm", "skm")
    pv = d["ProductionVariants"][0]
    assert pv["CurrentServerlessConfig"] == config and pv["DesiredServerlessConfig"] == config
    assert "CurrentInstanceCount" not in pv
    r = rt.invoke_endpoint(EndpointName="skm", ContentType="text/csv", Accept="application/json",
                           Body="0.1,0.2\n9.9,10.2\n")
    answer = json.loads(r["Body"].read())["predictions"]
    assert answer[0]["closest_cluster"] != answer[1]["closest_cluster"]

    def refused(variant):
        with pytest.raises(ClientError) as e:
            sm.create_endpoint_config(EndpointConfigName="bad-cfg", ProductionVariants=[variant])
        assert e.value.response["Error"]["Code"] == "ValidationException"
        return e.value.response["Error"]["Message"]
    assert "not both" in refused({"VariantName": "A", "ModelName": "skm", "InstanceType": "ml.m5.large",
                                  "InitialInstanceCount": 1,
                                  "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 2}})
    env = dict(os.environ, AWS_SHARED_CREDENTIALS_FILE=server.credentials_file,
               AWS_DEFAULT_REGION="us-east-1")
    out = subprocess.run([LATHE_BIN, "api", "CreateEndpointConfig", "--json", json.dumps(
        {"EndpointConfigName": "bad-cfg", "ProductionVariants": [
            {"VariantName": "A", "ModelName": "skm", "ServerlessConfig": {
                "MemorySizeInMB": 2048, "MaxConcurrency": 2, "ProvisionedConcurrency": 3}}]}),
        "--endpoint", server.endpoint], capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode != 0 and "cannot exceed MaxConcurrency" in out.stdout + out.stderr


@pytest.fixture
def idle_server(tmp_path, monkeypatch):
    monkeypatch.setenv("LATHE_SERVE_STARTUP_TIMEOUT_S", str(STARTUP_TIMEOUT_S))
    monkeypatch.setenv("LATHE_SERVERLESS_IDLE_S", str(IDLE_S))
    srv = Server(tmp_path / "data").start()
    s3 = srv.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.create_bucket(Bucket=BYO_BUCKET)
    yield srv, srv.client("sagemaker"), srv.client("sagemaker-runtime"), s3
    code = srv.stop()
    assert_clean_log(srv)
    assert code == 0


def linear_model(server, tmp_path, s3, sm, name, env=None):
    image = push_image(server, tmp_path, f"team/{name}:v1", LINEAR_SERVE)
    url = upload_tar(s3, f"{name}/model.tar.gz",
                     {"weights.json": json.dumps({"w": [0.5, -1.0, 2.0], "b": 0.25}).encode()})
    sm.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={
        "Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/" + image, "ModelDataUrl": url,
        "Environment": dict({"SCALE": "3"}, **(env or {}))})


def predict(rt, name, row=(1, 2, 3)):
    body = ",".join(map(str, row)) + "\n"
    return float(rt.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=body)["Body"].read())


def test_idle_serverless_endpoint_scales_to_zero_and_starts_on_the_next_call(idle_server, tmp_path):
    server, sm, rt, s3 = idle_server
    linear_model(server, tmp_path, s3, sm, "cold")
    serverless_endpoint(sm, "cold", "cold")
    assert predict(rt, "cold") == pytest.approx(expected([[1, 2, 3]])[0])
    first = serve_pids(server)
    assert len(first) == 1
    # MemorySizeInMB (2048) is the worker's memory limit, where cgroups can be made.
    limits = worker_limits(server)
    if "no memory limit" not in log_text(server, "/aws/sagemaker/Endpoints/cold"):
        assert (limits.get("memory.limit_in_bytes") or limits.get("memory.max")) == str(2048 << 20)
    # Idle past LATHE_SERVERLESS_IDLE_S: the serve program is stopped, the endpoint stays
    # InService.
    wait_for(lambda: serve_pids(server) == [] or None, timeout=15, what="the endpoint to scale to zero")
    assert sm.describe_endpoint(EndpointName="cold")["EndpointStatus"] == "InService"
    # The next call starts it again (a cold start) and is answered.
    assert predict(rt, "cold", (2, 0, 1)) == pytest.approx(expected([[2, 0, 1]])[0])
    second = serve_pids(server)
    assert len(second) == 1 and second != first
    # Calls keep it warm.
    for _ in range(4):
        time.sleep(IDLE_S / 2)
        assert predict(rt, "cold") == pytest.approx(expected([[1, 2, 3]])[0])
    assert serve_pids(server) == second


def test_provisioned_concurrency_keeps_it_warm_and_max_concurrency_throttles(idle_server, tmp_path):
    server, sm, rt, s3 = idle_server
    linear_model(server, tmp_path, s3, sm, "warm", env={"BATCH_DELAY": "3"})
    serverless_endpoint(sm, "warm", "warm", max_concurrency=1, provisioned=1, server=server)
    before = serve_pids(server)
    assert len(before) == 1
    time.sleep(IDLE_S * 3)
    assert serve_pids(server) == before  # ProvisionedConcurrency: not scaled to zero

    # Two calls at once against MaxConcurrency 1 (each takes 3 s, the second sent half a
    # second after the first): one is throttled.
    def runtime(retries):
        return boto3.client("sagemaker-runtime", endpoint_url=server.endpoint,
                            region_name="us-east-1", aws_access_key_id=server.access_key,
                            aws_secret_access_key=server.secret_key,
                            config=Config(retries=retries))
    once = runtime({"total_max_attempts": 1})
    results = []

    def call():
        try:
            results.append(predict(once, "warm"))
        except ClientError as e:
            results.append((e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]))
    threads = [threading.Thread(target=call) for _ in range(2)]
    for t in threads:
        t.start()
        time.sleep(0.5)
    for t in threads:
        t.join()
    assert ("ThrottlingException", 429) in results, results
    assert any(isinstance(r, float) and r == pytest.approx(expected([[1, 2, 3]])[0]) for r in results)
    # A client with botocore's standard retries rides the throttling out: its first
    # attempt meets a call in flight and is throttled, a later one is answered.
    retrying = runtime({"total_max_attempts": 10, "mode": "standard"})
    busy = threading.Thread(target=call)
    busy.start()
    time.sleep(0.5)
    assert predict(retrying, "warm") == pytest.approx(expected([[1, 2, 3]])[0])
    busy.join()
    np.testing.assert_equal(len(serve_pids(server)), 1)
