#!/usr/bin/env python3
"""Job start and finish overhead.

start:  from CreateTrainingJob returning to the first line of the user's script (the
        script prints time.time() first thing), through the executor, the runner process,
        the /opt/ml layout, code download and unpacking, and the bubblewrap sandbox;
finish: from the script's last line (after it wrote a 1 MB model) to DescribeTrainingJob
        saying Completed, with model.tar.gz packed and stored.

The reference, in the same run: the same script started directly as a process
(`/usr/bin/python3 script.py`), which is the floor any job runner pays for Python itself.
Aim: both overheads under 100 ms median (SageMaker takes minutes, its local mode seconds).
"""
import argparse
import io
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lathe_bench import BenchServer  # noqa: E402

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402

SCRIPT = b"""import time
print("first", repr(time.time()), flush=True)
import os
open(os.path.join(os.environ.get("SM_MODEL_DIR", "/tmp"), "model.bin"), "wb").write(os.urandom(1 << 20))
print("last", repr(time.time()), flush=True)
"""


def source_tarball():
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("train.py")
        info.size = len(SCRIPT)
        tar.addfile(info, io.BytesIO(SCRIPT))
    return buf.getvalue()


def stamp(text, word):
    for line in text.splitlines():
        if line.startswith(word + " "):
            return float(line.split()[1])
    raise RuntimeError(f"no '{word}' line in {text!r}")


def log_text(logs, job):
    streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs",
                                        logStreamNamePrefix=job + "/")["logStreams"]
    return "\n".join(e["message"] for s in streams for e in logs.get_log_events(
        logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=s["logStreamName"],
        startFromHead=True)["events"])


def bare_python_start(n):
    """Seconds from spawning the script as a plain process to its first line."""
    out = []
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "train.py")
        open(path, "wb").write(SCRIPT)
        for _ in range(n):
            t0 = time.time()
            text = subprocess.run(["/usr/bin/python3", path], capture_output=True, text=True,
                                  env=dict(os.environ, SM_MODEL_DIR=d), check=True).stdout
            out.append(stamp(text, "first") - t0)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lathe", default="build/lathe")
    ap.add_argument("--jobs", type=int, default=20)
    args = ap.parse_args()
    with BenchServer(args.lathe) as srv:
        kw = dict(endpoint_url=srv.endpoint, region_name="us-east-1",
                  aws_access_key_id=srv.creds.access_key, aws_secret_access_key=srv.creds.secret_key,
                  config=Config(s3={"addressing_style": "path"}))
        sm, s3, logs = (boto3.client(s, **kw) for s in ("sagemaker", "s3", "logs"))
        s3.create_bucket(Bucket="bench-jobs")
        s3.put_object(Bucket="bench-jobs", Key="src/sourcedir.tar.gz", Body=source_tarball())
        starts, finishes, totals = [], [], []
        for i in range(args.jobs):
            name = f"bench-{i}"
            t0 = time.time()
            sm.create_training_job(
                TrainingJobName=name,
                AlgorithmSpecification={"TrainingImage": "python", "TrainingInputMode": "File"},
                HyperParameters={"sagemaker_program": '"train.py"',
                                 "sagemaker_submit_directory": '"s3://bench-jobs/src/sourcedir.tar.gz"'},
                RoleArn="arn:aws:iam::000000000000:role/bench",
                OutputDataConfig={"S3OutputPath": "s3://bench-jobs/out"},
                ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
                StoppingCondition={"MaxRuntimeInSeconds": 60})
            created = time.time()
            while True:
                d = sm.describe_training_job(TrainingJobName=name)
                if d["TrainingJobStatus"] != "InProgress":
                    done = time.time()
                    break
                time.sleep(0.002)
            assert d["TrainingJobStatus"] == "Completed", d.get("FailureReason")
            head = s3.head_object(Bucket="bench-jobs", Key=f"out/{name}/output/model.tar.gz")
            assert head["ContentLength"] > 1 << 20
            text = log_text(logs, name)
            starts.append(stamp(text, "first") - created)
            finishes.append(done - stamp(text, "last"))
            totals.append(done - t0)
        bare = bare_python_start(args.jobs)

    def ms(v):
        return f"{statistics.median(v) * 1000:7.1f} ms median, {sorted(v)[int(len(v) * 0.9)] * 1000:7.1f} ms p90"

    print(f"jobs: {args.jobs} script-mode training jobs, one at a time, 1 MB model each")
    print(f"  start  (CreateTrainingJob returned -> script's first line): {ms(starts)}")
    print(f"  finish (script's last line -> Completed, model stored):    {ms(finishes)}")
    print(f"  whole job as the client sees it:                           {ms(totals)}")
    print(f"  reference: bare `python3 train.py` to its first line:      {ms(bare)}")
    print(f"  start overhead / bare python start: "
          f"{statistics.median(starts) / statistics.median(bare):.2f}x")
    aim = statistics.median(starts) < 0.1 and statistics.median(finishes) < 0.1
    print(f"  aim (both under 100 ms median): {'met' if aim else 'NOT met'}")


if __name__ == "__main__":
    main()
