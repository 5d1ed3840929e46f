"""Training jobs through boto3 against a live server: real scripts (scikit-learn from Debian)
run in bubblewrap sandboxes under the SageMaker container contract."""
import glob
import io
import json
import os
import signal
import subprocess
import tarfile
import time

import pytest
from botocore.exceptions import ClientError

from conftest import LATHE_BIN, Server, assert_clean_log
from jobs_util import ROLE, log_text, put_script, script_job, wait_for, wait_job

# Stops and timeouts wait this long between SIGTERM and SIGKILL (SageMaker: 120 s).
os.environ["LATHE_STOP_GRACE_SECONDS"] = "2"

BUCKET = "lathe-jobs"


@pytest.fixture
def env(server):
    s3 = server.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    yield server, server.client("sagemaker"), s3
    for log in glob.glob(os.path.join(server.data_dir, "jobs", "*", "*", "runner.log")):
        text = open(log, errors="replace").read()
        for marker in ("AddressSanitizer", "runtime error:", "LeakSanitizer"):
            assert marker not in text, f"sanitizer report in {log}:\n{text[-4000:]}"


def model_files(s3, uri):
    assert uri.startswith(f"s3://{BUCKET}/")
    body = s3.get_object(Bucket=BUCKET, Key=uri[len(f"s3://{BUCKET}/"):])["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


SKLEARN_SCRIPT = r'''
import argparse, json, os, socket, sys
import numpy as np
from sklearn.linear_model import LogisticRegression
import joblib

p = argparse.ArgumentParser()
p.add_argument("--C", type=float, default=1.0)
p.add_argument("--max-iter", type=int, default=100)
p.add_argument("--model-dir", default=os.environ["SM_MODEL_DIR"])
p.add_argument("--train", default=os.environ["SM_CHANNEL_TRAIN"])
p.add_argument("--test", default=os.environ["SM_CHANNEL_TEST"])
args = p.parse_args()

def load(d):
    rows = [np.loadtxt(os.path.join(d, f), delimiter=",") for f in sorted(os.listdir(d))]
    data = np.vstack(rows)
    return data[:, 1:], data[:, 0]

x, y = load(args.train)
tx, ty = load(args.test)
clf = LogisticRegression(C=args.C, max_iter=args.max_iter).fit(x, y)
for epoch, acc in enumerate([0.5, 0.7, clf.score(tx, ty)]):
    print(f"epoch {epoch}\ttest-accuracy:{acc:.4f}")
joblib.dump(clf, os.path.join(args.model_dir, "model.joblib"))

facts = {k: v for k, v in os.environ.items() if k.startswith("SM_") or k.startswith("TRAINING_")}
facts["hostname"] = socket.gethostname()
facts["cwd"] = os.getcwd()
facts["argv"] = sys.argv[1:]
for f in ("hyperparameters.json", "resourceconfig.json", "inputdataconfig.json"):
    facts[f] = json.load(open("/opt/ml/input/config/" + f))
try:
    open("/etc/lathe-was-here", "w")
    facts["root_writable"] = True
except OSError:
    facts["root_writable"] = False
facts["capabilities"] = [l.split()[1] for l in open("/proc/self/status") if l.startswith("CapEff")][0]
facts["data_dir_visible"] = os.path.exists(os.path.join(os.environ["LATHE_DATA_DIR"], "lathe.db"))
os.makedirs("/opt/ml/output/data", exist_ok=True)
open("/opt/ml/output/data/report.txt", "w").write("accuracy %.4f\n" % clf.score(tx, ty))
json.dump(facts, open(os.path.join(args.model_dir, "facts.json"), "w"))
'''


def upload_classification_data(s3):
    import numpy as np
    rng = np.random.default_rng(7)
    x = rng.normal(size=(600, 4))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)
    rows = np.column_stack([y, x])
    for name, part in (("train/part-0.csv", rows[:250]), ("train/part-1.csv", rows[250:500]),
                       ("test/all.csv", rows[500:])):
        body = "\n".join(",".join(f"{v:.6f}" for v in r) for r in part) + "\n"
        s3.put_object(Bucket=BUCKET, Key=f"data/{name}", Body=body.encode())


def test_sklearn_script_trains_and_packs_its_model(env):
    server, sm, s3 = env
    upload_classification_data(s3)
    src = put_script(s3, BUCKET, "sk-1", SKLEARN_SCRIPT)
    req = script_job("sk-1", BUCKET, src,
                     channels={"train": f"s3://{BUCKET}/data/train", "test": f"s3://{BUCKET}/data/test/"},
                     hyperparameters={"C": "0.5", "max-iter": "200"},
                     Environment={"LATHE_DATA_DIR": server.data_dir})
    req["AlgorithmSpecification"]["MetricDefinitions"] = [
        {"Name": "test:accuracy", "Regex": r"#011test-accuracy:(\S+)"}]
    arn = sm.create_training_job(**req)["TrainingJobArn"]
    assert arn == "arn:aws:sagemaker:us-east-1:000000000000:training-job/sk-1"
    d = wait_job(sm, "sk-1")
    assert d["TrainingJobStatus"] == "Completed", d.get("FailureReason")
    assert d["SecondaryStatus"] == "Completed"
    statuses = [t["Status"] for t in d["SecondaryStatusTransitions"]]
    assert statuses == ["Starting", "Downloading", "Training", "Uploading", "Completed"]
    assert all("EndTime" in t for t in d["SecondaryStatusTransitions"])
    assert d["TrainingStartTime"] <= d["TrainingEndTime"]
    assert d["BillableTimeInSeconds"] >= 1
    uri = d["ModelArtifacts"]["S3ModelArtifacts"]
    assert uri == f"s3://{BUCKET}/output/sk-1/output/model.tar.gz"

    files = model_files(s3, uri)
    assert set(files) == {"model.joblib", "facts.json"}
    facts = json.loads(files["facts.json"])
    assert facts["SM_CHANNEL_TRAIN"] == "/opt/ml/input/data/train"
    assert json.loads(facts["SM_CHANNELS"]) == ["test", "train"]
    assert json.loads(facts["SM_HPS"]) == {"C": 0.5, "max-iter": 200}
    assert facts["SM_HP_C"] == "0.5"
    assert json.loads(facts["SM_HOSTS"]) == ["algo-1"]
    assert facts["SM_CURRENT_HOST"] == "algo-1" and facts["hostname"] == "algo-1"
    assert facts["SM_NUM_CPUS"] in ("1", "2")
    assert facts["SM_OUTPUT_DATA_DIR"] == "/opt/ml/output/data"
    assert facts["TRAINING_JOB_NAME"] == "sk-1"
    assert facts["cwd"] == "/opt/ml/code"
    assert facts["argv"] == ["--C", "0.5", "--max-iter", "200"]
    assert facts["hyperparameters.json"]["sagemaker_program"] == '"train.py"'
    assert facts["resourceconfig.json"]["current_host"] == "algo-1"
    assert facts["resourceconfig.json"]["hosts"] == ["algo-1"]
    assert facts["inputdataconfig.json"]["train"]["TrainingInputMode"] == "File"
    assert facts["root_writable"] is False, "the sandbox's root must be read-only"
    assert int(facts["capabilities"], 16) == 0, "a job must hold no capability"
    assert facts["data_dir_visible"] is False, "lathe's data directory must be hidden from jobs"

    # The model is a real scikit-learn model.
    import joblib
    import numpy as np
    clf = joblib.load(io.BytesIO(files["model.joblib"]))
    assert clf.predict(np.array([[3.0, 0, 0, 0], [-3.0, 0, 0, 0]])).tolist() == [1, 0]

    # output/data became output.tar.gz beside the model.
    out = model_files(s3, f"s3://{BUCKET}/output/sk-1/output/output.tar.gz")
    assert out["report.txt"].startswith(b"accuracy ")

    # MetricDefinitions: the last value of each metric, read with tabs as '#011'.
    metrics = {m["MetricName"]: m["Value"] for m in d["FinalMetricDataList"]}
    acc = float(out["report.txt"].split()[1])
    assert metrics == {"test:accuracy": pytest.approx(acc, abs=1e-4)}
    points = [json.loads(l) for l in open(os.path.join(server.data_dir, "jobs", "training", "sk-1",
                                                        "metrics.jsonl"))]
    assert [p["Value"] for p in points][:2] == [0.5, 0.7] and len(points) == 3

    # The log stream, through the CloudWatch Logs API the SDK's logs="All" reads.
    text = log_text(server, "sk-1")
    assert "epoch 2\ttest-accuracy:" in text

    summaries = sm.list_training_jobs()["TrainingJobSummaries"]
    assert [(s["TrainingJobName"], s["TrainingJobStatus"]) for s in summaries] == [("sk-1", "Completed")]
    assert sm.list_training_jobs(StatusEquals="InProgress")["TrainingJobSummaries"] == []


def test_failing_script_reports_its_failure_file(env):
    server, sm, s3 = env
    src = put_script(s3, BUCKET, "fail-1", r'''
import sys
open("/opt/ml/output/failure", "w").write("ValueError: column 'price' is missing from train.csv")
print("about to fail")
sys.exit(3)
''')
    sm.create_training_job(**script_job("fail-1", BUCKET, src))
    d = wait_job(sm, "fail-1")
    assert d["TrainingJobStatus"] == "Failed"
    assert d["SecondaryStatus"] == "Failed"
    assert "column 'price' is missing from train.csv" in d["FailureReason"]


def test_crash_without_failure_file_names_exit_code_and_last_lines(env):
    server, sm, s3 = env
    src = put_script(s3, BUCKET, "crash-1", "print('loading data')\nraise RuntimeError('out of cheese')\n")
    sm.create_training_job(**script_job("crash-1", BUCKET, src))
    d = wait_job(sm, "crash-1")
    assert d["TrainingJobStatus"] == "Failed"
    reason = d["FailureReason"]
    assert "exited with code 1" in reason and "out of cheese" in reason, reason


SLOW_SCRIPT = r'''
import os, signal, sys, time
stopping = False
def on_term(sig, frame):
    open(os.path.join(os.environ["SM_MODEL_DIR"], "saved-on-sigterm"), "w").write("yes")
    print("got SIGTERM, saved", flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, on_term)
print("training forever", flush=True)
while True:
    time.sleep(0.05)
'''


def test_stop_sends_sigterm_and_keeps_what_the_script_saved(env):
    server, sm, s3 = env
    src = put_script(s3, BUCKET, "stop-1", SLOW_SCRIPT)
    sm.create_training_job(**script_job("stop-1", BUCKET, src))
    wait_for(lambda: "training forever" in log_text(server, "stop-1"), what="the script to start")
    sm.stop_training_job(TrainingJobName="stop-1")
    assert sm.describe_training_job(TrainingJobName="stop-1")["TrainingJobStatus"] in ("Stopping", "Stopped")
    d = wait_job(sm, "stop-1")
    assert d["TrainingJobStatus"] == "Stopped" and d["SecondaryStatus"] == "Stopped"
    assert "saved-on-sigterm" in model_files(s3, d["ModelArtifacts"]["S3ModelArtifacts"])
    with pytest.raises(ClientError) as e:
        sm.stop_training_job(TrainingJobName="stop-1")
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert "not in progress" in e.value.response["Error"]["Message"]


def test_max_runtime_is_enforced_even_when_sigterm_is_ignored(env):
    server, sm, s3 = env
    src = put_script(s3, BUCKET, "slow-1", r'''
import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("ignoring SIGTERM", flush=True)
time.sleep(600)
''')
    t0 = time.time()
    sm.create_training_job(**script_job("slow-1", BUCKET, src,
                                        StoppingCondition={"MaxRuntimeInSeconds": 1}))
    d = wait_job(sm, "slow-1", timeout=30)
    assert d["TrainingJobStatus"] == "Stopped"
    assert d["SecondaryStatus"] == "MaxRuntimeExceeded"
    # 1 s of runtime + the 2 s grace period, then SIGKILL.
    assert time.time() - t0 < 15
    assert "SIGKILL" in log_text(server, "slow-1")


NET_SCRIPT = r'''
import json, os, socket
port = int(json.loads(os.environ["SM_HPS"])["port"])
try:
    socket.create_connection(("127.0.0.1", port), timeout=2).close()
    result = "reached"
except OSError as e:
    result = "blocked: %s" % e
print(result)
open(os.path.join(os.environ["SM_MODEL_DIR"], "result"), "w").write(result)
'''


def test_network_isolation_cuts_the_job_off(env):
    server, sm, s3 = env
    src = put_script(s3, BUCKET, "net", NET_SCRIPT)
    hp = {"port": str(server.port)}
    sm.create_training_job(**script_job("net-open", BUCKET, src, hyperparameters=hp))
    sm.create_training_job(**script_job("net-closed", BUCKET, src, hyperparameters=hp,
                                        EnableNetworkIsolation=True))
    open_job, closed_job = wait_job(sm, "net-open"), wait_job(sm, "net-closed")
    assert closed_job["EnableNetworkIsolation"] is True
    assert model_files(s3, open_job["ModelArtifacts"]["S3ModelArtifacts"])["result"] == b"reached"
    assert model_files(s3, closed_job["ModelArtifacts"]["S3ModelArtifacts"])["result"].startswith(b"blocked")


TWO_HOSTS = r'''
import json, os, socket, time
env = json.loads(os.environ["SM_TRAINING_ENV"])
me, hosts = env["current_host"], env["hosts"]
assert hosts == ["algo-1", "algo-2"], hosts
if me == "algo-1":
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((socket.gethostbyname("algo-1"), 29500))
    srv.listen(1)
    conn, _ = srv.accept()
    msg = conn.recv(100).decode()
    open(os.path.join(os.environ["SM_MODEL_DIR"], "heard"), "w").write(msg)
else:
    for _ in range(100):
        try:
            s = socket.create_connection(("algo-1", 29500), timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    s.sendall(("hello from " + me).encode())
    s.close()
'''


@pytest.mark.parametrize("isolated", [False, True])
def test_two_hosts_reach_each_other_by_name(env, isolated):
    server, sm, s3 = env
    name = "two-hosts-iso" if isolated else "two-hosts"
    src = put_script(s3, BUCKET, name, TWO_HOSTS)
    req = script_job(name, BUCKET, src, EnableNetworkIsolation=isolated)
    req["ResourceConfig"]["InstanceCount"] = 2
    sm.create_training_job(**req)
    d = wait_job(sm, name)
    assert d["TrainingJobStatus"] == "Completed", d.get("FailureReason")
    assert model_files(s3, d["ModelArtifacts"]["S3ModelArtifacts"])["heard"] == b"hello from algo-2"
    streams = server.client("logs").describe_log_streams(
        logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix=name + "/")["logStreams"]
    assert sorted(s["logStreamName"].split("/")[1].rsplit("-", 1)[0] for s in streams) == ["algo-1", "algo-2"]


SPOT_SCRIPT = r'''
import os, time
ckpt = "/opt/ml/checkpoints/step"
start = int(open(ckpt).read()) if os.path.exists(ckpt) else 0
print("starting at step", start, flush=True)
with open("/opt/ml/checkpoints/starts", "a") as f:
    f.write("%d\n" % start)
for step in range(start, 40):
    time.sleep(0.1)
    with open(ckpt + ".tmp", "w") as f:
        f.write(str(step + 1))
    os.rename(ckpt + ".tmp", ckpt)
    print("step", step + 1, flush=True)
open(os.path.join(os.environ["SM_MODEL_DIR"], "starts"), "w").write(open("/opt/ml/checkpoints/starts").read())
'''


def test_spot_interruption_resumes_from_the_checkpoint(env):
    server, sm, s3 = env
    src = put_script(s3, BUCKET, "spot-1", SPOT_SCRIPT)
    req = script_job("spot-1", BUCKET, src, EnableManagedSpotTraining=True,
                     StoppingCondition={"MaxRuntimeInSeconds": 120, "MaxWaitTimeInSeconds": 300},
                     CheckpointConfig={"S3Uri": f"s3://{BUCKET}/checkpoints/spot-1"})
    sm.create_training_job(**req)
    wait_for(lambda: "step 12\n" in log_text(server, "spot-1") + "\n", what="step 12")
    out = subprocess.run([LATHE_BIN, "admin", "interrupt", "spot-1", "--data-dir", server.data_dir],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    d = wait_job(sm, "spot-1", timeout=60)
    assert d["TrainingJobStatus"] == "Completed", d.get("FailureReason")
    statuses = [t["Status"] for t in d["SecondaryStatusTransitions"]]
    assert statuses[:3] == ["Starting", "Downloading", "Training"]
    assert "Interrupted" in statuses
    assert statuses[statuses.index("Interrupted") + 1:] == [
        "Starting", "Downloading", "Training", "Uploading", "Completed"]
    starts = [int(s) for s in model_files(s3, d["ModelArtifacts"]["S3ModelArtifacts"])["starts"].split()]
    assert starts[0] == 0 and len(starts) == 2 and starts[1] >= 12, starts
    # Checkpoints went to S3 under the URI (no job-name suffix).
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="checkpoints/spot-1/")["Contents"]]
    assert "checkpoints/spot-1/step" in keys
    assert d["BillableTimeInSeconds"] <= d["TrainingTimeInSeconds"]


PIPE_SCRIPT = r'''
import hashlib, json, os
fifo = "/opt/ml/input/data/train_0"
assert os.path.exists(fifo) and not os.path.isfile(fifo)
result = {}
for epoch in range(2):
    h, n = hashlib.sha256(), 0
    with open("/opt/ml/input/data/train_%d" % epoch, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
            n += len(b)
    result[epoch] = [n, h.hexdigest()]
json.dump(result, open(os.path.join(os.environ["SM_MODEL_DIR"], "pipe.json"), "w"))
'''


def test_pipe_mode_streams_a_200_mb_channel_each_epoch(env):
    server, sm, s3 = env
    import hashlib
    h = hashlib.sha256()
    total = 0
    for i in range(4):
        body = os.urandom(1 << 20) * 50  # 50 MiB per object
        s3.put_object(Bucket=BUCKET, Key=f"big/part-{i}", Body=body)
        h.update(body)
        total += len(body)
    src = put_script(s3, BUCKET, "pipe-1", PIPE_SCRIPT)
    req = script_job("pipe-1", BUCKET, src, channels={"train": f"s3://{BUCKET}/big/"})
    req["AlgorithmSpecification"]["TrainingInputMode"] = "Pipe"
    sm.create_training_job(**req)
    d = wait_job(sm, "pipe-1", timeout=120)
    assert d["TrainingJobStatus"] == "Completed", d.get("FailureReason")
    got = json.loads(model_files(s3, d["ModelArtifacts"]["S3ModelArtifacts"])["pipe.json"])
    assert got == {"0": [total, h.hexdigest()], "1": [total, h.hexdigest()]}
    assert total == 200 << 20


def test_job_survives_kill_9_of_the_server(tmp_path):
    srv = Server(tmp_path / "data").start()
    sm, s3 = srv.client("sagemaker"), srv.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    src = put_script(s3, BUCKET, "k9", r'''
import os, time
print("working", flush=True)
time.sleep(2)
open(os.path.join(os.environ["SM_MODEL_DIR"], "done"), "w").write("ok")
''')
    sm.create_training_job(**script_job("survivor", BUCKET, src))
    sm.create_training_job(**script_job("orphan", BUCKET, src))
    sm.create_training_job(**script_job("retried", BUCKET, src,
                                        RetryStrategy={"MaximumRetryAttempts": 1}))
    wait_for(lambda: all("working" in log_text(srv, j) for j in ("survivor", "orphan", "retried")),
             what="the jobs to run")
    srv.proc.send_signal(signal.SIGKILL)
    srv.proc.wait()
    # The orphan's runner dies too (as if its machine had rebooted); the survivor's goes on.
    for job in ("orphan", "retried"):
        pid = json.load(open(os.path.join(srv.data_dir, "jobs", "training", job, "runner.json")))["pid"]
        os.killpg(os.getpgid(pid), signal.SIGKILL)
    time.sleep(0.3)

    srv2 = Server(tmp_path / "data", port=srv.port).start()
    try:
        sm = srv2.client("sagemaker")
        d = wait_job(sm, "survivor", timeout=30)
        assert d["TrainingJobStatus"] == "Completed", d.get("FailureReason")
        assert d["ModelArtifacts"]["S3ModelArtifacts"].endswith("/survivor/output/model.tar.gz")
        d = wait_job(sm, "orphan", timeout=30)
        assert d["TrainingJobStatus"] == "Failed"
        assert d["FailureReason"].startswith("InternalServerError")
        # With a RetryStrategy the job starts again instead, and completes.
        d = wait_job(sm, "retried", timeout=30)
        assert d["TrainingJobStatus"] == "Completed", d.get("FailureReason")
        statuses = [t["Status"] for t in d["SecondaryStatusTransitions"]]
        assert statuses[statuses.index("Restarting"):] == [
            "Restarting", "Starting", "Downloading", "Training", "Uploading", "Completed"], statuses
        # Nothing is left InProgress.
        assert sm.list_training_jobs(StatusEquals="InProgress")["TrainingJobSummaries"] == []
    finally:
        assert srv2.stop() == 0
        assert_clean_log(srv2)


def expect_error(call, code, *needles):
    with pytest.raises(ClientError) as e:
        call()
    err = e.value.response["Error"]
    assert err["Code"] == code, err
    for n in needles:
        assert n in err["Message"], err["Message"]
    return err["Message"]


def test_bad_requests_get_clear_errors(env):
    server, sm, s3 = env
    s3.put_object(Bucket=BUCKET, Key="data/x.csv", Body=b"1,2\n")
    src = put_script(s3, BUCKET, "bad", "print('hi')\n")
    base = dict(channels={"train": f"s3://{BUCKET}/data/"})
    # A channel with nothing under its prefix.
    expect_error(lambda: sm.create_training_job(**script_job(
        "bad-1", BUCKET, src, channels={"train": f"s3://{BUCKET}/nothing-here/"})),
        "ValidationException", "no S3 objects found", "nothing-here")
    # An image nobody pushed.
    req = script_job("bad-2", BUCKET, src, **base)
    req["AlgorithmSpecification"]["TrainingImage"] = "123456789012.dkr.ecr.us-east-1.amazonaws.com/no/such:v9"
    expect_error(lambda: sm.create_training_job(**req), "ValidationException",
                 "no image 'no/such:v9'", "lathe image push")
    # A malformed S3 URI.
    expect_error(lambda: sm.create_training_job(**script_job(
        "bad-3", BUCKET, src, OutputDataConfig={"S3OutputPath": "s3://"})),
        "ValidationException", "s3OutputPath")
    # A hyperparameter value over the service's 2500-character limit.
    expect_error(lambda: sm.create_training_job(**script_job(
        "bad-4", BUCKET, src, hyperparameters={"blob": "x" * 2501}, **base)), "ValidationException")
    # Script mode without a program.
    req = script_job("bad-5", BUCKET, src, **base)
    del req["HyperParameters"]["sagemaker_program"]
    expect_error(lambda: sm.create_training_job(**req), "ValidationException", "sagemaker_program")
    # A built-in algorithm's hyperparameters are checked at Create.
    req = script_job("bad-6", BUCKET, src, **base)
    req["AlgorithmSpecification"] = {"AlgorithmName": "kmeans", "TrainingInputMode": "File"}
    req["HyperParameters"] = {"k": "0", "feature_dim": "1"}
    expect_error(lambda: sm.create_training_job(**req), "ValidationException", "kmeans", "k")
    # Spot without a wait time.
    expect_error(lambda: sm.create_training_job(**script_job(
        "bad-7", BUCKET, src, EnableManagedSpotTraining=True, **base)),
        "ValidationException", "MaxWaitTimeInSeconds")
    # A checkpoint directory outside /opt/ml, and more hosts than one machine runs.
    expect_error(lambda: sm.create_training_job(**script_job(
        "bad-8", BUCKET, src, CheckpointConfig={"S3Uri": f"s3://{BUCKET}/ck", "LocalPath": "/tmp/ck"},
        **base)), "ValidationException", "LocalPath")
    req = script_job("bad-9", BUCKET, src, **base)
    req["ResourceConfig"]["InstanceCount"] = 65
    expect_error(lambda: sm.create_training_job(**req), "ResourceLimitExceeded", "InstanceCount")
    # None of them was stored; a good one is, once.
    assert sm.list_training_jobs()["TrainingJobSummaries"] == []
    sm.create_training_job(**script_job("good", BUCKET, src, **base))
    expect_error(lambda: sm.create_training_job(**script_job("good", BUCKET, src, **base)),
                 "ResourceInUse", "good")
    expect_error(lambda: sm.describe_training_job(TrainingJobName="never"), "ValidationException",
                 "never")
    assert wait_job(sm, "good")["TrainingJobStatus"] == "Completed"


def test_builtin_algorithm_by_name_and_by_image_uri(env):
    server, sm, s3 = env
    import numpy as np
    rng = np.random.default_rng(1)
    centers = np.array([[0, 0], [10, 10], [-10, 10]])
    pts = np.vstack([c + rng.normal(size=(100, 2)) for c in centers])
    s3.put_object(Bucket=BUCKET, Key="km/train.csv",
                  Body="\n".join(f"{a:.5f},{b:.5f}" for a, b in pts).encode())
    for name, spec in (("km-name", {"AlgorithmName": "kmeans"}),
                       ("km-uri", {"TrainingImage": "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"})):
        spec["TrainingInputMode"] = "File"
        sm.create_training_job(
            TrainingJobName=name, AlgorithmSpecification=spec, RoleArn=ROLE,
            HyperParameters={"k": "3", "feature_dim": "2", "init_method": "kmeans++"},
            InputDataConfig=[{"ChannelName": "train", "ContentType": "text/csv;label_size=0",
                              "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                              "S3Uri": f"s3://{BUCKET}/km/"}}}],
            OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/km-out"},
            ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
            StoppingCondition={"MaxRuntimeInSeconds": 300})
    for name in ("km-name", "km-uri"):
        d = wait_job(sm, name)
        assert d["TrainingJobStatus"] == "Completed", d.get("FailureReason")
        files = model_files(s3, d["ModelArtifacts"]["S3ModelArtifacts"])
        assert files, "the model directory was empty"
        metrics = {m["MetricName"]: m["Value"] for m in d["FinalMetricDataList"]}
        # The last value the algorithm logged, read by the built-in metric definitions.
        logged = [float(l.rsplit("=", 1)[1]) for l in log_text(server, name).splitlines()
                  if "train msd <loss>=" in l]
        assert logged and metrics == {"train:msd": pytest.approx(logged[-1])}, metrics


def test_linear_learner_reports_validation_metrics(env):
    server, sm, s3 = env
    import numpy as np
    rng = np.random.default_rng(2)
    x = rng.normal(size=(600, 3))
    y = (x[:, 0] - 2 * x[:, 1] + 0.3 * rng.normal(size=600) > 0).astype(int)
    for key, rows in (("ll/train/d.csv", slice(0, 400)), ("ll/val/d.csv", slice(400, 600))):
        s3.put_object(Bucket=BUCKET, Key=key, Body="\n".join(
            f"{l},{a:.5f},{b:.5f},{c:.5f}" for l, (a, b, c) in zip(y[rows], x[rows])).encode())
    channels = [{"ChannelName": ch, "ContentType": "text/csv",
                 "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                 "S3Uri": f"s3://{BUCKET}/ll/{d}/"}}}
                for ch, d in (("train", "train"), ("validation", "val"))]
    sm.create_training_job(
        TrainingJobName="ll-1",
        AlgorithmSpecification={"TrainingImage": "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1",
                                "TrainingInputMode": "File"},
        RoleArn=ROLE, InputDataConfig=channels,
        HyperParameters={"predictor_type": "binary_classifier", "feature_dim": "3",
                         "mini_batch_size": "50",
                         "binary_classifier_model_selection_criteria": "f_beta"},
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/ll-out"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        StoppingCondition={"MaxRuntimeInSeconds": 300})
    d = wait_job(sm, "ll-1")
    assert d["TrainingJobStatus"] == "Completed", d.get("FailureReason")
    files = model_files(s3, d["ModelArtifacts"]["S3ModelArtifacts"])
    model = json.loads(next(v for k, v in files.items() if k.endswith("linear_model.json")))
    assert model["predictor_type"] == "binary_classifier" and len(model["weights"][0]) == 3
    metrics = {m["MetricName"]: m["Value"] for m in d["FinalMetricDataList"]}
    assert metrics["validation:binary_classification_accuracy"] > 0.85, metrics
    assert 0 < metrics["validation:binary_f_beta"] <= 1 and "validation:objective_loss" in metrics
    assert "train:objective_loss" in metrics
    log = log_text(server, "ll-1")
    assert "validation binary_f_beta <loss>=" in log


def test_builtin_algorithms_score_a_test_channel(env):
    """SageMaker's test channel: k-means and Linear Learner score it once with the final
    model; the test:* values reach FinalMetricDataList and the log carries SageMaker's
    #test_score lines."""
    server, sm, s3 = env
    import numpy as np
    rng = np.random.default_rng(3)
    centers = np.array([[0, 0], [10, 10], [-10, 10]])
    pts = np.vstack([c + rng.normal(size=(150, 2)) for c in centers])
    rng.shuffle(pts)
    s3.put_object(Bucket=BUCKET, Key="kt/train/d.csv",
                  Body="\n".join(f"{a:.5f},{b:.5f}" for a, b in pts[:300]).encode())
    s3.put_object(Bucket=BUCKET, Key="kt/test/d.csv",
                  Body="\n".join(f"{a:.5f},{b:.5f}" for a, b in pts[300:]).encode())
    x = rng.normal(size=(600, 3))
    y = (x[:, 0] - 2 * x[:, 1] + 0.3 * rng.normal(size=600) > 0).astype(int)
    for key, rows in (("lt/train/d.csv", slice(0, 300)), ("lt/val/d.csv", slice(300, 450)),
                      ("lt/test/d.csv", slice(450, 600))):
        s3.put_object(Bucket=BUCKET, Key=key, Body="\n".join(
            f"{l},{a:.5f},{b:.5f},{c:.5f}" for l, (a, b, c) in zip(y[rows], x[rows])).encode())

    def channels(prefix, names, content_type):
        return [{"ChannelName": ch, "ContentType": content_type,
                 "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                 "S3Uri": f"s3://{BUCKET}/{prefix}/{d}/"}}}
                for ch, d in names]

    common = dict(RoleArn=ROLE, OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/t-out"},
                  ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
                  StoppingCondition={"MaxRuntimeInSeconds": 300})
    sm.create_training_job(
        TrainingJobName="km-test", AlgorithmSpecification={"AlgorithmName": "kmeans", "TrainingInputMode": "File"},
        HyperParameters={"k": "3", "feature_dim": "2", "eval_metrics": '["msd","ssd"]'},
        InputDataConfig=channels("kt", (("train", "train"), ("test", "test")), "text/csv;label_size=0"),
        **common)
    sm.create_training_job(
        TrainingJobName="ll-test",
        AlgorithmSpecification={"TrainingImage": "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1",
                                "TrainingInputMode": "File"},
        HyperParameters={"predictor_type": "binary_classifier", "feature_dim": "3", "mini_batch_size": "50"},
        InputDataConfig=channels("lt", (("train", "train"), ("validation", "val"), ("test", "test")), "text/csv"),
        **common)

    d = wait_job(sm, "km-test")
    assert d["TrainingJobStatus"] == "Completed", d.get("FailureReason")
    files = model_files(s3, d["ModelArtifacts"]["S3ModelArtifacts"])
    c = np.array(json.loads(next(v for k, v in files.items() if k.endswith("kmeans_model.json")))["centers"])
    test = pts[300:].round(5)
    ssd = float(((test[:, None, :] - c[None, :, :]) ** 2).sum(2).min(1).sum())
    metrics = {m["MetricName"]: m["Value"] for m in d["FinalMetricDataList"]}
    assert metrics["test:ssd"] == pytest.approx(ssd, rel=1e-4), metrics
    assert metrics["test:msd"] == pytest.approx(ssd / len(test), rel=1e-4), metrics
    assert metrics["test:msd"] < 3, metrics  # three unit-variance blobs in 2-D: about 2
    log = log_text(server, "km-test")
    assert "#test_score (algo-1) : ('msd', " in log and "#test_score (algo-1) : ('ssd', " in log
    assert "shrinking 30 centers into 3" in log

    d = wait_job(sm, "ll-test")
    assert d["TrainingJobStatus"] == "Completed", d.get("FailureReason")
    metrics = {m["MetricName"]: m["Value"] for m in d["FinalMetricDataList"]}
    for name in ("test:objective_loss", "test:binary_classification_accuracy", "test:binary_f_beta",
                 "test:precision", "test:recall", "test:roc_auc_score",
                 "validation:binary_classification_accuracy"):
        assert name in metrics, (name, metrics)
    assert metrics["test:binary_classification_accuracy"] > 0.85, metrics
    assert metrics["test:roc_auc_score"] > 0.9, metrics
    log = log_text(server, "ll-test")
    assert "#test_score (algo-1) : ('binary_f_1.000', " in log
    assert "#test_score (algo-1) : ('binary_classification_cross_entropy_objective', " in log


def test_pushed_directory_image_runs_its_train_program(env, tmp_path):
    server, sm, s3 = env
    img = tmp_path / "img"
    img.mkdir()
    (img / "train").write_text("#!/bin/sh\necho \"trained by $0 with $(cat /opt/ml/input/config/hyperparameters.json)\"\n"
                               "cp /opt/ml/input/config/hyperparameters.json /opt/ml/model/hp.json\n")
    (img / "train").chmod(0o755)
    out = subprocess.run([LATHE_BIN, "image", "push", "team/trainer:v1", str(img),
                          "--data-dir", server.data_dir], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "sha256:" in out.stdout
    listing = subprocess.run([LATHE_BIN, "image", "list", "--data-dir", server.data_dir],
                             capture_output=True, text=True).stdout
    assert "team/trainer:v1" in listing
    sm.create_training_job(
        TrainingJobName="byo-1",
        AlgorithmSpecification={"TrainingImage": "999999999999.dkr.ecr.eu-west-1.amazonaws.com/team/trainer:v1",
                                "TrainingInputMode": "File"},
        RoleArn=ROLE, HyperParameters={"lr": "0.1"},
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/byo"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        StoppingCondition={"MaxRuntimeInSeconds": 60})
    d = wait_job(sm, "byo-1")
    assert d["TrainingJobStatus"] == "Completed", d.get("FailureReason")
    assert json.loads(model_files(s3, d["ModelArtifacts"]["S3ModelArtifacts"])["hp.json"]) == {"lr": "0.1"}
    assert "trained by /opt/program/train" in log_text(server, "byo-1")


SHARD_SCRIPT = r'''
import json, os
out = {}
for ch in ("manifest", "sharded", "fast"):
    d = "/opt/ml/input/data/" + ch
    files = []
    for root, _, names in os.walk(d):
        files += [os.path.relpath(os.path.join(root, n), d) for n in names]
    out[ch] = sorted(files)
with open("/opt/ml/input/data/rec_0", "rb") as f:
    out["recordio"] = f.read().hex()
with open("/opt/ml/input/data/gz_0", "rb") as f:
    out["gzip"] = f.read().decode()
json.dump(out, open("/opt/ml/model/%s.json" % os.environ["SM_CURRENT_HOST"], "w"))
'''


def test_manifest_sharding_fastfile_recordio_and_gzip_channels(env):
    server, sm, s3 = env
    for i in range(4):
        s3.put_object(Bucket=BUCKET, Key=f"shards/part-{i}.csv", Body=b"%d\n" % i)
    s3.put_object(Bucket=BUCKET, Key="pool/x/one.csv", Body=b"1\n")
    s3.put_object(Bucket=BUCKET, Key="pool/y/two.csv", Body=b"2\n")
    s3.put_object(Bucket=BUCKET, Key="pool/unlisted.csv", Body=b"3\n")
    s3.put_object(Bucket=BUCKET, Key="lists/m.json", Body=json.dumps(
        [{"prefix": f"s3://{BUCKET}/pool/"}, "x/one.csv", "y/two.csv"]).encode())
    s3.put_object(Bucket=BUCKET, Key="rec/a", Body=b"abcde")
    import gzip
    s3.put_object(Bucket=BUCKET, Key="gz/1.csv.gz", Body=gzip.compress(b"1,2\n"))
    s3.put_object(Bucket=BUCKET, Key="gz/2.csv.gz", Body=gzip.compress(b"3,4\n") + gzip.compress(b"5,6\n"))
    src = put_script(s3, BUCKET, "chan", SHARD_SCRIPT)

    def channel(name, uri, **kw):
        s3src = {"S3DataType": kw.pop("data_type", "S3Prefix"), "S3Uri": uri,
                 "S3DataDistributionType": kw.pop("dist", "FullyReplicated")}
        return dict({"ChannelName": name, "DataSource": {"S3DataSource": s3src}}, **kw)

    req = script_job("chan-1", BUCKET, src)
    req["ResourceConfig"]["InstanceCount"] = 2
    req["InputDataConfig"] = [
        channel("manifest", f"s3://{BUCKET}/lists/m.json", data_type="ManifestFile"),
        channel("sharded", f"s3://{BUCKET}/shards/", dist="ShardedByS3Key"),
        channel("fast", f"s3://{BUCKET}/shards/", InputMode="FastFile"),
        channel("rec", f"s3://{BUCKET}/rec/", InputMode="Pipe", RecordWrapperType="RecordIO"),
        channel("gz", f"s3://{BUCKET}/gz/", InputMode="Pipe", CompressionType="Gzip"),
    ]
    sm.create_training_job(**req)
    d = wait_job(sm, "chan-1")
    assert d["TrainingJobStatus"] == "Completed", d.get("FailureReason")
    # Only algo-1's model is packed; it saw half of the sharded objects.
    host1 = json.loads(model_files(s3, d["ModelArtifacts"]["S3ModelArtifacts"])["algo-1.json"])
    assert host1["manifest"] == ["x/one.csv", "y/two.csv"]
    assert host1["sharded"] == ["part-0.csv", "part-2.csv"]
    assert host1["fast"] == ["part-0.csv", "part-1.csv", "part-2.csv", "part-3.csv"]
    # RecordIO: magic 0xced7230a, length 5 (little-endian), the bytes, padding to 4.
    assert host1["recordio"] == "0a23d7ce05000000" + b"abcde".hex() + "000000"
    # Gzip objects (one of them two gzip members) arrive inflated.
    assert host1["gzip"] == "1,2\n3,4\n5,6\n"


def test_memory_and_cpu_limits_of_the_instance_type(env):
    server, sm, s3 = env
    # The job reads the limits of the cgroup it runs in (v1 or v2), and its niceness: jobs
    # run below the server's CPU priority (nice 10), so that endpoints keep answering.
    src = put_script(s3, BUCKET, "mem", r'''
import json, os
found = {"nice": os.nice(0)}
for line in open("/proc/self/cgroup"):
    _, controllers, path = line.strip().split(":", 2)
    for c in controllers.split(",") if controllers else ["unified"]:
        base = "/sys/fs/cgroup/%s%s" % ("" if c == "unified" else c, path)
        if c == "unified":
            base = "/sys/fs/cgroup" + path
        for f in ("memory.limit_in_bytes", "memory.max", "cpu.cfs_quota_us", "cpu.max"):
            p = os.path.join(base, f)
            if os.path.exists(p):
                found[f] = open(p).read().strip()
json.dump(found, open("/opt/ml/model/limits.json", "w"))
''')
    req = script_job("mem-1", BUCKET, src)
    req["ResourceConfig"]["InstanceType"] = "ml.c4.xlarge"  # 4 vCPU, 7 GiB in lathe's table
    sm.create_training_job(**req)
    d = wait_job(sm, "mem-1")
    assert d["TrainingJobStatus"] == "Completed", d.get("FailureReason")
    limits = json.loads(model_files(s3, d["ModelArtifacts"]["S3ModelArtifacts"])["limits.json"])
    assert limits["nice"] == 10 and os.nice(0) < 10, limits
    text = log_text(server, "mem-1")
    if "no CPU or memory limit" in text:
        # This machine lets no process make cgroups; the job's log says so.
        return
    limits = json.loads(model_files(s3, d["ModelArtifacts"]["S3ModelArtifacts"])["limits.json"])
    memory = limits.get("memory.limit_in_bytes") or limits.get("memory.max")
    assert memory == str(7 << 30), limits
    cpu = limits.get("cpu.cfs_quota_us") or limits.get("cpu.max", "").split()[0]
    assert cpu == "400000", limits
