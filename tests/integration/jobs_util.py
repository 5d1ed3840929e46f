"""Helpers shared by the job, endpoint and transform tests: script-mode source tarballs,
job requests as the SageMaker SDK builds them, a python3-xgboost model as SageMaker's
container stores it, and waiting for a job to end."""
import io
import tarfile
import time

ROLE = "arn:aws:iam::000000000000:role/lathe-test"
SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"


def tarball(files):
    """A gzip tarball of {name: text or bytes}, as the SDK uploads sourcedir.tar.gz."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, content in files.items():
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def python_xgboost_model(tmp_path):
    """A 20-round binary:logistic booster trained by python3-xgboost on scikit-learn's breast
    cancer set, and its model.tar.gz as SageMaker's XGBoost container writes it (its own JSON
    format as `xgboost-model`). Returns (booster, x, model_tar_bytes)."""
    import xgboost as xgb
    from sklearn.datasets import load_breast_cancer
    data = load_breast_cancer()
    x, y = data.data, data.target
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 4, "eta": 0.3,
                         "tree_method": "hist", "nthread": 1}, xgb.DMatrix(x, label=y),
                        num_boost_round=20)
    path = tmp_path / "xgboost-model.json"
    booster.save_model(str(path))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(path, arcname="xgboost-model")
    return booster, x, buf.getvalue()


def put_script(s3, bucket, job, script, extra=None):
    """Uploads train.py (and extra files) where the SDK would; returns the S3 URI."""
    files = {"train.py": script}
    files.update(extra or {})
    key = f"{job}/source/sourcedir.tar.gz"
    s3.put_object(Bucket=bucket, Key=key, Body=tarball(files))
    return f"s3://{bucket}/{key}"


def script_job(name, bucket, source_uri, channels=None, hyperparameters=None, **overrides):
    """A CreateTrainingJob request for a script-mode (framework estimator) job."""
    hps = {"sagemaker_program": '"train.py"', "sagemaker_submit_directory": f'"{source_uri}"',
           "sagemaker_region": '"us-east-1"'}
    hps.update(hyperparameters or {})
    req = {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": SKLEARN_IMAGE, "TrainingInputMode": "File"},
        "HyperParameters": hps,
        "RoleArn": ROLE,
        "InputDataConfig": [
            {"ChannelName": ch, "DataSource": {"S3DataSource": {
                "S3DataType": "S3Prefix", "S3Uri": uri, "S3DataDistributionType": "FullyReplicated"}}}
            for ch, uri in (channels or {}).items()],
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/output"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
        "StoppingCondition": {"MaxRuntimeInSeconds": 300},
    }
    req.update(overrides)
    if not req["InputDataConfig"]:
        del req["InputDataConfig"]
    return req


def wait_job(sm, name, timeout=120, kind="training"):
    describe = sm.describe_training_job if kind == "training" else sm.describe_processing_job
    member = "TrainingJobStatus" if kind == "training" else "ProcessingJobStatus"
    arg = "TrainingJobName" if kind == "training" else "ProcessingJobName"
    deadline = time.time() + timeout
    while time.time() < deadline:
        d = describe(**{arg: name})
        if d[member] not in ("InProgress", "Stopping"):
            return d
        time.sleep(0.1)
    raise AssertionError(f"{kind} job {name} still {d[member]} after {timeout}s: {d}")


def wait_for(predicate, timeout=60, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def log_text(server, name, group="/aws/sagemaker/TrainingJobs"):
    logs = server.client("logs")
    try:
        streams = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=name + "/")
    except logs.exceptions.ResourceNotFoundException:
        return ""  # no job has logged yet
    out = []
    for s in streams["logStreams"]:
        token = None
        while True:
            kw = {"logGroupName": group, "logStreamName": s["logStreamName"], "startFromHead": True}
            if token:
                kw["nextToken"] = token
            page = logs.get_log_events(**kw)
            out.extend(e["message"] for e in page["events"])
            if page.get("nextForwardToken") in (None, token):
                break
            token = page["nextForwardToken"]
    return "\n".join(out)
