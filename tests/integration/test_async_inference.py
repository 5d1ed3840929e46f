"""Asynchronous inference through boto3: an endpoint config with AsyncInferenceConfig,
InvokeEndpointAsync answered 202 at once, the answer (or what went wrong) written to S3 where
the OutputLocation says, the endpoint's concurrency limit, refusals, and a queue that survives
a server restart."""
import json
import time

import numpy as np
import pytest
from botocore.exceptions import ClientError

from conftest import Server, assert_clean_log
from jobs_util import ROLE, wait_for
from test_byo_serve import BUCKET as BYO_BUCKET
from test_byo_serve import LINEAR_SERVE, STARTUP_TIMEOUT_S, expected, push_image, upload_tar
from test_endpoints import BUCKET, KMEANS_IMAGE, env, kmeans_artifact, wait_endpoint  # noqa: F401


def async_endpoint(sm, name, model, per_instance=None, instances=1):
    client = {"MaxConcurrentInvocationsPerInstance": per_instance} if per_instance else {}
    sm.create_endpoint_config(
        EndpointConfigName=name + "-cfg",
        ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": model,
                             "InitialInstanceCount": instances, "InstanceType": "ml.m5.large"}],
        AsyncInferenceConfig={"OutputConfig": {"S3OutputPath": f"s3://{BUCKET}/{name}-out/"},
                              "ClientConfig": client})
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name + "-cfg")
    d = wait_endpoint(sm, name, timeout=60)
    assert d["EndpointStatus"] == "InService", d.get("FailureReason")
    return d


def s3_object(s3, uri, timeout=30):
    bucket, key = uri[len("s3://"):].split("/", 1)

    def fetch():
        try:
            return s3.get_object(Bucket=bucket, Key=key)
        except ClientError as e:
            assert e.response["Error"]["Code"] in ("NoSuchKey", "404"), e.response
            return None
    return wait_for(fetch, timeout=timeout, what=uri)


def exists(s3, uri):
    bucket, key = uri[len("s3://"):].split("/", 1)
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return True
    except ClientError as e:
        assert e.response["Error"]["Code"] in ("404", "NoSuchKey"), e.response
        return False


def test_async_invocations_write_answers_and_failures_to_s3(env, tmp_path):
    server, sm, rt, s3 = env
    url = kmeans_artifact(tmp_path, s3, "akm/model.tar.gz", [[0, 0], [10, 10]])
    sm.create_model(ModelName="akm", ExecutionRoleArn=ROLE,
                    PrimaryContainer={"Image": KMEANS_IMAGE, "ModelDataUrl": url})
    d = async_endpoint(sm, "akm", "akm", per_instance=2)
    assert d["AsyncInferenceConfig"]["OutputConfig"]["S3OutputPath"] == f"s3://{BUCKET}/akm-out/"
    cfg = sm.describe_endpoint_config(EndpointConfigName="akm-cfg")
    assert cfg["AsyncInferenceConfig"]["ClientConfig"]["MaxConcurrentInvocationsPerInstance"] == 2

    rows = "0.1,0.2\n9.8,10.1\n"
    s3.put_object(Bucket=BUCKET, Key="in/rows.csv", Body=rows.encode())
    r = rt.invoke_endpoint_async(EndpointName="akm", InputLocation=f"s3://{BUCKET}/in/rows.csv",
                                 ContentType="text/csv", Accept="application/json")
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 202
    iid = r["InferenceId"]
    assert len(iid) == 36  # a uuid4 when none is given
    assert r["OutputLocation"] == f"s3://{BUCKET}/akm-out/{iid}.out"
    out = s3_object(s3, r["OutputLocation"])
    assert out["ContentType"] == "application/json"
    direct = rt.invoke_endpoint(EndpointName="akm", ContentType="text/csv",
                                Accept="application/json", Body=rows)["Body"].read()
    assert json.loads(out["Body"].read()) == json.loads(direct)

    # An id of the caller's names the object; a second request with it while the first is
    # still queued would collide, so ids are the caller's to keep unique.
    r = rt.invoke_endpoint_async(EndpointName="akm", InputLocation=f"s3://{BUCKET}/in/rows.csv",
                                 ContentType="text/csv", Accept="text/csv", InferenceId="batch-7")
    assert r["InferenceId"] == "batch-7"
    assert r["OutputLocation"] == f"s3://{BUCKET}/akm-out/batch-7.out"
    out = s3_object(s3, r["OutputLocation"])
    assert out["ContentType"] == "text/csv"
    assert out["Body"].read() == rt.invoke_endpoint(EndpointName="akm", ContentType="text/csv",
                                                    Accept="text/csv", Body=rows)["Body"].read()

    # Rows the model refuses: the error goes to <id>-error.out, and no answer is written.
    s3.put_object(Bucket=BUCKET, Key="in/bad.csv", Body=b"1,2,3\n")
    r = rt.invoke_endpoint_async(EndpointName="akm", InputLocation=f"s3://{BUCKET}/in/bad.csv",
                                 ContentType="text/csv")
    failure = json.loads(s3_object(s3, f"s3://{BUCKET}/akm-out/{r['InferenceId']}-error.out")
                         ["Body"].read())
    assert failure["ErrorCode"] == "ModelError" and failure["InferenceId"] == r["InferenceId"]
    assert "3 columns" in failure["message"] or "feature" in failure["message"], failure
    assert not exists(s3, r["OutputLocation"])

    # Refused before queuing.
    def refused(**kw):
        with pytest.raises(ClientError) as e:
            rt.invoke_endpoint_async(**kw)
        assert e.value.response["Error"]["Code"] == "ValidationError", e.value.response
        return e.value.response["Error"]["Message"]
    msg = refused(EndpointName="akm", InputLocation=f"s3://{BUCKET}/in/missing.csv")
    assert f"s3://{BUCKET}/in/missing.csv" in msg
    assert "/local/file.csv" in refused(EndpointName="akm", InputLocation="/local/file.csv")
    assert "not found" in refused(EndpointName="nope", InputLocation=f"s3://{BUCKET}/in/rows.csv")
    assert "InferenceId" in refused(EndpointName="akm", InferenceId="a/b",
                                    InputLocation=f"s3://{BUCKET}/in/rows.csv")
    assert "RequestTTLSeconds" in refused(EndpointName="akm", RequestTTLSeconds=30000,
                                          InputLocation=f"s3://{BUCKET}/in/rows.csv")
    # A real-time endpoint is not an asynchronous one.
    sm.create_endpoint_config(EndpointConfigName="rt-cfg", ProductionVariants=[
        {"VariantName": "AllTraffic", "ModelName": "akm", "InitialInstanceCount": 1,
         "InstanceType": "ml.m5.large"}])
    sm.create_endpoint(EndpointName="rt", EndpointConfigName="rt-cfg")
    assert wait_endpoint(sm, "rt")["EndpointStatus"] == "InService"
    assert "AsyncInferenceConfig" in refused(EndpointName="rt",
                                             InputLocation=f"s3://{BUCKET}/in/rows.csv")
    # SNS notifications are refused at CreateEndpointConfig, saying so.
    with pytest.raises(ClientError) as e:
        sm.create_endpoint_config(
            EndpointConfigName="sns-cfg",
            ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": "akm",
                                 "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}],
            AsyncInferenceConfig={"OutputConfig": {
                "S3OutputPath": f"s3://{BUCKET}/x/",
                "NotificationConfig": {"SuccessTopic": "arn:aws:sns:us-east-1:123456789012:t"}}})
    assert "SNS notifications are not supported" in e.value.response["Error"]["Message"]
    # Still serving.
    r = rt.invoke_endpoint_async(EndpointName="akm", InputLocation=f"s3://{BUCKET}/in/rows.csv",
                                 ContentType="text/csv")
    assert s3_object(s3, r["OutputLocation"])


def linear_async(server, tmp_path, s3, sm, name, delay):
    image = push_image(server, tmp_path, f"team/{name}:v1", LINEAR_SERVE)
    url = upload_tar(s3, f"{name}/model.tar.gz",
                     {"weights.json": json.dumps({"w": [0.5, -1.0, 2.0], "b": 0.25}).encode()})
    sm.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={
        "Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/" + image, "ModelDataUrl": url,
        "Environment": {"SCALE": "3", "BATCH_DELAY": str(delay), "LOG_BATCHES": "1"}})
    return async_endpoint(sm, name, name, per_instance=1)


def test_concurrency_limit_and_a_queue_that_survives_a_restart(tmp_path, monkeypatch):
    monkeypatch.setenv("LATHE_SERVE_STARTUP_TIMEOUT_S", str(STARTUP_TIMEOUT_S))
    srv = Server(tmp_path / "data").start()
    sm, s3, rt = srv.client("sagemaker"), srv.client("s3"), srv.client("sagemaker-runtime")
    s3.create_bucket(Bucket=BUCKET)
    s3.create_bucket(Bucket=BYO_BUCKET)
    # One worker taking 1 s a call (it answers several at once), and
    # MaxConcurrentInvocationsPerInstance 1: three requests take three seconds, not one.
    linear_async(srv, tmp_path, s3, sm, "slow", delay=1)

    def submit(i):
        s3.put_object(Bucket=BUCKET, Key=f"q/{i}.csv", Body=f"{i},0,0\n".encode())
        return rt.invoke_endpoint_async(EndpointName="slow", InputLocation=f"s3://{BUCKET}/q/{i}.csv",
                                        ContentType="text/csv", InferenceId=f"req-{i}")["OutputLocation"]
    t0 = time.monotonic()
    outputs = [submit(i) for i in range(3)]
    for i, o in enumerate(outputs):
        assert float(s3_object(s3, o)["Body"].read()) == pytest.approx(expected([[i, 0, 0]])[0])
    assert time.monotonic() - t0 >= 2.8, "the calls ran side by side"

    # Stopped with requests still queued (four of a second each, one at a time: at most
    # the first is done), the next start runs them.
    outputs = [submit(i) for i in range(3, 7)]
    assert srv.stop() == 0
    assert_clean_log(srv)
    srv2 = Server(tmp_path / "data", port=srv.port).start()
    try:
        s3 = srv2.client("s3")
        for i, o in zip(range(3, 7), outputs):
            body = s3_object(s3, o, timeout=60)["Body"].read()
            assert float(body) == pytest.approx(expected([[i, 0, 0]])[0])
    finally:
        assert srv2.stop() == 0
        assert_clean_log(srv2)
