"""Hyper-parameter tuning jobs through boto3: real training jobs launched by the tuning
runner, with each strategy's bookkeeping, completion criteria, Stop and restarts."""
import copy
import json
import os
import signal
import time

import pytest
from botocore.exceptions import ClientError

from conftest import Server, assert_clean_log
from jobs_util import ROLE, SKLEARN_IMAGE, put_script, wait_for

os.environ["LATHE_STOP_GRACE_SECONDS"] = "2"
BUCKET = "lathe-tuning"

# A quadratic bowl with its minimum at x = 0.3, layers = 3, optimizer = adam.
SCRIPT = r'''
import argparse, time
p = argparse.ArgumentParser()
p.add_argument("--x", type=float)
p.add_argument("--layers", type=int)
p.add_argument("--optimizer")
p.add_argument("--sleep", type=float, default=0)
p.add_argument("--sleep-per-loss", type=float, default=0)
p.add_argument("--offset", type=float, default=0)
p.add_argument("--epochs", type=int, default=3)
a = p.parse_args()
loss = (a.x - 0.3) ** 2 + 0.1 * (a.layers - 3) ** 2 + (0 if a.optimizer == "adam" else 0.5) + a.offset
for step in range(a.epochs):
    time.sleep(a.sleep + a.sleep_per_loss * loss)
    print("step %d loss=%.6f" % (step, loss + (a.epochs - 1 - step) * 0.01), flush=True)
'''

RANGES = {
    "ContinuousParameterRanges": [{"Name": "x", "MinValue": "0", "MaxValue": "1"}],
    "IntegerParameterRanges": [{"Name": "layers", "MinValue": "1", "MaxValue": "6"}],
    "CategoricalParameterRanges": [{"Name": "optimizer", "Values": ["adam", "sgd"]}],
}


def tuning_request(name, src, strategy="Bayesian", max_jobs=6, parallel=2, **config_extra):
    config = {"Strategy": strategy,
              "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "loss"},
              "ResourceLimits": {"MaxNumberOfTrainingJobs": max_jobs, "MaxParallelTrainingJobs": parallel},
              "ParameterRanges": copy.deepcopy(RANGES)}
    config.update(config_extra)
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": config,
        "TrainingJobDefinition": {
            "AlgorithmSpecification": {"TrainingImage": SKLEARN_IMAGE, "TrainingInputMode": "File",
                                       "MetricDefinitions": [{"Name": "loss", "Regex": r"loss=(\S+)"}]},
            "StaticHyperParameters": {"sagemaker_program": '"train.py"',
                                      "sagemaker_submit_directory": f'"{src}"'},
            "RoleArn": ROLE,
            "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/out"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
            "StoppingCondition": {"MaxRuntimeInSeconds": 120},
        },
    }


def wait_tuning(sm, name, timeout=120, watch=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        d = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
        if watch:
            watch(d)
        if d["HyperParameterTuningJobStatus"] not in ("InProgress", "Stopping"):
            return d
        time.sleep(0.2)
    raise AssertionError(f"tuning job {name} did not end: {d}")


@pytest.fixture
def env(server):
    s3 = server.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    src = put_script(s3, BUCKET, "tune", SCRIPT)
    return server, server.client("sagemaker"), s3, src


def test_bayesian_tuning_runs_real_jobs_within_its_limits(env):
    server, sm, s3, src = env
    sm.create_hyper_parameter_tuning_job(**tuning_request("bayes", src, max_jobs=6, parallel=2))
    peak = {"running": 0}

    def watch(d):
        running = sum(1 for j in sm.list_training_jobs(StatusEquals="InProgress")["TrainingJobSummaries"])
        peak["running"] = max(peak["running"], running)
    d = wait_tuning(sm, "bayes", watch=watch)
    assert d["HyperParameterTuningJobStatus"] == "Completed", d.get("FailureReason")
    assert peak["running"] <= 2
    counters = d["TrainingJobStatusCounters"]
    assert counters["Completed"] == 6 and counters["InProgress"] == 0
    assert d["ObjectiveStatusCounters"]["Succeeded"] == 6
    assert d["TrainingJobDefinition"]["StaticHyperParameters"]["_tuning_objective_metric"] == "loss"
    trials = sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="bayes", SortBy="FinalObjectiveMetricValue",
        SortOrder="Ascending", MaxResults=100)["TrainingJobSummaries"]
    assert len(trials) == 6
    values = [t["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for t in trials]
    assert values == sorted(values)
    best = d["BestTrainingJob"]
    assert best["TrainingJobName"] == trials[0]["TrainingJobName"]
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == pytest.approx(values[0])
    assert set(best["TunedHyperParameters"]) == {"x", "layers", "optimizer"}
    # The objective is the final value: the last "loss=" line of the job.
    job = sm.describe_training_job(TrainingJobName=best["TrainingJobName"])
    assert job["TuningJobArn"] == d["HyperParameterTuningJobArn"]
    hp = best["TunedHyperParameters"]
    expect = (float(hp["x"]) - 0.3) ** 2 + 0.1 * (int(hp["layers"]) - 3) ** 2 + (0 if hp["optimizer"] == "adam" else 0.5)
    assert values[0] == pytest.approx(expect, abs=1e-5)
    assert all(t["TrainingJobName"].startswith("bayes-") for t in trials)
    summaries = sm.list_hyper_parameter_tuning_jobs()["HyperParameterTuningJobSummaries"]
    assert [(s["HyperParameterTuningJobName"], s["Strategy"]) for s in summaries] == [("bayes", "Bayesian")]


def test_grid_enumerates_and_a_target_value_ends_early(env):
    server, sm, s3, src = env
    req = tuning_request("grid", src, strategy="Grid", max_jobs=None, parallel=2)
    req["HyperParameterTuningJobConfig"]["ParameterRanges"] = {
        "CategoricalParameterRanges": [{"Name": "optimizer", "Values": ["adam", "sgd"]},
                                       {"Name": "layers", "Values": ["2", "3"]},
                                       {"Name": "x", "Values": ["0.3"]}]}
    del req["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxNumberOfTrainingJobs"]
    sm.create_hyper_parameter_tuning_job(**req)
    d = wait_tuning(sm, "grid")
    assert d["HyperParameterTuningJobStatus"] == "Completed", d.get("FailureReason")
    trials = sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="grid", MaxResults=100)["TrainingJobSummaries"]
    combos = sorted((t["TunedHyperParameters"]["optimizer"], t["TunedHyperParameters"]["layers"]) for t in trials)
    assert combos == [("adam", "2"), ("adam", "3"), ("sgd", "2"), ("sgd", "3")]

    req = tuning_request("target", src, strategy="Random", max_jobs=30, parallel=1,
                         TuningJobCompletionCriteria={"TargetObjectiveMetricValue": 0.6})
    sm.create_hyper_parameter_tuning_job(**req)
    d = wait_tuning(sm, "target")
    assert d["HyperParameterTuningJobStatus"] == "Completed"
    assert d["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] <= 0.6
    assert d["TrainingJobStatusCounters"]["Completed"] < 30


def test_stop_and_bad_requests(env):
    server, sm, s3, src = env
    req = tuning_request("slow", src, strategy="Random", max_jobs=20, parallel=2)
    req["TrainingJobDefinition"]["StaticHyperParameters"]["sleep"] = "5"
    sm.create_hyper_parameter_tuning_job(**req)
    wait_for(lambda: sm.list_training_jobs(StatusEquals="InProgress")["TrainingJobSummaries"],
             what="a trial to run")
    sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName="slow")
    d = wait_tuning(sm, "slow", timeout=60)
    assert d["HyperParameterTuningJobStatus"] == "Stopped"
    assert d["TrainingJobStatusCounters"]["InProgress"] == 0
    assert d["TrainingJobStatusCounters"]["Stopped"] >= 1

    def error(request):
        with pytest.raises(ClientError) as e:
            sm.create_hyper_parameter_tuning_job(**request)
        return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]
    bad = tuning_request("bad1", src)
    bad["HyperParameterTuningJobConfig"]["ParameterRanges"]["ContinuousParameterRanges"][0]["MinValue"] = "2"
    code, msg = error(bad)
    assert code == "ValidationException" and "greater than" in msg and "x" in msg
    bad = tuning_request("bad2", src)
    bad["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]["MetricName"] = "accuracy"
    code, msg = error(bad)
    assert code == "ValidationException" and "'accuracy'" in msg and "loss" in msg
    bad = tuning_request("bad3", src, strategy="Hyperband", TrainingJobEarlyStoppingType="Auto")
    code, msg = error(bad)
    assert code == "ValidationException" and "Hyperband" in msg
    with pytest.raises(ClientError) as e:
        sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="nope")
    assert e.value.response["Error"]["Code"] == "ResourceNotFound"


def start_slow_tuning(srv, name):
    """A 5-trial Bayesian tuning job, one trial at a time, each trial sleeping 0.3 s; returns
    once two trials have finished (the runner is mid-job) and the runner's pid."""
    s3, sm = srv.client("s3"), srv.client("sagemaker")
    s3.create_bucket(Bucket=BUCKET)
    src = put_script(s3, BUCKET, "tune", SCRIPT)
    req = tuning_request(name, src, strategy="Bayesian", max_jobs=5, parallel=1)
    req["TrainingJobDefinition"]["StaticHyperParameters"]["sleep"] = "0.3"
    sm.create_hyper_parameter_tuning_job(**req)
    wait_for(lambda: sm.describe_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name)["TrainingJobStatusCounters"]["Completed"] >= 2,
        timeout=60, what="two finished trials")
    return json.load(open(os.path.join(srv.data_dir, "jobs", "tuning", name, "runner.json")))["pid"]


def test_tuning_carries_on_after_its_runner_dies(tmp_path):
    srv = Server(tmp_path / "data").start()
    try:
        sm = srv.client("sagemaker")
        pid = start_slow_tuning(srv, "phoenix")
        os.kill(pid, signal.SIGKILL)
        d = wait_tuning(sm, "phoenix", timeout=120)
        assert d["HyperParameterTuningJobStatus"] == "Completed", d.get("FailureReason")
        trials = sm.list_training_jobs_for_hyper_parameter_tuning_job(
            HyperParameterTuningJobName="phoenix", MaxResults=100)["TrainingJobSummaries"]
        assert len(trials) == 5
        assert d["TrainingJobStatusCounters"]["Completed"] + d["TrainingJobStatusCounters"]["Stopped"] + \
            d["TrainingJobStatusCounters"]["NonRetryableError"] + d["TrainingJobStatusCounters"]["RetryableError"] == 5
    finally:
        assert srv.stop() == 0
        assert_clean_log(srv)


def test_warm_start_seeds_from_a_parent_and_reports_the_overall_best(env):
    server, sm, s3, src = env
    sm.create_hyper_parameter_tuning_job(**tuning_request("parent", src, strategy="Random", max_jobs=4, parallel=2))
    parent = wait_tuning(sm, "parent")
    assert parent["HyperParameterTuningJobStatus"] == "Completed"
    parent_best = parent["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]

    req = tuning_request("child", src, strategy="Bayesian", max_jobs=3, parallel=1)
    req["WarmStartConfig"] = {"ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "parent"}],
                              "WarmStartType": "IdenticalDataAndAlgorithm"}
    sm.create_hyper_parameter_tuning_job(**req)
    child = wait_tuning(sm, "child")
    assert child["HyperParameterTuningJobStatus"] == "Completed", child.get("FailureReason")
    # The parent's trials seed the tuner but are not the child's: three trials of its own.
    own = sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="child", MaxResults=100)["TrainingJobSummaries"]
    assert len(own) == 3 and child["TrainingJobStatusCounters"]["Completed"] == 3
    child_best = child["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
    overall = child["OverallBestTrainingJob"]
    assert overall["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == pytest.approx(min(parent_best, child_best))
    assert overall["TuningJobName"] == ("parent" if parent_best < child_best else "child")

    bad = tuning_request("orphan-child", src)
    bad["WarmStartConfig"] = {"ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "ghost"}],
                              "WarmStartType": "TransferLearning"}
    with pytest.raises(ClientError) as e:
        sm.create_hyper_parameter_tuning_job(**bad)
    assert "ghost" in e.value.response["Error"]["Message"]


def test_early_stopping_auto_stops_poor_trials(env):
    server, sm, s3, src = env
    # Each trial prints its loss 3 times; the worse its loss, the longer between lines (so a
    # loaded machine still has time to stop it). With Auto, a trial worse than the median of
    # earlier trials at the same step is stopped before its last line.
    req = tuning_request("early", src, strategy="Random", max_jobs=10, parallel=1,
                         TrainingJobEarlyStoppingType="Auto")
    req["TrainingJobDefinition"]["StaticHyperParameters"]["sleep"] = "0.1"
    req["TrainingJobDefinition"]["StaticHyperParameters"]["sleep-per-loss"] = "4"
    sm.create_hyper_parameter_tuning_job(**req)
    d = wait_tuning(sm, "early", timeout=180)
    assert d["HyperParameterTuningJobStatus"] == "Completed", d.get("FailureReason")
    assert d["TrainingJobStatusCounters"]["Stopped"] >= 1, d["TrainingJobStatusCounters"]
    assert d["TrainingJobStatusCounters"]["Completed"] + d["TrainingJobStatusCounters"]["Stopped"] == 10


def test_lathe_tune_create_and_watch(env, tmp_path):
    import subprocess
    from conftest import LATHE_BIN
    server, sm, s3, src = env
    request = tmp_path / "tuning.json"
    request.write_text(json.dumps(tuning_request("from-cli", src, strategy="Random", max_jobs=2, parallel=2)))
    cli_env = dict(os.environ, AWS_SHARED_CREDENTIALS_FILE=server.credentials_file,
                   LATHE_ENDPOINT=server.endpoint, AWS_DEFAULT_REGION="us-east-1")
    cli_env.pop("AWS_ACCESS_KEY_ID", None)
    cli_env.pop("AWS_SECRET_ACCESS_KEY", None)
    out = subprocess.run([LATHE_BIN, "tune", "create", "--file", str(request)], env=cli_env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "from-cli: Completed, 2 completed" in out.stderr
    best = json.loads(out.stdout)
    assert best["TrainingJobName"].startswith("from-cli-") and best["ObjectiveStatus"] == "Succeeded"
    again = subprocess.run([LATHE_BIN, "tune", "watch", "from-cli"], env=cli_env, capture_output=True,
                           text=True, timeout=30)
    assert again.returncode == 0 and json.loads(again.stdout) == best


def test_a_trial_whose_runner_dies_is_retried(env):
    server, sm, s3, src = env
    req = tuning_request("retry", src, strategy="Random", max_jobs=2, parallel=1)
    req["TrainingJobDefinition"]["StaticHyperParameters"]["sleep"] = "1"

    sm.create_hyper_parameter_tuning_job(**req)

    def first_running():
        jobs = sm.list_training_jobs(StatusEquals="InProgress")["TrainingJobSummaries"]
        return jobs[0]["TrainingJobName"] if jobs else None
    victim = wait_for(first_running, what="the first trial")
    runner_json = os.path.join(server.data_dir, "jobs", "training", victim, "runner.json")
    wait_for(lambda: os.path.exists(runner_json), what="its runner")
    pid = json.load(open(runner_json))["pid"]
    os.killpg(os.getpgid(pid), signal.SIGKILL)
    d = wait_tuning(sm, "retry", timeout=90)
    assert d["HyperParameterTuningJobStatus"] == "Completed", d.get("FailureReason")
    trials = sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="retry", MaxResults=100)["TrainingJobSummaries"]
    failed = [t for t in trials if t["TrainingJobStatus"] == "Failed"]
    assert [t["TrainingJobName"] for t in failed] == [victim]
    assert failed[0]["FailureReason"].startswith("InternalServerError")
    # The retry ran the same configuration under the same trial number.
    retried = [t for t in trials if t["TrainingJobName"] != victim and
               t["TrainingJobName"].rsplit("-", 1)[0] == victim.rsplit("-", 1)[0]]
    assert len(retried) == 1 and retried[0]["TrainingJobStatus"] == "Completed"
    assert retried[0]["TunedHyperParameters"] == failed[0]["TunedHyperParameters"]
    assert d["ObjectiveStatusCounters"]["Succeeded"] == 2


def test_several_training_job_definitions_share_one_tuning_job(env):
    server, sm, s3, src = env
    base = tuning_request("multi", src, strategy="Bayesian", max_jobs=8, parallel=2)
    config = base["HyperParameterTuningJobConfig"]
    del config["ParameterRanges"], config["HyperParameterTuningJobObjective"]
    good = copy.deepcopy(base["TrainingJobDefinition"])
    good.update(DefinitionName="good", HyperParameterRanges=copy.deepcopy(RANGES),
                TuningObjective={"Type": "Minimize", "MetricName": "loss"})
    # A second algorithm, three worse everywhere, with its own metric name and one range.
    poor = copy.deepcopy(base["TrainingJobDefinition"])
    poor["AlgorithmSpecification"]["MetricDefinitions"] = [{"Name": "val-loss", "Regex": r"loss=(\S+)"}]
    poor["StaticHyperParameters"].update(layers="3", optimizer="adam", offset="3")
    poor.update(DefinitionName="poor",
                HyperParameterRanges={"ContinuousParameterRanges": [{"Name": "x", "MinValue": "0", "MaxValue": "1"}]},
                TuningObjective={"Type": "Minimize", "MetricName": "val-loss"})
    del base["TrainingJobDefinition"]
    base["TrainingJobDefinitions"] = [good, poor]
    sm.create_hyper_parameter_tuning_job(**base)
    d = wait_tuning(sm, "multi", timeout=180)
    assert d["HyperParameterTuningJobStatus"] == "Completed", d.get("FailureReason")
    assert "TrainingJobDefinition" not in d
    assert [x["DefinitionName"] for x in d["TrainingJobDefinitions"]] == ["good", "poor"]
    assert d["TrainingJobDefinitions"][1]["StaticHyperParameters"]["_tuning_objective_metric"] == "val-loss"
    trials = sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="multi", MaxResults=100)["TrainingJobSummaries"]
    assert len(trials) == 8 and d["TrainingJobStatusCounters"]["Completed"] == 8
    by_def = {}
    for t in trials:
        by_def.setdefault(t["TrainingJobDefinitionName"], []).append(t)
    # Each definition gets two trials first; then the allocation rule sends the rest to the
    # definition whose results are better (every "poor" value is above every "good" one).
    assert len(by_def["poor"]) == 2 and len(by_def["good"]) == 6
    for t in by_def["poor"]:
        assert set(t["TunedHyperParameters"]) == {"x"}
        assert t["FinalHyperParameterTuningJobObjectiveMetric"]["MetricName"] == "val-loss"
        hp = t["TunedHyperParameters"]
        assert t["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == pytest.approx(
            (float(hp["x"]) - 0.3) ** 2 + 3, abs=1e-5)
        job = sm.describe_training_job(TrainingJobName=t["TrainingJobName"])
        assert job["HyperParameters"]["offset"] == "3"
    for t in by_def["good"]:
        assert set(t["TunedHyperParameters"]) == {"x", "layers", "optimizer"}
        assert t["FinalHyperParameterTuningJobObjectiveMetric"]["MetricName"] == "loss"
    best = d["BestTrainingJob"]
    assert best["TrainingJobDefinitionName"] == "good"
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == pytest.approx(
        min(t["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for t in trials))

    def error(request):
        with pytest.raises(ClientError) as e:
            sm.create_hyper_parameter_tuning_job(**request)
        assert e.value.response["Error"]["Code"] == "ValidationException"
        return e.value.response["Error"]["Message"]
    both = copy.deepcopy(base)
    both["HyperParameterTuningJobName"] = "both"
    both["TrainingJobDefinition"] = copy.deepcopy(good)
    assert "exactly one of TrainingJobDefinition and TrainingJobDefinitions" in error(both)
    directions = copy.deepcopy(base)
    directions["HyperParameterTuningJobName"] = "directions"
    directions["TrainingJobDefinitions"][1]["TuningObjective"]["Type"] = "Maximize"
    msg = error(directions)
    assert "same Type" in msg and "poor" in msg
    twice = copy.deepcopy(base)
    twice["HyperParameterTuningJobName"] = "twice"
    twice["TrainingJobDefinitions"][1]["DefinitionName"] = "good"
    assert "'good' is used twice" in error(twice)
    early = copy.deepcopy(base)
    early["HyperParameterTuningJobName"] = "early-multi"
    early["HyperParameterTuningJobConfig"]["TrainingJobEarlyStoppingType"] = "Auto"
    assert "single training job definition" in error(early)
    unnamed_metric = copy.deepcopy(base)
    unnamed_metric["HyperParameterTuningJobName"] = "unnamed-metric"
    unnamed_metric["TrainingJobDefinitions"][1]["TuningObjective"]["MetricName"] = "loss"
    msg = error(unnamed_metric)
    assert "'loss'" in msg and "TrainingJobDefinitions[1] (poor)" in msg


def test_hyperband_tuning_job_stops_poor_trials_early(env):
    server, sm, s3, src = env
    # Nine epochs a trial; MinResource 1 and MaxResource 9 (eta 3): brackets with rungs at 1
    # and 3 epochs, where a trial outside the top third of its bracket is stopped.
    req = tuning_request("hb", src, strategy="Hyperband", max_jobs=9, parallel=3,
                         StrategyConfig={"HyperbandStrategyConfig": {"MinResource": 1, "MaxResource": 9}})
    statics = req["TrainingJobDefinition"]["StaticHyperParameters"]
    statics.update(epochs="9", sleep="0.4")
    sm.create_hyper_parameter_tuning_job(**req)
    d = wait_tuning(sm, "hb", timeout=240)
    assert d["HyperParameterTuningJobStatus"] == "Completed", d.get("FailureReason")
    counters = d["TrainingJobStatusCounters"]
    assert counters["Stopped"] >= 1 and counters["Completed"] >= 1, counters
    assert counters["Stopped"] + counters["Completed"] == 9
    trials = sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="hb", MaxResults=100)["TrainingJobSummaries"]
    stopped = [t for t in trials if t["TrainingJobStatus"] == "Stopped"]
    for t in stopped:
        # Stopped before its ninth epoch: fewer than nine loss values were recorded.
        job = sm.describe_training_job(TrainingJobName=t["TrainingJobName"])
        assert job["SecondaryStatus"] == "Stopped"
    best = d["BestTrainingJob"]
    values = [t["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for t in trials
              if "FinalHyperParameterTuningJobObjectiveMetric" in t]
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == pytest.approx(min(values))

    # Hyperband infers MaxResource from an epochs static hyperparameter, else refuses.
    bad = tuning_request("hb-no-max", src, strategy="Hyperband")
    with pytest.raises(ClientError) as e:
        sm.create_hyper_parameter_tuning_job(**bad)
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert "MaxResource" in e.value.response["Error"]["Message"]
    bad = tuning_request("hb-bayes", src, strategy="Bayesian",
                         StrategyConfig={"HyperbandStrategyConfig": {"MaxResource": 9}})
    with pytest.raises(ClientError) as e:
        sm.create_hyper_parameter_tuning_job(**bad)
    assert "only for the Hyperband strategy" in e.value.response["Error"]["Message"]


def test_bad_ranges_and_an_objective_no_job_emits(env):
    server, sm, s3, src = env
    # Without boto3's own checks, so that the server's refusal is what is tested.
    raw = server.client("sagemaker", config_kwargs={"parameter_validation": False})

    def error(request):
        with pytest.raises(ClientError) as e:
            raw.create_hyper_parameter_tuning_job(**request)
        assert e.value.response["Error"]["Code"] == "ValidationException"
        return e.value.response["Error"]["Message"]
    bad = tuning_request("empty-cat", src)
    bad["HyperParameterTuningJobConfig"]["ParameterRanges"]["CategoricalParameterRanges"][0]["Values"] = []
    msg = error(bad)  # AWS's constraint message, naming the member
    assert "categoricalParameterRanges.1.member.values" in msg and "length greater than or equal to 1" in msg
    bad = tuning_request("int-min-max", src)
    bad["HyperParameterTuningJobConfig"]["ParameterRanges"]["IntegerParameterRanges"][0].update(
        MinValue="5", MaxValue="2")
    msg = error(bad)
    assert "layers" in msg and "greater than" in msg

    # A metric the definition declares but no job ever prints: every trial ends without the
    # objective and the tuning job fails saying so.
    req = tuning_request("silent", src, strategy="Random", max_jobs=2, parallel=2)
    req["TrainingJobDefinition"]["AlgorithmSpecification"]["MetricDefinitions"].append(
        {"Name": "accuracy", "Regex": r"accuracy=(\S+)"})
    req["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]["MetricName"] = "accuracy"
    sm.create_hyper_parameter_tuning_job(**req)
    d = wait_tuning(sm, "silent")
    assert d["HyperParameterTuningJobStatus"] == "Failed"
    assert "reported the objective metric" in d["FailureReason"]
    assert d["ObjectiveStatusCounters"]["Failed"] == 2 and d["ObjectiveStatusCounters"]["Succeeded"] == 0


TUNING_YAML = """\
# The same request as tuning_request("from-yaml", ...), written as YAML.
HyperParameterTuningJobName: from-yaml
HyperParameterTuningJobConfig:
  Strategy: Random
  HyperParameterTuningJobObjective: {Type: Minimize, MetricName: loss}
  ResourceLimits:
    MaxNumberOfTrainingJobs: 2
    MaxParallelTrainingJobs: 2
  ParameterRanges:
    ContinuousParameterRanges:
      - {Name: x, MinValue: 0, MaxValue: 1}
    IntegerParameterRanges:
      - Name: layers
        MinValue: 1
        MaxValue: 6
        ScalingType: Linear
    CategoricalParameterRanges:
      - Name: optimizer
        Values: [adam, sgd]
TrainingJobDefinition:
  AlgorithmSpecification:
    TrainingImage: @IMAGE@
    TrainingInputMode: File
    MetricDefinitions:
      - Name: loss
        Regex: 'loss=(\\S+)'
  StaticHyperParameters:
    sagemaker_program: '"train.py"'
    sagemaker_submit_directory: '"@SRC@"'
    sleep: 0.1
  RoleArn: @ROLE@
  OutputDataConfig: {S3OutputPath: "s3://@BUCKET@/out"}
  ResourceConfig: {InstanceType: ml.m5.large, InstanceCount: 1, VolumeSizeInGB: 1}
  StoppingCondition: {MaxRuntimeInSeconds: 120}
"""


def test_lathe_tune_create_from_yaml(env, tmp_path):
    import subprocess
    from conftest import LATHE_BIN
    server, sm, s3, src = env
    request = tmp_path / "tuning.yaml"
    request.write_text(TUNING_YAML.replace("@IMAGE@", SKLEARN_IMAGE).replace("@SRC@", src)
                       .replace("@ROLE@", ROLE).replace("@BUCKET@", BUCKET))
    cli_env = dict(os.environ, AWS_SHARED_CREDENTIALS_FILE=server.credentials_file,
                   LATHE_ENDPOINT=server.endpoint, AWS_DEFAULT_REGION="us-east-1")
    cli_env.pop("AWS_ACCESS_KEY_ID", None)
    cli_env.pop("AWS_SECRET_ACCESS_KEY", None)
    out = subprocess.run([LATHE_BIN, "tune", "create", str(request)], env=cli_env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "from-yaml: Completed, 2 completed" in out.stderr
    d = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="from-yaml")
    config = d["HyperParameterTuningJobConfig"]
    # Numbers where the API takes strings arrive as the text written; counts stay integers.
    assert config["ParameterRanges"]["ContinuousParameterRanges"] == [
        {"Name": "x", "MinValue": "0", "MaxValue": "1"}]
    assert config["ParameterRanges"]["IntegerParameterRanges"][0]["MaxValue"] == "6"
    assert config["ResourceLimits"] == {"MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 2}
    statics = d["TrainingJobDefinition"]["StaticHyperParameters"]
    assert statics["sleep"] == "0.1" and statics["sagemaker_program"] == '"train.py"'
    assert d["TrainingJobDefinition"]["AlgorithmSpecification"]["MetricDefinitions"] == [
        {"Name": "loss", "Regex": r"loss=(\S+)"}]
    best = json.loads(out.stdout)
    assert best["TrainingJobName"].startswith("from-yaml-")

    # A YAML mistake is reported with its line and column, before anything is sent.
    broken = tmp_path / "broken.yaml"
    broken.write_text("HyperParameterTuningJobName: broken\nHyperParameterTuningJobConfig:\n"
                      "  Strategy: Random\n  Strategy: Bayesian\n")
    out = subprocess.run([LATHE_BIN, "tune", "create", str(broken)], env=cli_env,
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 1
    assert f"{broken}:4:3: the key 'Strategy' appears twice" in out.stderr
    broken.write_text("A: [1, 2\nB: 3\n")
    out = subprocess.run([LATHE_BIN, "tune", "create", "--file", str(broken)], env=cli_env,
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 1 and f"{broken}:2:" in out.stderr, out.stderr
    assert sm.list_hyper_parameter_tuning_jobs(NameContains="broken")["HyperParameterTuningJobSummaries"] == []


def test_tuning_carries_on_after_a_server_restart(tmp_path):
    srv = Server(tmp_path / "data").start()
    again = None
    try:
        pid = start_slow_tuning(srv, "survivor")
        # The whole platform goes down: the server (kill -9) and the tuning runner with it.
        srv.kill()
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        again = Server(tmp_path / "data", port=srv.port).start()
        sm = again.client("sagemaker")
        d = wait_tuning(sm, "survivor", timeout=120)
        assert d["HyperParameterTuningJobStatus"] == "Completed", d.get("FailureReason")
        trials = sm.list_training_jobs_for_hyper_parameter_tuning_job(
            HyperParameterTuningJobName="survivor", MaxResults=100)["TrainingJobSummaries"]
        # Five trial numbers in all: the new runner carried on from the trials it found.
        numbers = sorted({t["TrainingJobName"].rsplit("-", 2)[1] for t in trials})
        assert numbers == ["001", "002", "003", "004", "005"], [t["TrainingJobName"] for t in trials]
        assert d["ObjectiveStatusCounters"]["Succeeded"] >= 4
        assert d["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == pytest.approx(
            min(t["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for t in trials
                if "FinalHyperParameterTuningJobObjectiveMetric" in t))
    finally:
        if again:
            assert again.stop() == 0
            assert_clean_log(again)
