"""Processing jobs through boto3: the same executor and sandbox as training, with the
processing layout (/opt/ml/processing, /opt/ml/config) and AppSpecification's entry point."""
import json
import os

import pytest
from botocore.exceptions import ClientError

from jobs_util import ROLE, SKLEARN_IMAGE, log_text, wait_for, wait_job

os.environ["LATHE_STOP_GRACE_SECONDS"] = "2"
BUCKET = "lathe-proc"

PREP = r'''
import csv, json, os, socket
inp, out = "/opt/ml/processing/input/data", "/opt/ml/processing/output/train"
rows = []
for name in sorted(os.listdir(inp)):
    with open(os.path.join(inp, name)) as f:
        rows += [[float(v) for v in r] for r in csv.reader(f)]
mean = [sum(c) / len(c) for c in zip(*rows)]
os.makedirs(os.path.join(out, "nested"), exist_ok=True)
with open(os.path.join(out, "centered.csv"), "w") as f:
    for r in rows:
        f.write(",".join("%g" % (v - m) for v, m in zip(r, mean)) + "\n")
config = json.load(open("/opt/ml/config/processingjobconfig.json"))
resources = json.load(open("/opt/ml/config/resourceconfig.json"))
json.dump({"job": config["ProcessingJobName"], "host": resources["current_host"],
           "hostname": socket.gethostname(), "env": os.environ.get("STAGE")},
          open(os.path.join(out, "nested", "facts.json"), "w"))
os.makedirs("/opt/ml/output", exist_ok=True)
open("/opt/ml/output/message", "w").write("centered %d rows" % len(rows))
print("done", len(rows))
'''


def processing_request(name, code_uri, data_uri, entry=None, **overrides):
    req = {
        "ProcessingJobName": name,
        "ProcessingInputs": [
            {"InputName": "code", "S3Input": {"S3Uri": code_uri, "LocalPath": "/opt/ml/processing/input/code",
                                               "S3DataType": "S3Prefix", "S3InputMode": "File"}},
            {"InputName": "data", "S3Input": {"S3Uri": data_uri, "LocalPath": "/opt/ml/processing/input/data",
                                               "S3DataType": "S3Prefix", "S3InputMode": "File"}},
        ],
        "ProcessingOutputConfig": {"Outputs": [
            {"OutputName": "train", "S3Output": {"S3Uri": f"s3://{BUCKET}/processed/{name}",
                                                  "LocalPath": "/opt/ml/processing/output/train",
                                                  "S3UploadMode": "EndOfJob"}}]},
        "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large",
                                                  "VolumeSizeInGB": 5}},
        "StoppingCondition": {"MaxRuntimeInSeconds": 120},
        "AppSpecification": {"ImageUri": SKLEARN_IMAGE,
                             "ContainerEntrypoint": entry or ["python3", "/opt/ml/processing/input/code/prep.py"]},
        "Environment": {"STAGE": "test"},
        "RoleArn": ROLE,
    }
    req.update(overrides)
    return req


@pytest.fixture
def env(server):
    s3 = server.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="raw/a.csv", Body=b"1,10\n3,30\n")
    s3.put_object(Bucket=BUCKET, Key="raw/b.csv", Body=b"5,50\n")
    return server, server.client("sagemaker"), s3


def put_code(s3, name, text):
    s3.put_object(Bucket=BUCKET, Key=f"code/{name}/prep.py", Body=text.encode())
    return f"s3://{BUCKET}/code/{name}/"


def test_processing_job_reads_inputs_and_uploads_outputs(env):
    server, sm, s3 = env
    code = put_code(s3, "p1", PREP)
    arn = sm.create_processing_job(**processing_request("prep-1", code, f"s3://{BUCKET}/raw/"))["ProcessingJobArn"]
    assert arn.endswith(":processing-job/prep-1")
    d = wait_job(sm, "prep-1", kind="processing")
    assert d["ProcessingJobStatus"] == "Completed", d.get("FailureReason")
    assert d["ExitMessage"] == "centered 3 rows"
    assert d["ProcessingStartTime"] <= d["ProcessingEndTime"]
    body = s3.get_object(Bucket=BUCKET, Key="processed/prep-1/centered.csv")["Body"].read()
    assert body == b"-2,-20\n0,0\n2,20\n"
    facts = json.loads(s3.get_object(Bucket=BUCKET, Key="processed/prep-1/nested/facts.json")["Body"].read())
    assert facts == {"job": "prep-1", "host": "algo-1", "hostname": "algo-1", "env": "test"}
    assert "done 3" in log_text(server, "prep-1", group="/aws/sagemaker/ProcessingJobs")
    names = [s["ProcessingJobName"] for s in sm.list_processing_jobs()["ProcessingJobSummaries"]]
    assert names == ["prep-1"]


def test_processing_failure_and_stop(env):
    server, sm, s3 = env
    code = put_code(s3, "bad", "import sys\nopen('/opt/ml/output/failure','w').write('no rows to process')\nsys.exit(2)\n")
    sm.create_processing_job(**processing_request("prep-bad", code, f"s3://{BUCKET}/raw/"))
    d = wait_job(sm, "prep-bad", kind="processing")
    assert d["ProcessingJobStatus"] == "Failed"
    assert "no rows to process" in d["FailureReason"]

    code = put_code(s3, "slow", "import time\nprint('waiting', flush=True)\ntime.sleep(300)\n")
    sm.create_processing_job(**processing_request("prep-slow", code, f"s3://{BUCKET}/raw/"))
    wait_for(lambda: "waiting" in log_text(server, "prep-slow", group="/aws/sagemaker/ProcessingJobs"),
             what="the processing script to start")
    sm.stop_processing_job(ProcessingJobName="prep-slow")
    assert wait_job(sm, "prep-slow", kind="processing")["ProcessingJobStatus"] == "Stopped"


def test_processing_bad_requests(env):
    server, sm, s3 = env
    code = put_code(s3, "x", PREP)
    req = processing_request("prep-x", code, f"s3://{BUCKET}/raw/")
    req["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["LocalPath"] = "/etc/out"
    with pytest.raises(ClientError) as e:
        sm.create_processing_job(**req)
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert "/opt/ml/processing/" in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        sm.create_processing_job(**processing_request("prep-y", code, f"s3://{BUCKET}/missing/"))
    assert "no S3 objects found" in e.value.response["Error"]["Message"]
    req = processing_request("prep-z", code, f"s3://{BUCKET}/raw/")
    req["ProcessingInputs"][1]["S3Input"]["S3InputMode"] = "Pipe"
    with pytest.raises(ClientError) as e:
        sm.create_processing_job(**req)
    assert "S3InputMode Pipe" in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        sm.describe_processing_job(ProcessingJobName="nope")
    assert e.value.response["Error"]["Code"] == "ResourceNotFound"
