#!/usr/bin/env python3
"""bench/serving: real-time inference and batch prediction of an XGBoost model.

Model: a 100-tree, depth-6 binary:logistic model trained by python3-xgboost (hist) on
sklearn's make_classification, 28 features, saved in XGBoost's JSON format as the
SageMaker XGBoost container's `xgboost-model`, deployed with CreateModel (the
sagemaker-xgboost image URI), CreateEndpointConfig and CreateEndpoint.

Real time: wrk on loopback replays one signed single-row text/csv InvokeEndpoint (AWS
accepts a signature for 15 minutes) against
  Lathe:        the endpoint, served in-process;
  reference a:  SageMaker's XGBoost serving stack in miniature, gunicorn + flask +
                python3-xgboost, 2 sync workers, OMP_NUM_THREADS=1, same row;
  reference b:  the HTTP floor, GET /ping on the same Lathe server (libmicrohttpd, same
                thread pool, no auth, no body).
Batch: predicting a 1,000,000-row CSV with a transform job (CreateTransformJob to Completed,
the CSV read from and the predictions written to Lathe's S3; MaxConcurrentTransforms 1 and 2)
and with `lathe algo predict`
(a local file), against python3-xgboost with pandas.read_csv + Booster.predict, same threads.
The script prints every ratio.
"""
import argparse
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lathe_bench import BenchServer, deploy_endpoint, free_port  # noqa: E402

FLASK_APP = r'''
import os
import numpy as np
import xgboost as xgb
from flask import Flask, Response, request

app = Flask(__name__)
booster = xgb.Booster(model_file=os.environ["MODEL_FILE"])
booster.set_param({"nthread": 1})

@app.route("/ping")
def ping():
    return ""

@app.route("/invocations", methods=["POST"])
def invocations():
    rows = np.loadtxt(request.data.decode().splitlines(), delimiter=",", ndmin=2)
    preds = booster.predict(xgb.DMatrix(rows))
    return Response("\n".join("%.9g" % p for p in preds) + "\n", mimetype="text/csv")
'''


def wrk(url, script, seconds, connections):
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
        path = f.name
    try:
        out = subprocess.run(["wrk", "-t", "1", "-c", str(connections), "-d", f"{seconds}s",
                              "-s", path, "--latency", url], check=True, capture_output=True,
                             text=True).stdout
    finally:
        os.unlink(path)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    p99 = re.search(r"99%\s+([\d.]+)(\w+)", out)
    p99_ms = float(p99.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    return rate, int(non2xx.group(1)) if non2xx else 0, p99_ms


def lua(body, headers):
    q = lambda s: '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    lines = ['wrk.method = "POST"', f"wrk.body = {q(body)}", "wrk.headers = {}"]
    lines += [f"wrk.headers[{q(k)}] = {q(v)}" for k, v in headers.items() if k.lower() != "host"]
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lathe", default="build/lathe")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--batch-rows", type=int, default=1_000_000)
    ap.add_argument("--server-threads", type=int, default=None,
                    help="lathe server --threads (default: the server's own, max(2, CPUs))")
    args = ap.parse_args()
    if args.batch_rows < 1:
        ap.error("--batch-rows must be at least 1 (the batch half predicts that many rows)")
    import xgboost as xgb
    from sklearn.datasets import make_classification
    x, y = make_classification(n_samples=100_000, n_features=28, n_informative=12, random_state=7)
    booster = xgb.train({"objective": "binary:logistic", "tree_method": "hist", "max_depth": 6,
                         "eta": 0.1, "nthread": 2}, xgb.DMatrix(x, label=y), num_boost_round=100)
    work = tempfile.mkdtemp(prefix="lathe-serving-")
    model_file = os.path.join(work, "xgboost-model")
    booster.save_model(model_file + ".json")
    os.rename(model_file + ".json", model_file)
    tarball = io.BytesIO()
    with tarfile.open(fileobj=tarball, mode="w:gz") as tar:
        tar.add(model_file, arcname="xgboost-model")
    row = ",".join("%.6g" % v for v in x[0]) + "\n"
    expected = float(booster.predict(xgb.DMatrix(x[:1]))[0])

    with BenchServer(args.lathe, threads=args.server_threads) as srv:
        import boto3
        kw = dict(endpoint_url=srv.endpoint, region_name="us-east-1",
                  aws_access_key_id=srv.creds.access_key, aws_secret_access_key=srv.creds.secret_key)
        s3, sm, rt = (boto3.client(s, **kw) for s in ("s3", "sagemaker", "sagemaker-runtime"))
        s3.create_bucket(Bucket="bench-serving")
        s3.put_object(Bucket="bench-serving", Key="xgb/model.tar.gz", Body=tarball.getvalue())
        sm.create_model(ModelName="xgb", ExecutionRoleArn="arn:aws:iam::000000000000:role/b",
                        PrimaryContainer={"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
                                          "ModelDataUrl": "s3://bench-serving/xgb/model.tar.gz"})
        deploy_endpoint(sm, "xgb", "xgb")
        got = json.loads(rt.invoke_endpoint(EndpointName="xgb", ContentType="text/csv", Accept="application/json",
                                            Body=row)["Body"].read())["predictions"][0]["score"]
        assert abs(got - expected) < 1e-5, (got, expected)
        headers = srv.signed_headers("POST", "/endpoints/xgb/invocations", row.encode(),
                                     {"Content-Type": "text/csv", "Accept": "text/csv"})
        lathe_rate, lathe_bad, lathe_p99 = wrk(srv.endpoint + "/endpoints/xgb/invocations",
                                               lua(row, headers), args.seconds, args.connections)
        floor_rate, _, floor_p99 = wrk(srv.endpoint + "/ping", 'wrk.method = "GET"\n',
                                       args.seconds, args.connections)

        # Batch transform of a large CSV through a real transform job.
        n = args.batch_rows
        rng = np.random.default_rng(1)
        big = rng.normal(size=(n, 28)).astype(np.float32)
        csv = os.path.join(work, "batch.csv")
        np.savetxt(csv, big, delimiter=",", fmt="%.6g")
        s3.upload_file(csv, "bench-serving", "batch/in/batch.csv")
        transform_s = {}
        for conc in (1, 2):
            # MaxConcurrentTransforms 1: one batch at a time, parsed and predicted on both
            # CPUs; 2: two batches at once, one CPU each (the default on this 2-CPU box).
            name = f"bench-batch-{conc}"
            t0 = time.perf_counter()
            sm.create_transform_job(
                TransformJobName=name, ModelName="xgb", BatchStrategy="MultiRecord",
                MaxPayloadInMB=6, MaxConcurrentTransforms=conc,
                TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                                "S3Uri": "s3://bench-serving/batch/in/"}},
                                "ContentType": "text/csv", "SplitType": "Line"},
                TransformOutput={"S3OutputPath": f"s3://bench-serving/batch/out{conc}",
                                 "Accept": "text/csv", "AssembleWith": "Line"},
                TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1})
            while True:
                t = sm.describe_transform_job(TransformJobName=name)
                if t["TransformJobStatus"] not in ("InProgress", "Stopping"):
                    break
                time.sleep(0.05)
            transform_s[conc] = time.perf_counter() - t0
            assert t["TransformJobStatus"] == "Completed", t.get("FailureReason")

    port = free_port()
    app_dir = tempfile.mkdtemp(prefix="lathe-flask-")
    with open(os.path.join(app_dir, "app.py"), "w") as f:
        f.write(FLASK_APP)
    env = dict(os.environ, OMP_NUM_THREADS="1", MODEL_FILE=model_file)
    gun = subprocess.Popen(["gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}", "--chdir", app_dir,
                            "app:app"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        flask_rate, flask_bad, flask_p99 = wrk(f"http://127.0.0.1:{port}/invocations",
                                               lua(row, {"Content-Type": "text/csv"}),
                                               args.seconds, args.connections)
    finally:
        gun.terminate()
        gun.wait()

    # Batch: the same CSV through `lathe algo predict` (no S3, no job) and the reference.
    os.makedirs(os.path.join(work, "model"), exist_ok=True)
    os.rename(model_file, os.path.join(work, "model", "xgboost-model"))
    with open(os.path.join(work, "model", "lathe-algo.json"), "w") as f:
        f.write('{"algorithm": "xgboost"}\n')
    t0 = time.perf_counter()
    subprocess.run([args.lathe, "algo", "predict", "--model-dir", os.path.join(work, "model"),
                    "--input", csv, "--content-type", "text/csv;label_size=0", "--accept",
                    "text/csv", "--threads", "2"], check=True, stdout=subprocess.DEVNULL)
    lathe_batch = time.perf_counter() - t0
    import pandas as pd
    t0 = time.perf_counter()
    frame = pd.read_csv(csv, header=None)
    ref = xgb.Booster(model_file=os.path.join(work, "model", "xgboost-model"))
    ref.set_param({"nthread": 2})
    ref.predict(xgb.DMatrix(frame.values, nthread=2))
    xgb_batch = time.perf_counter() - t0
    subprocess.run(["rm", "-rf", work, app_dir])

    print(f"real time, 1 row text/csv, wrk {args.connections} connections, {args.seconds} s each:")
    print(f"  Lathe endpoint:               {lathe_rate:9,.0f} req/s  p99 {lathe_p99:.2f} ms  non-2xx {lathe_bad}")
    print(f"  gunicorn+flask+xgboost (2 w): {flask_rate:9,.0f} req/s  p99 {flask_p99:.2f} ms  non-2xx {flask_bad}")
    print(f"  HTTP floor (GET /ping):       {floor_rate:9,.0f} req/s  p99 {floor_p99:.2f} ms")
    print(f"  Lathe / flask stack: {lathe_rate / flask_rate:.1f}x (aim >= 20x)   "
          f"Lathe / floor: {lathe_rate / floor_rate:.2f} (aim >= 0.6)   p99 aim <= 2 ms")
    print(f"batch, {n:,} rows CSV, 2 threads:")
    for conc, secs in transform_s.items():
        print(f"  transform job, MaxConcurrentTransforms {conc} (create -> Completed, S3 in and out): "
              f"{n / secs:11,.0f} rows/s ({secs:.2f} s)")
    print(f"  lathe algo predict (local file, stdout):            {n / lathe_batch:11,.0f} rows/s ({lathe_batch:.2f} s)")
    print(f"  pandas.read_csv + xgboost:                          {n / xgb_batch:11,.0f} rows/s ({xgb_batch:.2f} s)")
    print(f"  ratio transform job / reference: {xgb_batch / transform_s[1]:.2f}x with 1, "
          f"{xgb_batch / transform_s[2]:.2f}x with 2 (aim >= 3x); "
          f"algo predict / reference: {xgb_batch / lathe_batch:.2f}x")
    return 0 if lathe_bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
