"""Batch transform through boto3: a built-in algorithm's model over a multi-file CSV prefix,
every SplitType / BatchStrategy pair Lathe supports, and a bad record named in the failure."""
import json

import pytest
from botocore.exceptions import ClientError

from jobs_util import ROLE, wait_for
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
