"""Batch transform through boto3: a built-in algorithm's model over a multi-file CSV prefix,
every SplitType / BatchStrategy pair Lathe supports, and a bad record named in the failure."""
import json

import numpy as np

import pytest
from botocore.exceptions import ClientError

from jobs_util import ROLE, python_xgboost_model, wait_for
from recordio_util import frame, record_protobuf
from test_endpoints import KMEANS_IMAGE, kmeans_artifact

BUCKET = "lathe-models"  # kmeans_artifact writes here


@pytest.fixture
def env(server, tmp_path):
    s3 = server.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    sm = server.client("sagemaker")
    url = kmeans_artifact(tmp_path, s3, "bt/model.tar.gz", [[0, 0], [10, 10]])
    sm.create_model(ModelName="bt-model", ExecutionRoleArn=ROLE,
                    PrimaryContainer={"Image": KMEANS_IMAGE, "ModelDataUrl": url})
    s3.put_object(Bucket=BUCKET, Key="in/batch/a.csv", Body=b"0,0\n10,10\n0.2,0.1\n")
    s3.put_object(Bucket=BUCKET, Key="in/batch/sub/b.csv", Body=b"9.5,10.2\n0.1,0.3")
    return server, sm, s3


def transform(sm, name, split, strategy, accept="text/csv", prefix="in/batch/"):
    sm.create_transform_job(
        TransformJobName=name, ModelName="bt-model", BatchStrategy=strategy, MaxPayloadInMB=1,
        TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                        "S3Uri": f"s3://{BUCKET}/{prefix}"}},
                        "ContentType": "text/csv", "SplitType": split},
        TransformOutput={"S3OutputPath": f"s3://{BUCKET}/out/{name}", "Accept": accept,
                         "AssembleWith": "Line"},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1})

    def ended():
        d = sm.describe_transform_job(TransformJobName=name)
        return d if d["TransformJobStatus"] not in ("InProgress", "Stopping") else None
    return wait_for(ended, timeout=60, what=f"transform {name}")


@pytest.mark.parametrize("split,strategy", [("Line", "SingleRecord"), ("Line", "MultiRecord"),
                                            ("None", "MultiRecord")])
def test_transform_writes_one_output_per_input_in_order(env, split, strategy):
    server, sm, s3 = env
    name = f"bt-{split}-{strategy}".lower()
    d = transform(sm, name, split, strategy)
    assert d["TransformJobStatus"] == "Completed", d.get("FailureReason")
    assert d["TransformStartTime"] <= d["TransformEndTime"]
    a = s3.get_object(Bucket=BUCKET, Key=f"out/{name}/a.csv.out")["Body"].read().decode().split()
    b = s3.get_object(Bucket=BUCKET, Key=f"out/{name}/sub/b.csv.out")["Body"].read().decode().split()
    clusters_a = [line.split(",")[0] for line in a]
    clusters_b = [line.split(",")[0] for line in b]
    assert len(clusters_a) == 3 and len(clusters_b) == 2
    # (0,0) and (0.2,0.1) share a cluster; (10,10) and (9.5,10.2) share the other.
    assert clusters_a[0] == clusters_a[2] == clusters_b[1] != clusters_a[1] == clusters_b[0]


def test_json_accept_and_list(env):
    server, sm, s3 = env
    d = transform(sm, "bt-json", "Line", "MultiRecord", accept="application/jsonlines")
    assert d["TransformJobStatus"] == "Completed", d.get("FailureReason")
    lines = s3.get_object(Bucket=BUCKET, Key="out/bt-json/a.csv.out")["Body"].read().decode().splitlines()
    assert [set(json.loads(l)) for l in lines] == [{"closest_cluster", "distance_to_cluster"}] * 3
    names = [j["TransformJobName"] for j in sm.list_transform_jobs()["TransformJobSummaries"]]
    assert names == ["bt-json"]


def test_a_bad_record_fails_the_job_naming_it(env):
    server, sm, s3 = env
    s3.put_object(Bucket=BUCKET, Key="bad/x.csv", Body=b"1,1\n2,2\n3,oops\n")
    d = transform(sm, "bt-bad", "Line", "SingleRecord", prefix="bad/")
    assert d["TransformJobStatus"] == "Failed"
    assert "s3://lathe-models/bad/x.csv record 3" in d["FailureReason"], d["FailureReason"]
    assert "not a number" in d["FailureReason"]
    with pytest.raises(ClientError) as e:
        sm.create_transform_job(
            TransformJobName="bt-nomodel", ModelName="ghost",
            TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                            "S3Uri": f"s3://{BUCKET}/in/batch/"}}},
            TransformOutput={"S3OutputPath": f"s3://{BUCKET}/out/x"},
            TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1})
    assert "ghost" in e.value.response["Error"]["Message"]


def test_lathe_transform_cli(env):
    import os
    import subprocess
    from conftest import LATHE_BIN
    server, sm, s3 = env
    cli_env = dict(os.environ, AWS_SHARED_CREDENTIALS_FILE=server.credentials_file,
                   LATHE_ENDPOINT=server.endpoint, AWS_DEFAULT_REGION="us-east-1")
    cli_env.pop("AWS_ACCESS_KEY_ID", None)
    cli_env.pop("AWS_SECRET_ACCESS_KEY", None)
    out = subprocess.run([LATHE_BIN, "transform", "--model", "bt-model", "--input", f"s3://{BUCKET}/in/batch/",
                          "--output", f"s3://{BUCKET}/out/cli", "--name", "bt-cli"],
                         env=cli_env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "bt-cli: Completed" in out.stdout
    body = s3.get_object(Bucket=BUCKET, Key="out/cli/a.csv.out")["Body"].read().decode()
    assert len(body.split()) == 3
    # The request options: the input joined to the answer, then its first column and the
    # answer's last field kept, two batches at a time.
    out = subprocess.run([LATHE_BIN, "transform", "--model", "bt-model", "--input", f"s3://{BUCKET}/in/batch/",
                          "--output", f"s3://{BUCKET}/out/cli-dp", "--name", "bt-cli-dp",
                          "--join-source", "Input", "--output-filter", "$[0,-1]",
                          "--concurrency", "2", "--strategy", "SingleRecord", "--max-payload-mb", "1"],
                         env=cli_env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    d = sm.describe_transform_job(TransformJobName="bt-cli-dp")
    assert d["DataProcessing"]["OutputFilter"] == "$[0,-1]", d
    assert d["DataProcessing"]["JoinSource"] == "Input", d
    assert d["MaxConcurrentTransforms"] == 2 and d["BatchStrategy"] == "SingleRecord"
    lines = s3.get_object(Bucket=BUCKET, Key="out/cli-dp/a.csv.out")["Body"].read().decode().split()
    assert [line.split(",")[0] for line in lines] == ["0", "10", "0.2"], lines
    assert all(len(line.split(",")) == 2 for line in lines), lines
    bad = subprocess.run([LATHE_BIN, "transform", "--model", "bt-model", "--input", f"s3://{BUCKET}/in/batch/",
                          "--output", f"s3://{BUCKET}/out/x", "--concurrency", "0"],
                         env=cli_env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--concurrency" in bad.stderr, bad.stderr


# ---- XGBoost models: DataProcessing, RecordIO, MaxConcurrentTransforms --------------------

XGB_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


@pytest.fixture
def xgb_env(server, tmp_path):
    """A python3-xgboost model (its own JSON format in model.tar.gz) as model "bt-xgb", and
    the booster itself to predict independently."""
    s3 = server.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    sm = server.client("sagemaker")
    booster, x, model_tar = python_xgboost_model(tmp_path)
    s3.put_object(Bucket=BUCKET, Key="xgb/model.tar.gz", Body=model_tar)
    sm.create_model(ModelName="bt-xgb", ExecutionRoleArn=ROLE, PrimaryContainer={
        "Image": XGB_IMAGE, "ModelDataUrl": f"s3://{BUCKET}/xgb/model.tar.gz"})
    return sm, s3, booster, x.astype(np.float32)


def run_xgb(sm, name, prefix, content_type="text/csv", split="Line", strategy="MultiRecord",
            accept="text/csv", assemble="Line", processing=None, concurrency=None, payload_mb=1,
            compression=None, status="Completed"):
    kw = {"DataProcessing": processing} if processing else {}
    if concurrency:
        kw["MaxConcurrentTransforms"] = concurrency
    source = {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                              "S3Uri": f"s3://{BUCKET}/{prefix}"}},
              "ContentType": content_type, "SplitType": split}
    if compression:
        source["CompressionType"] = compression
    sm.create_transform_job(
        TransformJobName=name, ModelName="bt-xgb", BatchStrategy=strategy,
        MaxPayloadInMB=payload_mb, TransformInput=source,
        TransformOutput={"S3OutputPath": f"s3://{BUCKET}/out/{name}", "Accept": accept,
                         "AssembleWith": assemble},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1}, **kw)

    def ended():
        d = sm.describe_transform_job(TransformJobName=name)
        return d if d["TransformJobStatus"] not in ("InProgress", "Stopping") else None
    d = wait_for(ended, timeout=120, what=f"transform {name}")
    assert d["TransformJobStatus"] == status, d.get("FailureReason")
    return d


def get_text(s3, key):
    return s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()


def reference(booster, rows):
    import xgboost as xgb
    return booster.predict(xgb.DMatrix(np.asarray(rows, dtype=np.float32)))


def csv_row(values):
    return ",".join(repr(float(v)) for v in values)


def test_csv_input_filter_join_and_output_filter_keep_id_and_prediction(xgb_env):
    sm, s3, booster, x = xgb_env
    rows = x[:120]
    ids = [f"id{i:04d}" for i in range(len(rows))]
    body = "".join(f"{ids[i]},{csv_row(r)}\n" for i, r in enumerate(rows))
    s3.put_object(Bucket=BUCKET, Key="dp/csv/part.csv", Body=body.encode())
    run_xgb(sm, "bt-dp-csv", "dp/csv/",
            processing={"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"})
    lines = get_text(s3, "out/bt-dp-csv/part.csv.out").splitlines()
    assert [l.split(",")[0] for l in lines] == ids
    assert all(len(l.split(",")) == 2 for l in lines), lines[:3]
    got = np.array([float(l.split(",")[1]) for l in lines])
    assert np.max(np.abs(got - reference(booster, rows))) < 1e-5
    # Joined without an OutputFilter: every input field, then the prediction.
    run_xgb(sm, "bt-dp-join", "dp/csv/", strategy="SingleRecord",
            processing={"InputFilter": "$[1:]", "JoinSource": "Input"})
    joined = get_text(s3, "out/bt-dp-join/part.csv.out").splitlines()
    assert [l.rsplit(",", 1)[0] for l in joined] == body.splitlines()
    assert np.max(np.abs(np.array([float(l.rsplit(",", 1)[1]) for l in joined])
                         - reference(booster, rows))) < 1e-5


def test_json_lines_input_with_filters(xgb_env):
    sm, s3, booster, x = xgb_env
    rows = x[200:260]
    body = "".join(json.dumps({"id": i, "note": "n%d" % i, "features": [float(v) for v in r]}) + "\n"
                   for i, r in enumerate(rows))
    s3.put_object(Bucket=BUCKET, Key="dp/json/part.jsonl", Body=body.encode())
    run_xgb(sm, "bt-dp-json", "dp/json/", content_type="application/jsonlines",
            accept="application/jsonlines",
            processing={"InputFilter": "$.features", "JoinSource": "Input",
                        "OutputFilter": "$['id','SageMakerOutput']"})
    out = [json.loads(l) for l in get_text(s3, "out/bt-dp-json/part.jsonl.out").splitlines()]
    assert [set(o) for o in out] == [{"id", "SageMakerOutput"}] * len(rows)
    assert [o["id"] for o in out] == list(range(len(rows)))
    got = np.array([o["SageMakerOutput"]["score"] for o in out])
    assert np.max(np.abs(got - reference(booster, rows))) < 1e-5
    # A CSV answer joined to a JSON record lands under SageMakerOutput as a number.
    run_xgb(sm, "bt-dp-json-csv", "dp/json/", content_type="application/jsonlines",
            processing={"InputFilter": "$.features", "JoinSource": "Input",
                        "OutputFilter": "$.SageMakerOutput"})
    got = np.array([float(l) for l in get_text(s3, "out/bt-dp-json-csv/part.jsonl.out").split()])
    assert np.max(np.abs(got - reference(booster, rows))) < 1e-5


def test_a_filter_that_selects_nothing_fails_naming_the_record(xgb_env):
    sm, s3, booster, x = xgb_env
    good = json.dumps({"id": 1, "features": [float(v) for v in x[0]]})
    # Line 2 is blank: records keep the object's line numbers.
    s3.put_object(Bucket=BUCKET, Key="dp/nothing/part.jsonl",
                  Body=(good + "\n\n" + json.dumps({"id": 3, "values": [1.0]}) + "\n").encode())
    sm.create_transform_job(
        TransformJobName="bt-dp-nothing", ModelName="bt-xgb", BatchStrategy="SingleRecord",
        TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                        "S3Uri": f"s3://{BUCKET}/dp/nothing/"}},
                        "ContentType": "application/jsonlines", "SplitType": "Line"},
        TransformOutput={"S3OutputPath": f"s3://{BUCKET}/out/bt-dp-nothing"},
        DataProcessing={"InputFilter": "$.features", "JoinSource": "Input"},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1})
    d = wait_for(lambda: (lambda j: j if j["TransformJobStatus"] in ("Failed", "Completed") else None)(
        sm.describe_transform_job(TransformJobName="bt-dp-nothing")), timeout=60, what="bt-dp-nothing")
    assert d["TransformJobStatus"] == "Failed"
    assert (f"s3://{BUCKET}/dp/nothing/part.jsonl record 3: InputFilter '$.features' selects nothing"
            in d["FailureReason"]), d["FailureReason"]


def test_recordio_split_input(xgb_env):
    import struct
    sm, s3, booster, x = xgb_env
    rows = x[300:340].copy()
    # A value whose bytes are the RecordIO magic: its record is written split in two frames
    # at that point (flag 1 then 3, the magic dropped), as dmlc's writer does.
    magic_float = struct.unpack("<f", struct.pack("<I", 0xced7230a))[0]
    rows[7, 3] = magic_float
    data = bytearray()
    for i, r in enumerate(rows):
        payload = record_protobuf([float(v) for v in r])
        if i == 7:
            at = payload.index(struct.pack("<I", 0xced7230a))
            data += frame(payload[:at], 1) + frame(payload[at + 4:], 3)
        else:
            data += frame(payload)
    s3.put_object(Bucket=BUCKET, Key="rio/in/part.rec", Body=bytes(data))
    want = reference(booster, rows)
    for strategy in ("SingleRecord", "MultiRecord"):
        name = f"bt-rio-{strategy.lower()}"
        run_xgb(sm, name, "rio/in/", content_type="application/x-recordio-protobuf",
                split="RecordIO", strategy=strategy, assemble="None")
        got = np.array([float(v) for v in get_text(s3, f"out/{name}/part.rec.out").split()])
        assert len(got) == len(rows)
        assert np.max(np.abs(got - want)) < 1e-5, strategy
    # A torn frame fails the job naming the object and the record.
    s3.put_object(Bucket=BUCKET, Key="rio/bad/part.rec", Body=bytes(data[:-9]))
    sm.create_transform_job(
        TransformJobName="bt-rio-bad", ModelName="bt-xgb", BatchStrategy="SingleRecord",
        TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                        "S3Uri": f"s3://{BUCKET}/rio/bad/"}},
                        "ContentType": "application/x-recordio-protobuf", "SplitType": "RecordIO"},
        TransformOutput={"S3OutputPath": f"s3://{BUCKET}/out/bt-rio-bad"},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1})
    d = wait_for(lambda: (lambda j: j if j["TransformJobStatus"] == "Failed" else None)(
        sm.describe_transform_job(TransformJobName="bt-rio-bad")), timeout=60, what="bt-rio-bad")
    assert f"s3://{BUCKET}/rio/bad/part.rec record {len(rows)}" in d["FailureReason"], d["FailureReason"]
    assert "runs past the end" in d["FailureReason"]


def test_max_concurrent_transforms_gives_the_same_output(xgb_env):
    sm, s3, booster, x = xgb_env
    rng = np.random.default_rng(3)
    rows = np.vstack([x] * 8) * rng.uniform(0.9, 1.1, size=(len(x) * 8, x.shape[1]))
    rows = rows.astype(np.float32)
    body = "".join(csv_row(r) + "\n" for r in rows)  # about 2 MB: several 1 MB batches
    assert len(body) > 2 << 20
    s3.put_object(Bucket=BUCKET, Key="mct/big.csv", Body=body.encode())
    s3.put_object(Bucket=BUCKET, Key="mct/small.csv", Body="".join(
        csv_row(r) + "\n" for r in rows[:400]).encode())
    outputs = {}
    for strategy in ("MultiRecord", "SingleRecord"):
        for n in (1, 2, 4):
            name = f"bt-mct-{strategy.lower()}-{n}"
            run_xgb(sm, name, "mct/", strategy=strategy, concurrency=n)
            outputs[name] = (get_text(s3, f"out/{name}/big.csv.out"),
                             get_text(s3, f"out/{name}/small.csv.out"))
    first = outputs["bt-mct-multirecord-1"]
    assert all(o == first for o in outputs.values())
    got = np.array([float(v) for v in first[0].split()])
    assert np.max(np.abs(got - reference(booster, rows))) < 1e-5


def test_bad_processing_and_split_refused_at_create(xgb_env):
    sm, s3, booster, x = xgb_env
    s3.put_object(Bucket=BUCKET, Key="bad-dp/a.csv", Body=b"1,2\n")

    def create(split="Line", content_type="text/csv", **kw):
        with pytest.raises(ClientError) as e:
            sm.create_transform_job(
                TransformJobName="bt-refused", ModelName="bt-xgb",
                TransformInput={"DataSource": {"S3DataSource": {
                    "S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/bad-dp/"}},
                    "ContentType": content_type, "SplitType": split},
                TransformOutput={"S3OutputPath": f"s3://{BUCKET}/out/refused"},
                TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1}, **kw)
        assert e.value.response["Error"]["Code"] == "ValidationException"
        return e.value.response["Error"]["Message"]

    msg = create(DataProcessing={"InputFilter": "$[1:"})
    assert "DataProcessing.InputFilter" in msg and "position 5" in msg, msg
    msg = create(DataProcessing={"OutputFilter": "$..id"})
    assert "DataProcessing.OutputFilter" in msg and "position 3" in msg, msg
    msg = create(DataProcessing={"InputFilter": "features"})
    assert "DataProcessing.InputFilter" in msg and "position 1" in msg, msg
    msg = create(split="TFRecord")
    assert "TFRecord" in msg and "not supported" in msg, msg
    msg = create(split="RecordIO", content_type="application/x-recordio-protobuf",
                 DataProcessing={"JoinSource": "Input"})
    assert "RecordIO" in msg, msg
    msg = create(content_type="text/libsvm", DataProcessing={"InputFilter": "$[1:]"})
    assert "text/libsvm" in msg, msg
    msg = create(DataCaptureConfig={"DestinationS3Uri": f"s3://{BUCKET}/capture"})
    assert "DataCaptureConfig is not supported for batch transform" in msg, msg
    assert sm.list_transform_jobs()["TransformJobSummaries"] == []


def test_gzip_input_is_inflated_before_it_is_split(xgb_env):
    """TransformInput.CompressionType Gzip: each object (here two gzip members end to end) is
    inflated, then split and predicted as the plain CSV is; an object that is not gzip fails
    the job, naming it."""
    import gzip
    sm, s3, booster, x = xgb_env
    rows = x[:300]
    body = "".join(csv_row(r) + "\n" for r in rows).encode()
    half = body.index(b"\n", len(body) // 2) + 1
    s3.put_object(Bucket=BUCKET, Key="gz/in/a.csv.gz",
                  Body=gzip.compress(body[:half]) + gzip.compress(body[half:]))
    run_xgb(sm, "bt-gzip", "gz/in/", compression="Gzip")
    got = np.array([float(v) for v in get_text(s3, "out/bt-gzip/a.csv.gz.out").split()])
    assert np.max(np.abs(got - reference(booster, rows))) < 1e-5
    s3.put_object(Bucket=BUCKET, Key="gz/bad/b.csv.gz", Body=body[:200])
    d = run_xgb(sm, "bt-gzip-bad", "gz/bad/", compression="Gzip", status="Failed")
    assert "gz/bad/b.csv.gz" in d["FailureReason"] and "gzip" in d["FailureReason"], d["FailureReason"]
