"""Hosting through boto3: models, endpoint configs and endpoints, and InvokeEndpoint on
built-in algorithm models served in-process."""
import base64
import io
import json
import os
import subprocess
import tarfile
import threading
import time

import numpy as np
import pytest
from botocore.exceptions import ClientError

from conftest import LATHE_BIN, Server, assert_clean_log
from jobs_util import ROLE, python_xgboost_model, wait_for, wait_job

BUCKET = "lathe-models"
KMEANS_IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"


def kmeans_artifact(tmp_path, s3, key, centers, seed=0):
    """Trains k-means locally with `lathe algo train` and uploads its model.tar.gz."""
    rng = np.random.default_rng(seed)
    pts = np.vstack([np.asarray(c) + rng.normal(scale=0.3, size=(60, 2)) for c in centers])
    stem = key.replace("/", "-")
    data = tmp_path / f"{stem}.csv"
    data.write_text("\n".join(f"{a:.5f},{b:.5f}" for a, b in pts))
    model = tmp_path / f"{stem}-model"
    subprocess.run([LATHE_BIN, "algo", "train", "kmeans", "--train", str(data), "--content-type",
                    "text/csv;label_size=0", "--hp", f"k={len(centers)}", "--hp", "feature_dim=2",
                    "--model-dir", str(model)], check=True, capture_output=True)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name in sorted(os.listdir(model)):
            tar.add(model / name, arcname=name)
    s3.put_object(Bucket=BUCKET, Key=key, Body=buf.getvalue())
    return f"s3://{BUCKET}/{key}"


def deploy(sm, name, variants):
    """variants: [(variant, model_name, model_url, weight)]"""
    for variant, model, url, _ in variants:
        try:
            sm.create_model(ModelName=model, ExecutionRoleArn=ROLE,
                            PrimaryContainer={"Image": KMEANS_IMAGE, "ModelDataUrl": url})
        except ClientError as e:
            assert "already exists" in e.response["Error"]["Message"]
    sm.create_endpoint_config(EndpointConfigName=name + "-cfg", ProductionVariants=[
        {"VariantName": v, "ModelName": m, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large",
         "InitialVariantWeight": w} for v, m, _, w in variants])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name + "-cfg")
    return wait_endpoint(sm, name)


def wait_endpoint(sm, name, timeout=30):
    def ready():
        d = sm.describe_endpoint(EndpointName=name)
        return d if d["EndpointStatus"] not in ("Creating", "Updating") else None
    return wait_for(ready, timeout=timeout, what=f"endpoint {name}")


@pytest.fixture
def env(server, tmp_path):
    s3 = server.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    return server, server.client("sagemaker"), server.client("sagemaker-runtime"), s3


def test_kmeans_endpoint_answers_in_every_format(env, tmp_path):
    server, sm, rt, s3 = env
    url = kmeans_artifact(tmp_path, s3, "km/model.tar.gz", [[0, 0], [10, 10]])
    d = deploy(sm, "km", [("AllTraffic", "km-model", url, 1.0)])
    assert d["EndpointStatus"] == "InService", d.get("FailureReason")
    pv = d["ProductionVariants"][0]
    assert pv["VariantName"] == "AllTraffic" and pv["CurrentWeight"] == 1.0
    assert pv["CurrentInstanceCount"] == 1
    assert pv["DeployedImages"][0]["SpecifiedImage"] == KMEANS_IMAGE

    r = rt.invoke_endpoint(EndpointName="km", ContentType="text/csv", Accept="application/json",
                           Body=b"0.1,-0.2\n9.8,10.1\n")
    assert r["ContentType"] == "application/json"
    assert r["ResponseMetadata"]["HTTPHeaders"]["x-amzn-invoked-production-variant"] == "AllTraffic"
    preds = json.loads(r["Body"].read())["predictions"]
    assert len(preds) == 2
    assert preds[0]["closest_cluster"] != preds[1]["closest_cluster"]
    assert preds[0]["distance_to_cluster"] < 1.5

    lines = rt.invoke_endpoint(EndpointName="km", ContentType="application/json",
                               Accept="application/jsonlines",
                               Body=json.dumps({"instances": [{"features": [0, 0]},
                                                              {"features": [10, 10]}]}))["Body"].read()
    recs = [json.loads(l) for l in lines.decode().splitlines()]
    assert [r["closest_cluster"] for r in recs] == [p["closest_cluster"] for p in preds]

    csv = rt.invoke_endpoint(EndpointName="km", ContentType="application/jsonlines", Accept="text/csv",
                             Body=b'{"features": [0, 0]}\n')["Body"].read().decode()
    assert csv.strip().split(",")[0] == str(preds[0]["closest_cluster"])

    summaries = sm.list_endpoints()["Endpoints"]
    assert [(e["EndpointName"], e["EndpointStatus"]) for e in summaries] == [("km", "InService")]
    assert [m["ModelName"] for m in sm.list_models()["Models"]] == ["km-model"]
    assert sm.describe_model(ModelName="km-model")["PrimaryContainer"]["ModelDataUrl"] == url


def runtime_error(call):
    with pytest.raises(ClientError) as e:
        call()
    return e.value.response


def test_bad_requests_get_runtime_errors_and_the_endpoint_keeps_serving(env, tmp_path):
    server, sm, rt, s3 = env
    url = kmeans_artifact(tmp_path, s3, "km2/model.tar.gz", [[0, 0], [5, 5]])
    deploy(sm, "km2", [("AllTraffic", "km2-model", url, 1.0)])
    r = runtime_error(lambda: rt.invoke_endpoint(EndpointName="nope", ContentType="text/csv", Body=b"1,2"))
    assert r["Error"]["Code"] == "ValidationError"
    assert r["Error"]["Message"] == "Endpoint nope of account 000000000000 not found."
    r = runtime_error(lambda: rt.invoke_endpoint(EndpointName="km2", ContentType="image/png", Body=b"x"))
    assert r["Error"]["Code"] == "ModelError" and r["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert r["OriginalStatusCode"] == 415
    r = runtime_error(lambda: rt.invoke_endpoint(EndpointName="km2", ContentType="text/csv", Body=b"1,2,3\n"))
    assert r["Error"]["Code"] == "ModelError" and r["OriginalStatusCode"] == 400
    assert "feature_dim" in r["Error"]["Message"] or "columns" in r["Error"]["Message"]
    r = runtime_error(lambda: rt.invoke_endpoint(EndpointName="km2", ContentType="text/csv",
                                                 Body=b"1,x\n"))
    assert r["Error"]["Code"] == "ModelError" and "request body:1: column 2: not a number" in r["Error"]["Message"]
    r = runtime_error(lambda: rt.invoke_endpoint(EndpointName="km2", ContentType="text/csv",
                                                 Accept="image/png", Body=b"1,2\n"))
    assert r["Error"]["Code"] == "ModelError" and r["OriginalStatusCode"] == 406
    r = runtime_error(lambda: rt.invoke_endpoint(EndpointName="km2", ContentType="text/csv",
                                                 Body=b"1,2\n" * (2 << 20)))
    assert r["Error"]["Code"] == "ValidationError" and r["ResponseMetadata"]["HTTPStatusCode"] == 413
    r = runtime_error(lambda: rt.invoke_endpoint(EndpointName="km2", ContentType="text/csv",
                                                 TargetVariant="Other", Body=b"1,2\n"))
    assert r["Error"]["Code"] == "ValidationError" and "Other" in r["Error"]["Message"]
    ok = rt.invoke_endpoint(EndpointName="km2", ContentType="text/csv", Body=b"1,2\n")
    assert ok["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_control_plane_refuses_what_cannot_be_served(env, tmp_path):
    server, sm, rt, s3 = env
    def code(call):
        with pytest.raises(ClientError) as e:
            call()
        return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]
    c, m = code(lambda: sm.create_model(ModelName="m1", ExecutionRoleArn=ROLE,
                                        PrimaryContainer={"Image": KMEANS_IMAGE}))
    assert c == "ValidationException" and "ModelDataUrl" in m
    c, m = code(lambda: sm.create_model(ModelName="m1", ExecutionRoleArn=ROLE, PrimaryContainer={
        "Image": KMEANS_IMAGE, "ModelDataUrl": f"s3://{BUCKET}/missing.tar.gz"}))
    assert c == "ValidationException" and "missing.tar.gz" in m
    c, m = code(lambda: sm.create_endpoint_config(EndpointConfigName="c1", ProductionVariants=[
        {"VariantName": "a", "ModelName": "ghost", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}]))
    assert c == "ValidationException" and "ghost" in m
    c, m = code(lambda: sm.create_endpoint(EndpointName="e1", EndpointConfigName="nope"))
    assert c == "ValidationException" and "nope" in m
    c, m = code(lambda: sm.describe_endpoint(EndpointName="e1"))
    assert c == "ValidationException"
    # What Lathe cannot serve is refused, not stored and ignored.
    url = kmeans_artifact(tmp_path, s3, "refuse/model.tar.gz", [[0, 0], [5, 5]])
    sm.create_model(ModelName="ok", ExecutionRoleArn=ROLE,
                    PrimaryContainer={"Image": KMEANS_IMAGE, "ModelDataUrl": url})
    pv = [{"VariantName": "a", "ModelName": "ok", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}]
    c, m = code(lambda: sm.create_endpoint_config(EndpointConfigName="c2", ProductionVariants=pv,
                                                  ShadowProductionVariants=pv))
    assert c == "ValidationException" and "cannot share the production variant's name" in m
    c, m = code(lambda: sm.create_endpoint_config(EndpointConfigName="c3", ProductionVariants=pv,
                                                  ExplainerConfig={"ClarifyExplainerConfig": {
                                                      "ShapConfig": {"ShapBaselineConfig": {"ShapBaseline": "1,2"}}}}))
    assert c == "ValidationException" and "ExplainerConfig is not supported" in m
    assert sm.list_endpoint_configs()["EndpointConfigs"] == []
    assert sm.list_endpoints()["Endpoints"] == []


def test_two_variants_split_by_weight_and_target_variant(env, tmp_path):
    server, sm, rt, s3 = env
    a = kmeans_artifact(tmp_path, s3, "va/model.tar.gz", [[0, 0], [10, 10]], seed=1)
    b = kmeans_artifact(tmp_path, s3, "vb/model.tar.gz", [[0, 0], [10, 10]], seed=2)
    d = deploy(sm, "split", [("Big", "m-big", a, 0.8), ("Small", "m-small", b, 0.2)])
    assert d["EndpointStatus"] == "InService", d.get("FailureReason")
    counts = {"Big": 0, "Small": 0}
    for _ in range(400):
        r = rt.invoke_endpoint(EndpointName="split", ContentType="text/csv", Body=b"1,1\n")
        counts[r["ResponseMetadata"]["HTTPHeaders"]["x-amzn-invoked-production-variant"]] += 1
    assert 0.72 <= counts["Big"] / 400 <= 0.88, counts
    for _ in range(5):
        r = rt.invoke_endpoint(EndpointName="split", ContentType="text/csv", TargetVariant="Small",
                               Body=b"1,1\n")
        assert r["ResponseMetadata"]["HTTPHeaders"]["x-amzn-invoked-production-variant"] == "Small"
    sm.update_endpoint_weights_and_capacities(EndpointName="split", DesiredWeightsAndCapacities=[
        {"VariantName": "Small", "DesiredWeight": 0.0}])
    d = wait_endpoint(sm, "split")
    weights = {v["VariantName"]: v["CurrentWeight"] for v in d["ProductionVariants"]}
    assert weights == {"Big": 0.8, "Small": 0.0}
    for _ in range(50):
        r = rt.invoke_endpoint(EndpointName="split", ContentType="text/csv", Body=b"1,1\n")
        assert r["ResponseMetadata"]["HTTPHeaders"]["x-amzn-invoked-production-variant"] == "Big"


def test_update_endpoint_under_traffic_loses_no_request(env, tmp_path):
    server, sm, rt, s3 = env
    old = kmeans_artifact(tmp_path, s3, "old/model.tar.gz", [[0, 0], [10, 10]])
    new = kmeans_artifact(tmp_path, s3, "new/model.tar.gz", [[0, 0], [10, 10], [-10, 10]])
    deploy(sm, "live", [("Blue", "m-old", old, 1.0)])
    sm.create_model(ModelName="m-new", ExecutionRoleArn=ROLE,
                    PrimaryContainer={"Image": KMEANS_IMAGE, "ModelDataUrl": new})
    sm.create_endpoint_config(EndpointConfigName="live-green", ProductionVariants=[
        {"VariantName": "Green", "ModelName": "m-new", "InitialInstanceCount": 1,
         "InstanceType": "ml.m5.large"}])
    failures, served = [], {"Blue": 0, "Green": 0}
    stop = threading.Event()

    def traffic():
        client = server.client("sagemaker-runtime")
        while not stop.is_set():
            try:
                r = client.invoke_endpoint(EndpointName="live", ContentType="text/csv", Body=b"1,1\n")
                served[r["ResponseMetadata"]["HTTPHeaders"]["x-amzn-invoked-production-variant"]] += 1
            except Exception as e:  # noqa: BLE001 - any failure is what the test counts
                failures.append(repr(e))
    threads = [threading.Thread(target=traffic) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    sm.update_endpoint(EndpointName="live", EndpointConfigName="live-green")
    d = wait_endpoint(sm, "live")
    time.sleep(0.3)
    stop.set()
    for t in threads:
        t.join()
    assert d["EndpointStatus"] == "InService" and d["EndpointConfigName"] == "live-green"
    assert failures == []
    assert served["Blue"] > 0 and served["Green"] > 0, served


def test_endpoint_serves_again_after_a_restart_and_delete_stops_it(tmp_path):
    srv = Server(tmp_path / "data").start()
    s3, sm = srv.client("s3"), srv.client("sagemaker")
    s3.create_bucket(Bucket=BUCKET)
    url = kmeans_artifact(tmp_path, s3, "r/model.tar.gz", [[0, 0], [10, 10]])
    deploy(sm, "durable", [("AllTraffic", "m-durable", url, 1.0)])
    assert srv.stop() == 0
    srv2 = Server(tmp_path / "data", port=srv.port).start()
    try:
        rt = srv2.client("sagemaker-runtime")
        r = wait_for(lambda: _try_invoke(rt, "durable"), what="the endpoint to serve after restart")
        assert json.loads(r)["predictions"][0]["closest_cluster"] in (0, 1)
        srv2.client("sagemaker").delete_endpoint(EndpointName="durable")
        wait_for(lambda: _try_invoke(rt, "durable") is None, what="the endpoint to stop serving")
    finally:
        assert srv2.stop() == 0
        assert_clean_log(srv2)


def _try_invoke(rt, name):
    try:
        return rt.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=b"1,1\n")["Body"].read()
    except ClientError:
        return None


def test_model_from_a_training_job_deploys(env, tmp_path):
    server, sm, rt, s3 = env
    pts = np.vstack([c + np.random.default_rng(3).normal(size=(50, 2)) for c in ([0, 0], [20, 20])])
    s3.put_object(Bucket=BUCKET, Key="train/km.csv", Body="\n".join(f"{a},{b}" for a, b in pts).encode())
    sm.create_training_job(
        TrainingJobName="km-job", AlgorithmSpecification={"AlgorithmName": "kmeans", "TrainingInputMode": "File"},
        RoleArn=ROLE, HyperParameters={"k": "2", "feature_dim": "2"},
        InputDataConfig=[{"ChannelName": "train", "ContentType": "text/csv;label_size=0",
                          "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/train/"}}}],
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/out"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        StoppingCondition={"MaxRuntimeInSeconds": 60})
    job = wait_job(sm, "km-job")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    d = deploy(sm, "from-job", [("AllTraffic", "km-job-model", job["ModelArtifacts"]["S3ModelArtifacts"], 1.0)])
    assert d["EndpointStatus"] == "InService", d.get("FailureReason")
    preds = json.loads(rt.invoke_endpoint(EndpointName="from-job", ContentType="text/csv",
                                          Body=b"0,0\n20,20\n")["Body"].read())["predictions"]
    assert preds[0]["closest_cluster"] != preds[1]["closest_cluster"]


def test_cli_deploy_predict_and_endpoints(env, tmp_path):
    server, sm, rt, s3 = env
    cli_env = dict(os.environ, AWS_SHARED_CREDENTIALS_FILE=server.credentials_file,
                   LATHE_ENDPOINT=server.endpoint, AWS_DEFAULT_REGION="us-east-1")
    cli_env.pop("AWS_ACCESS_KEY_ID", None)
    cli_env.pop("AWS_SECRET_ACCESS_KEY", None)

    def lathe(*args, input=None):
        return subprocess.run([LATHE_BIN, *args], env=cli_env, capture_output=True, text=True,
                              input=input, timeout=120)
    data = tmp_path / "pts.csv"
    data.write_text("".join(f"{(i % 2) * 10 + (i % 5) * 0.1},{(i % 2) * 10}\n" for i in range(40)))
    out = lathe("train", "--algorithm", "kmeans", "--name", "cli-km", "--data", f"train={data}",
                "--content-type", "text/csv;label_size=0", "--hp", "k=2", "--hp", "feature_dim=2")
    assert out.returncode == 0, out.stdout + out.stderr
    out = lathe("deploy", "--training-job", "cli-km", "--name", "cli-ep")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "cli-ep" and "cli-ep is InService" in out.stderr
    out = lathe("predict", "cli-ep", "--input", "-", "--accept", "application/jsonlines",
                input="0,0\n10,10\n")
    assert out.returncode == 0, out.stderr
    recs = [json.loads(l) for l in out.stdout.splitlines()]
    assert len(recs) == 2 and recs[0]["closest_cluster"] != recs[1]["closest_cluster"]
    bad = lathe("predict", "cli-ep", "--input", "-", input="1,2,3\n")
    assert bad.returncode == 1 and "HTTP 424" in bad.stderr
    listing = lathe("endpoints")
    assert "cli-ep" in listing.stdout and "InService" in listing.stdout


def test_python_xgboost_model_serves_the_same_predictions(env, tmp_path):
    server, sm, rt, s3 = env
    import xgboost as xgb
    booster, x, model_tar = python_xgboost_model(tmp_path)
    s3.put_object(Bucket=BUCKET, Key="xgb/model.tar.gz", Body=model_tar)
    sm.create_model(ModelName="xgb-model", ExecutionRoleArn=ROLE, PrimaryContainer={
        "Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
        "ModelDataUrl": f"s3://{BUCKET}/xgb/model.tar.gz"})
    sm.create_endpoint_config(EndpointConfigName="xgb-cfg", ProductionVariants=[
        {"VariantName": "AllTraffic", "ModelName": "xgb-model", "InitialInstanceCount": 1,
         "InstanceType": "ml.m5.large"}])
    sm.create_endpoint(EndpointName="xgb", EndpointConfigName="xgb-cfg")
    d = wait_endpoint(sm, "xgb")
    assert d["EndpointStatus"] == "InService", d.get("FailureReason")
    rows = x[:50]
    body = "\n".join(",".join(repr(float(v)) for v in r) for r in rows) + "\n"
    csv = rt.invoke_endpoint(EndpointName="xgb", ContentType="text/csv", Accept="text/csv",
                             Body=body)["Body"].read().decode()
    got = np.array([float(l) for l in csv.split()])
    want = booster.predict(xgb.DMatrix(rows))
    assert np.max(np.abs(got - want)) < 1e-5
    # libsvm input (XGBoost reads its indices as column numbers, from 0) and JSON output
    # agree with CSV.
    libsvm = "\n".join("0 " + " ".join(f"{j}:{v!r}" for j, v in enumerate(map(float, r)))
                       for r in rows[:5]) + "\n"
    js = json.loads(rt.invoke_endpoint(EndpointName="xgb", ContentType="text/libsvm",
                                       Accept="application/json", Body=libsvm)["Body"].read())
    assert np.max(np.abs(np.array([p["score"] for p in js["predictions"]]) - want[:5])) < 1e-5


XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


def test_multi_model_endpoint_serves_each_target_model(env, tmp_path):
    # Mode MultiModel: ModelDataUrl is an S3 prefix, and each call's TargetModel names a
    # model.tar.gz under it, loaded on its first call, including one uploaded after the
    # endpoint went InService.
    server, sm, rt, s3 = env
    import xgboost as xgb
    first, x, first_tar = python_xgboost_model(tmp_path)
    y = (x[:, 0] > np.median(x[:, 0])).astype(float)
    second = xgb.train({"objective": "binary:logistic", "max_depth": 2, "eta": 0.5,
                        "tree_method": "hist", "nthread": 1}, xgb.DMatrix(x, label=y), 5)
    (tmp_path / "second").mkdir()
    second.save_model(str(tmp_path / "second" / "xgboost-model.json"))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(tmp_path / "second" / "xgboost-model.json", arcname="xgboost-model")
    s3.put_object(Bucket=BUCKET, Key="mme/first.tar.gz", Body=first_tar)
    sm.create_model(ModelName="mme", ExecutionRoleArn=ROLE, PrimaryContainer={
        "Image": XGBOOST_IMAGE, "Mode": "MultiModel", "ModelDataUrl": f"s3://{BUCKET}/mme/"})
    assert sm.describe_model(ModelName="mme")["PrimaryContainer"]["Mode"] == "MultiModel"

    def serve(name):
        sm.create_endpoint_config(EndpointConfigName=name + "-cfg", ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 1,
             "InstanceType": "ml.m5.large"}])
        sm.create_endpoint(EndpointName=name, EndpointConfigName=name + "-cfg")
        d = wait_endpoint(sm, name)
        assert d["EndpointStatus"] == "InService", d.get("FailureReason")
    serve("mme")
    s3.put_object(Bucket=BUCKET, Key="mme/sub/second.tar.gz", Body=buf.getvalue())
    rows = x[:20]
    body = "".join(",".join(repr(float(v)) for v in r) + "\n" for r in rows)

    def predict(target):
        r = rt.invoke_endpoint(EndpointName="mme", ContentType="text/csv", Accept="text/csv",
                               TargetModel=target,
                               Body=body)
        return np.array([float(v) for v in r["Body"].read().decode().split()])
    for _ in range(2):  # the first call loads, the second finds it loaded
        assert np.max(np.abs(predict("first.tar.gz") - first.predict(xgb.DMatrix(rows)))) < 1e-5
        assert np.max(np.abs(predict("sub/second.tar.gz") -
                             second.predict(xgb.DMatrix(rows)))) < 1e-5

    def refused(**kw):
        with pytest.raises(ClientError) as e:
            rt.invoke_endpoint(ContentType="text/csv", Body=body, **kw)
        return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]
    code, msg = refused(EndpointName="mme")
    assert code == "ValidationError" and "TargetModel" in msg
    code, msg = refused(EndpointName="mme", TargetModel="missing.tar.gz")
    assert code == "ValidationError" and f"s3://{BUCKET}/mme/missing.tar.gz" in msg
    code, msg = refused(EndpointName="mme", TargetModel="../escape.tar.gz")
    assert code == "ValidationError" and ".." in msg
    assert np.max(np.abs(predict("first.tar.gz") - first.predict(xgb.DMatrix(rows)))) < 1e-5

    # Batch transform takes models of one artifact: refused at Create, saying why.
    with pytest.raises(ClientError) as e:
        sm.create_transform_job(
            TransformJobName="mme-batch", ModelName="mme",
            TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                            "S3Uri": f"s3://{BUCKET}/mme/"}},
                            "ContentType": "text/csv"},
            TransformOutput={"S3OutputPath": f"s3://{BUCKET}/mme-out/"},
            TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1})
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert "multi-model" in e.value.response["Error"]["Message"]

    # TargetModel on a single-model endpoint, and models that cannot be multi-model.
    s3.put_object(Bucket=BUCKET, Key="single/model.tar.gz", Body=first_tar)
    sm.create_model(ModelName="single", ExecutionRoleArn=ROLE, PrimaryContainer={
        "Image": XGBOOST_IMAGE, "ModelDataUrl": f"s3://{BUCKET}/single/model.tar.gz"})
    serve("single")
    code, msg = refused(EndpointName="single", TargetModel="first.tar.gz")
    assert code == "ValidationError" and "multi-model" in msg
    image = tmp_path / "byo-image"
    image.mkdir()
    (image / "serve").write_text("#!/bin/sh\nexit 1\n")
    (image / "serve").chmod(0o755)
    push = subprocess.run([LATHE_BIN, "image", "push", "team/byo:v1", str(image), "--data-dir",
                           server.data_dir], capture_output=True, text=True)
    assert push.returncode == 0, push.stderr
    for container, words in [
            ({"Image": XGBOOST_IMAGE, "Mode": "Several", "ModelDataUrl": f"s3://{BUCKET}/mme/"},
             "[SingleModel, MultiModel]"),
            ({"Image": XGBOOST_IMAGE, "Mode": "MultiModel"}, "needs ModelDataUrl"),
            ({"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/byo:v1",
              "Mode": "MultiModel"}, "needs ModelDataUrl")]:
        with pytest.raises(ClientError) as e:
            sm.create_model(ModelName="bad-mme", ExecutionRoleArn=ROLE, PrimaryContainer=container)
        assert e.value.response["Error"]["Code"] == "ValidationException"
        assert words in e.value.response["Error"]["Message"]
    # A serial inference pipeline cannot hold a multi-model container, as in SageMaker.
    with pytest.raises(ClientError) as e:
        sm.create_model(ModelName="bad-mme", ExecutionRoleArn=ROLE, Containers=[
            {"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/byo:v1"},
            {"Image": XGBOOST_IMAGE, "Mode": "MultiModel", "ModelDataUrl": f"s3://{BUCKET}/mme/"}])
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert "not a serial inference pipeline" in e.value.response["Error"]["Message"]


def test_data_capture_writes_sagemaker_records(env, tmp_path, monkeypatch):
    server, sm, rt, s3 = env
    url = kmeans_artifact(tmp_path, s3, "cap/model.tar.gz", [[0, 0], [10, 10]])
    sm.create_model(ModelName="cap-model", ExecutionRoleArn=ROLE,
                    PrimaryContainer={"Image": KMEANS_IMAGE, "ModelDataUrl": url})
    sm.create_endpoint_config(
        EndpointConfigName="cap-cfg",
        ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": "cap-model",
                             "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}],
        DataCaptureConfig={"EnableCapture": True, "InitialSamplingPercentage": 100,
                           "DestinationS3Uri": f"s3://{BUCKET}/capture",
                           "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
                           "CaptureContentTypeHeader": {"CsvContentTypes": ["text/csv"],
                                                        "JsonContentTypes": ["application/json"]}})
    sm.create_endpoint(EndpointName="cap", EndpointConfigName="cap-cfg")
    d = wait_endpoint(sm, "cap")
    assert d["EndpointStatus"] == "InService", d
    assert d["DataCaptureConfig"] == {
        "EnableCapture": True, "CaptureStatus": "Started", "CurrentSamplingPercentage": 100,
        "DestinationS3Uri": f"s3://{BUCKET}/capture"}
    for i in range(5):
        rt.invoke_endpoint(EndpointName="cap", ContentType="text/csv", Accept="application/json",
                           Body=f"{i},{i}\n", InferenceId=f"req-{i}")
    rt.invoke_endpoint(EndpointName="cap", ContentType="application/jsonlines", Body=b'{"features":[1,1]}\n')

    def records():
        out = []
        for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="capture/").get("Contents", []):
            body = s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read().decode()
            out += [(o["Key"], json.loads(l)) for l in body.splitlines()]
        return out if len(out) >= 6 else None
    got = wait_for(records, timeout=20, what="capture files")
    key = got[0][0]
    parts = key.split("/")
    assert parts[:3] == ["capture", "cap", "AllTraffic"] and len(parts) == 8, key
    assert key.endswith(".jsonl") and len(parts[3]) == 4 and len(parts[6]) == 2
    by_id = {r["eventMetadata"].get("inferenceId"): r for _, r in got}
    r = by_id["req-3"]
    assert r["eventVersion"] == "0"
    assert r["captureData"]["endpointInput"] == {"observedContentType": "text/csv", "mode": "INPUT",
                                                "data": "3,3\n", "encoding": "CSV"}
    out = r["captureData"]["endpointOutput"]
    assert out["mode"] == "OUTPUT" and out["encoding"] == "JSON"
    assert "closest_cluster" in json.loads(out["data"])["predictions"][0]
    assert r["eventMetadata"]["inferenceTime"].endswith("Z") and len(r["eventMetadata"]["eventId"]) == 36
    other = by_id[None]["captureData"]["endpointInput"]
    assert other["encoding"] == "BASE64" and other["observedContentType"] == "application/jsonlines"
    import base64
    assert base64.b64decode(other["data"]) == b'{"features":[1,1]}\n'


def test_update_retains_variant_properties_and_checks_its_deployment_config(env, tmp_path):
    server, sm, rt, s3 = env
    url = kmeans_artifact(tmp_path, s3, "keep/model.tar.gz", [[0, 0], [10, 10]])
    sm.create_model(ModelName="keep-model", ExecutionRoleArn=ROLE,
                    PrimaryContainer={"Image": KMEANS_IMAGE, "ModelDataUrl": url})
    variant = [{"VariantName": "AllTraffic", "ModelName": "keep-model", "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large"}]
    sm.create_endpoint_config(EndpointConfigName="keep-a", ProductionVariants=variant,
                              DataCaptureConfig={"EnableCapture": True, "InitialSamplingPercentage": 50,
                                                 "DestinationS3Uri": f"s3://{BUCKET}/keep-capture",
                                                 "CaptureOptions": [{"CaptureMode": "Input"}]})
    sm.create_endpoint_config(EndpointConfigName="keep-b", ProductionVariants=variant)
    all_at_once = {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {
        "Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0}, "TerminationWaitInSeconds": 0}}
    sm.create_endpoint(EndpointName="keep", EndpointConfigName="keep-a", DeploymentConfig=all_at_once)
    assert wait_endpoint(sm, "keep")["LastDeploymentConfig"] == all_at_once
    sm.update_endpoint_weights_and_capacities(EndpointName="keep", DesiredWeightsAndCapacities=[
        {"VariantName": "AllTraffic", "DesiredInstanceCount": 2, "DesiredWeight": 3}])
    assert wait_endpoint(sm, "keep")["ProductionVariants"][0]["CurrentInstanceCount"] == 2

    # A canary past 100%, rolling updates and alarm rollbacks are refused, not ignored, and
    # the endpoint keeps serving as it was.
    canary = {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {
        "Type": "CANARY", "WaitIntervalInSeconds": 60,
        "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 150}}}}
    alarms = dict(all_at_once, AutoRollbackConfiguration={"Alarms": [{"AlarmName": "p99"}]})
    for config, words in ((canary, "CanarySize.Value 150"), (alarms, "Alarms")):
        r = runtime_error(lambda: sm.update_endpoint(EndpointName="keep", EndpointConfigName="keep-b",
                                                     DeploymentConfig=config))
        assert r["Error"]["Code"] == "ValidationException" and words in r["Error"]["Message"], r
    # This botocore predates RollingUpdatePolicy; `lathe api` sends it as a newer SDK would.
    env = dict(os.environ, AWS_SHARED_CREDENTIALS_FILE=server.credentials_file,
               AWS_DEFAULT_REGION="us-east-1")
    rolling = {"RollingUpdatePolicy": {"MaximumBatchSize": {"Type": "INSTANCE_COUNT", "Value": 1},
                                       "WaitIntervalInSeconds": 60}}
    out = subprocess.run([LATHE_BIN, "api", "UpdateEndpoint", "--json", json.dumps(
        {"EndpointName": "keep", "EndpointConfigName": "keep-b", "DeploymentConfig": rolling}),
        "--endpoint", server.endpoint], capture_output=True, text=True, timeout=60, env=env)
    # (refused by the model's own rule first: this API version requires BlueGreenUpdatePolicy)
    assert out.returncode != 0 and "ValidationException" in out.stderr, out
    r = runtime_error(lambda: sm.create_endpoint(EndpointName="keep2", EndpointConfigName="keep-b",
                                                 DeploymentConfig=canary))
    assert "CanarySize" in r["Error"]["Message"]
    d = sm.describe_endpoint(EndpointName="keep")
    assert d["EndpointStatus"] == "InService" and d["EndpointConfigName"] == "keep-a"

    # Retained: the weight and count UpdateEndpointWeightsAndCapacities set, and the capture
    # settings, though config b has one instance, weight 1 and no capture.
    sm.update_endpoint(EndpointName="keep", EndpointConfigName="keep-b",
                       RetainAllVariantProperties=True, RetainDeploymentConfig=True)
    d = wait_endpoint(sm, "keep")
    assert d["EndpointStatus"] == "InService" and d["EndpointConfigName"] == "keep-b", d
    pv = d["ProductionVariants"][0]
    assert (pv["CurrentInstanceCount"], pv["CurrentWeight"]) == (2, 3.0), pv
    assert d["DataCaptureConfig"]["CurrentSamplingPercentage"] == 50, d
    assert d["LastDeploymentConfig"] == all_at_once

    # Excluded properties come from the new config; the deployment config is not retained.
    sm.update_endpoint(EndpointName="keep", EndpointConfigName="keep-b",
                       RetainAllVariantProperties=True,
                       ExcludeRetainedVariantProperties=[{"VariantPropertyType": "DesiredInstanceCount"},
                                                         {"VariantPropertyType": "DataCaptureConfig"}])
    d = wait_endpoint(sm, "keep")
    pv = d["ProductionVariants"][0]
    assert (pv["CurrentInstanceCount"], pv["CurrentWeight"]) == (1, 3.0), pv
    assert "DataCaptureConfig" not in d and "LastDeploymentConfig" not in d, d
    # Without RetainAllVariantProperties the new config's values apply.
    sm.update_endpoint(EndpointName="keep", EndpointConfigName="keep-a")
    d = wait_endpoint(sm, "keep")
    assert d["ProductionVariants"][0]["CurrentWeight"] == 1.0
    assert d["DataCaptureConfig"]["CurrentSamplingPercentage"] == 50
    out = rt.invoke_endpoint(EndpointName="keep", ContentType="text/csv", Body=b"0,0\n")
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_canary_and_linear_updates_shift_traffic_in_steps(env, tmp_path):
    """UpdateEndpoint with a CANARY DeploymentConfig sends the new fleet its share of the
    calls while the old one serves the rest, for WaitIntervalInSeconds, then all of them;
    LINEAR in steps; no call fails; a DeleteEndpoint cuts a long canary short."""
    server, sm, rt, s3 = env
    # Model a's centres sit on the query point (0, 0); model b's 2.8 away: each answer says
    # which fleet served it.
    for name, centres in (("near", [[0, 0], [10, 10]]), ("far", [[2, 2], [12, 12]])):
        url = kmeans_artifact(tmp_path, s3, f"{name}/model.tar.gz", centres)
        sm.create_model(ModelName=name, ExecutionRoleArn=ROLE,
                        PrimaryContainer={"Image": KMEANS_IMAGE, "ModelDataUrl": url})
        sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 2,
             "InstanceType": "ml.m5.large"}])
    sm.create_endpoint(EndpointName="shift", EndpointConfigName="near")
    assert wait_endpoint(sm, "shift")["EndpointStatus"] == "InService"

    def fleet():
        out = rt.invoke_endpoint(EndpointName="shift", ContentType="text/csv", Accept="application/json",
                                 Body=b"0,0\n")
        return "far" if json.loads(out["Body"].read())["predictions"][0]["distance_to_cluster"] > 1.4 else "near"

    def shares(n):
        got = [fleet() for _ in range(n)]
        return got.count("far") / n

    canary = {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {
        "Type": "CANARY", "WaitIntervalInSeconds": 4,
        "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1}}}}  # 1 of 2 instances: half
    sm.update_endpoint(EndpointName="shift", EndpointConfigName="far", DeploymentConfig=canary)
    wait_for(lambda: fleet() == "far" or None, timeout=20, what="the canary's first call")
    during = shares(300)
    d = sm.describe_endpoint(EndpointName="shift")
    assert d["EndpointStatus"] == "Updating" and d["EndpointConfigName"] == "far", d
    assert 0.35 < during < 0.65, during
    d = wait_endpoint(sm, "shift")
    assert d["EndpointStatus"] == "InService" and d["LastDeploymentConfig"] == canary, d
    assert shares(100) == 1.0

    linear = {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {
        "Type": "LINEAR", "WaitIntervalInSeconds": 4,
        "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 34}}}}
    stop, failures = threading.Event(), []

    def traffic():
        client = server.client("sagemaker-runtime")
        while not stop.is_set():
            try:
                client.invoke_endpoint(EndpointName="shift", ContentType="text/csv", Body=b"0,0\n")
            except Exception as exc:  # noqa: BLE001 - every failure is counted
                failures.append(repr(exc))

    t = threading.Thread(target=traffic)
    t.start()
    try:
        sm.update_endpoint(EndpointName="shift", EndpointConfigName="near", DeploymentConfig=linear)
        wait_for(lambda: shares(20) < 1.0 or None, timeout=20, what="the first linear step")
        first = 1.0 - shares(300)  # the share of "near", the new fleet
        assert 0.2 < first < 0.6, first
        d = wait_endpoint(sm, "shift")
        assert d["EndpointStatus"] == "InService" and d["EndpointConfigName"] == "near", d
        assert shares(100) == 0.0
    finally:
        stop.set()
        t.join()
    assert failures == []

    # A long canary is cut short by DeleteEndpoint: the endpoint is gone at once.
    slow = {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {
        "Type": "CANARY", "WaitIntervalInSeconds": 600,
        "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10}}}}
    sm.update_endpoint(EndpointName="shift", EndpointConfigName="far", DeploymentConfig=slow)
    wait_for(lambda: shares(20) > 0 or None, timeout=20, what="the slow canary")
    assert sm.describe_endpoint(EndpointName="shift")["EndpointStatus"] == "Updating"
    sm.delete_endpoint(EndpointName="shift")
    assert sm.list_endpoints()["Endpoints"] == []

    def gone():
        try:
            rt.invoke_endpoint(EndpointName="shift", ContentType="text/csv", Body=b"0,0\n")
            return None
        except ClientError as e:
            return e.response["Error"]["Code"]
    assert wait_for(gone, timeout=10, what="the runtime to drop the endpoint") == "ValidationError"


def test_shadow_variant_gets_a_copy_of_the_calls_and_answers_no_one(env, tmp_path):
    """A config with ShadowProductionVariants: callers get the production variant's
    answers only; the shadow serves its share of copies (its weight over production's),
    and data capture records both under their own variant names."""
    server, sm, rt, s3 = env
    for name, centres in (("prod", [[0, 0], [10, 10]]), ("cand", [[2, 2], [12, 12]])):
        url = kmeans_artifact(tmp_path, s3, f"{name}/model.tar.gz", centres)
        sm.create_model(ModelName=name, ExecutionRoleArn=ROLE,
                        PrimaryContainer={"Image": KMEANS_IMAGE, "ModelDataUrl": url})
    production = [{"VariantName": "Prod", "ModelName": "prod", "InitialInstanceCount": 1,
                   "InstanceType": "ml.m5.large", "InitialVariantWeight": 1.0}]
    shadow = [{"VariantName": "Cand", "ModelName": "cand", "InitialInstanceCount": 1,
               "InstanceType": "ml.m5.large", "InitialVariantWeight": 0.5}]
    r = runtime_error(lambda: sm.create_endpoint_config(
        EndpointConfigName="two", ProductionVariants=production + [dict(production[0], VariantName="B")],
        ShadowProductionVariants=shadow))
    assert "exactly one production variant and one shadow variant" in r["Error"]["Message"]
    r = runtime_error(lambda: sm.create_endpoint_config(
        EndpointConfigName="ghost", ProductionVariants=production,
        ShadowProductionVariants=[dict(shadow[0], ModelName="ghost")]))
    assert "Could not find model \"ghost\" named by ShadowProductionVariants" in r["Error"]["Message"]
    sm.create_endpoint_config(
        EndpointConfigName="shadowed", ProductionVariants=production, ShadowProductionVariants=shadow,
        DataCaptureConfig={"EnableCapture": True, "InitialSamplingPercentage": 100,
                           "DestinationS3Uri": f"s3://{BUCKET}/shadow-capture",
                           "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]})
    assert sm.describe_endpoint_config(EndpointConfigName="shadowed")["ShadowProductionVariants"][0][
        "VariantName"] == "Cand"
    sm.create_endpoint(EndpointName="shadowed", EndpointConfigName="shadowed")
    d = wait_endpoint(sm, "shadowed")
    assert d["EndpointStatus"] == "InService", d.get("FailureReason")
    sv = d["ShadowProductionVariants"]
    assert [(v["VariantName"], v["CurrentInstanceCount"], v["CurrentWeight"]) for v in sv] == [("Cand", 1, 0.5)]

    n = 400
    for i in range(n):
        out = rt.invoke_endpoint(EndpointName="shadowed", ContentType="text/csv",
                                 Accept="application/json", Body=b"0,0\n", InferenceId=f"call-{i}")
        assert out["ResponseMetadata"]["HTTPHeaders"]["x-amzn-invoked-production-variant"] == "Prod"
        assert json.loads(out["Body"].read())["predictions"][0]["distance_to_cluster"] < 1.0

    def captured(variant):
        recs = []
        for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=f"shadow-capture/shadowed/{variant}/").get("Contents", []):
            body = s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read().decode()
            recs += [json.loads(l) for l in body.splitlines()]
        return recs

    wait_for(lambda: len(captured("Prod")) == n or None, timeout=30, what="the production capture")
    wait_for(lambda: len(captured("Cand")) > 0.3 * n or None, timeout=30,
             what="the shadow's captured answers")
    time.sleep(1.5)  # capture writes a batch every second or so: the last copies land
    copies = captured("Cand")
    assert 0.35 * n < len(copies) < 0.65 * n, len(copies)
    prod_ids = {r["eventMetadata"]["inferenceId"] for r in captured("Prod")}
    for rec in copies:  # copies of real calls, answered by the candidate model
        assert rec["eventMetadata"]["inferenceId"] in prod_ids
        out = rec["captureData"]["endpointOutput"]
        assert out["encoding"] == "BASE64"  # no CaptureContentTypeHeader: SageMaker's default
        answer = json.loads(base64.b64decode(out["data"]))
        assert answer["predictions"][0]["distance_to_cluster"] > 2.0, answer
