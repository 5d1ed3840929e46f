"""Every built-in algorithm Lathe serves, deployed with boto3 and asked in each of its
inference formats: text/csv, application/json, application/jsonlines and
application/x-recordio-protobuf in (text/libsvm too for XGBoost), and the same four out.
Each answer must carry the same predictions as the JSON answer to the CSV request.

RecordIO-protobuf is encoded and decoded by hand from the wire format (recordio_util.py),
independently of Lathe's protobuf-c codec."""
import io
import json
import os
import subprocess
import tarfile

import numpy as np
import pytest

from conftest import LATHE_BIN, Server, assert_clean_log
from jobs_util import ROLE, wait_for
from recordio_util import frame, label_records, record_protobuf

BUCKET = "formats"
ECR = "382416733822.dkr.ecr.us-east-1.amazonaws.com"
XGB_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"

# name: (image, training content type, hyperparameters, the JSON list key, the CSV line
# of one JSON record)
ALGORITHMS = {
    "xgboost": (XGB_IMAGE, "text/csv", ["objective=binary:logistic", "num_round=5", "max_depth=3"],
                "predictions", lambda r: [r["score"]]),
    "linear-learner": (f"{ECR}/linear-learner:1", "text/csv",
                       ["predictor_type=binary_classifier", "feature_dim=4", "epochs=3"],
                       "predictions", lambda r: [r["predicted_label"], r["score"]]),
    "kmeans": (f"{ECR}/kmeans:1", "text/csv;label_size=0", ["k=2", "feature_dim=4"],
               "predictions", lambda r: [r["closest_cluster"], r["distance_to_cluster"]]),
    "pca": (f"{ECR}/pca:1", "text/csv;label_size=0",
            ["num_components=2", "feature_dim=4", "mini_batch_size=50"],
            "projections", lambda r: r["projection"]),
    "knn": (f"{ECR}/knn:1", "text/csv",
            ["k=3", "predictor_type=classifier", "sample_size=200", "feature_dim=4"],
            "predictions", lambda r: [r["predicted_label"]]),
}

ROWS = [[0.5, -1.25, 2.0, 0.0], [-3.0, 0.75, 1.5, 4.0], [1.0, 1.0, -2.5, 0.25]]


def recordio_request(rows):
    """One Record per row, features["values"] a dense Float32Tensor, as the SDK writes."""
    return b"".join(frame(record_protobuf(row)) for row in rows)


# ---- the models ----------------------------------------------------------------------------

def train_and_deploy(server, sm, s3, tmp_path, name):
    image, content_type, hps, _, _ = ALGORITHMS[name]
    rng = np.random.default_rng(3)
    x = np.vstack([rng.normal(-2, 1, (100, 4)), rng.normal(2, 1, (100, 4))])
    y = np.repeat([0, 1], 100)
    data = tmp_path / f"{name}.csv"
    labeled = "label_size=0" not in content_type
    data.write_text("\n".join(",".join(f"{v:.5f}" for v in ([yy] if labeled else []) + list(xx))
                              for xx, yy in zip(x, y)) + "\n")
    model = tmp_path / f"{name}-model"
    args = [LATHE_BIN, "algo", "train", name, "--train", str(data), "--content-type", content_type,
            "--model-dir", str(model)]
    for hp in hps:
        args += ["--hp", hp]
    subprocess.run(args, check=True, capture_output=True)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for f in sorted(os.listdir(model)):
            tar.add(model / f, arcname=f)
    s3.put_object(Bucket=BUCKET, Key=f"{name}/model.tar.gz", Body=buf.getvalue())
    sm.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={
        "Image": image, "ModelDataUrl": f"s3://{BUCKET}/{name}/model.tar.gz"})
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[
        {"VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 1,
         "InstanceType": "ml.m5.large"}])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    """One server for the module: the five endpoints are deployed once."""
    tmp = tmp_path_factory.mktemp("formats")
    server = Server(tmp / "data").start()
    sm, rt, s3 = (server.client(s) for s in ("sagemaker", "sagemaker-runtime", "s3"))
    s3.create_bucket(Bucket=BUCKET)
    for name in ALGORITHMS:
        train_and_deploy(server, sm, s3, tmp, name)
    for name in ALGORITHMS:
        d = wait_for(lambda: (e := sm.describe_endpoint(EndpointName=name))["EndpointStatus"]
                     != "Creating" and e, timeout=60, what=f"endpoint {name}")
        assert d["EndpointStatus"] == "InService", d.get("FailureReason")
    yield rt
    code = server.stop()
    assert_clean_log(server)
    assert code == 0, f"lathe server exited with {code}:\n{server.log()[-4000:]}"


def invoke(rt, name, content_type, body, accept=None):
    kw = {"Accept": accept} if accept else {}
    r = rt.invoke_endpoint(EndpointName=name, ContentType=content_type, Body=body, **kw)
    return r["ContentType"], r["Body"].read()


def close(a, b):
    """Two JSON records carry the same predictions (float32 precision)."""
    assert a.keys() == b.keys(), (a, b)
    for k in a:
        assert np.allclose(np.asarray(a[k], float), np.asarray(b[k], float), rtol=1e-5, atol=1e-5), (k, a, b)


def csv_rows(rows):
    return "".join(",".join(repr(v) for v in row) + "\n" for row in rows)


REQUESTS = {
    "text/csv": csv_rows(ROWS).encode(),
    "application/json": json.dumps({"instances": [{"features": r} for r in ROWS]}).encode(),
    "application/jsonlines": "".join(json.dumps({"features": r}) + "\n" for r in ROWS).encode(),
    "application/x-recordio-protobuf": recordio_request(ROWS),
}


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_every_request_format_gives_the_same_predictions(deployed, name):
    rt = deployed
    list_key = ALGORITHMS[name][3]
    ctype, body = invoke(rt, name, "text/csv", REQUESTS["text/csv"], "application/json")
    assert ctype == "application/json"
    want = json.loads(body)[list_key]
    assert len(want) == len(ROWS)
    requests = dict(REQUESTS)
    if name == "xgboost":  # libsvm: index:value, columns from 0 as XGBoost reads them
        requests["text/libsvm"] = "".join(
            "0 " + " ".join(f"{j}:{v!r}" for j, v in enumerate(r)) + "\n" for r in ROWS).encode()
    for content_type, request in requests.items():
        _, body = invoke(rt, name, content_type, request, "application/json")
        got = json.loads(body)[list_key]
        assert len(got) == len(want), content_type
        for g, w in zip(got, want):
            close(g, w)


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_every_response_format_carries_the_same_predictions(deployed, name):
    rt = deployed
    _, _, _, list_key, csv_line = ALGORITHMS[name]
    want = json.loads(invoke(rt, name, "text/csv", REQUESTS["text/csv"], "application/json")[1])[list_key]

    ctype, body = invoke(rt, name, "text/csv", REQUESTS["text/csv"], "application/jsonlines")
    assert ctype == "application/jsonlines"
    lines = [json.loads(l) for l in body.decode().splitlines()]
    assert len(lines) == len(want)
    for g, w in zip(lines, want):
        close(g, w)

    ctype, body = invoke(rt, name, "text/csv", REQUESTS["text/csv"], "text/csv")
    assert ctype == "text/csv"
    lines = body.decode().splitlines()
    assert len(lines) == len(want)
    for line, w in zip(lines, want):
        assert np.allclose([float(v) for v in line.split(",")], csv_line(w), rtol=1e-5, atol=1e-5), (line, w)

    ctype, body = invoke(rt, name, "application/jsonlines", REQUESTS["application/jsonlines"],
                         "application/x-recordio-protobuf")
    assert ctype == "application/x-recordio-protobuf"
    records = label_records(body)
    assert len(records) == len(want)
    for rec, w in zip(records, want):
        close(rec, {k: v if isinstance(v, list) else [v] for k, v in w.items()})


def test_no_accept_answers_each_containers_default(deployed):
    """SageMaker's XGBoost container answers CSV when not asked; the other algorithms JSON."""
    rt = deployed
    for name in ALGORITHMS:
        ctype, body = invoke(rt, name, "text/csv", REQUESTS["text/csv"])
        if name == "xgboost":
            assert ctype == "text/csv" and len(body.decode().split()) == len(ROWS), body
        else:
            assert ctype == "application/json" and ALGORITHMS[name][3] in json.loads(body), body


def test_an_empty_request_is_answered_empty_by_xgboost_and_refused_by_the_others(deployed):
    """XGBoost's container answers an empty body with no content (204); the first-party
    algorithms refuse it as a malformed request."""
    from botocore.exceptions import ClientError
    rt = deployed
    _, body = invoke(rt, "xgboost", "text/csv", b"\n")
    assert body == b""
    with pytest.raises(ClientError) as e:
        invoke(rt, "kmeans", "text/csv", b"\n")
    err = e.value.response
    assert err["Error"]["Code"] == "ModelError" and err["OriginalStatusCode"] == 400, err
    assert "no data rows" in err["Error"]["Message"]
