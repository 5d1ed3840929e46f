"""Experiments, trials and trial components through boto3 and the AWS CLI: the proof that
the resource engine makes a family cheap to add."""
import datetime
import json

import pytest
from botocore.exceptions import ClientError


def code_of(e):
    return e.value.response["Error"]["Code"]


def test_create_describe_update_delete_round_trip(sm):
    arn = sm.create_experiment(ExperimentName="Churn-Model", DisplayName="Churn",
                               Description="first try")["ExperimentArn"]
    assert arn == "arn:aws:sagemaker:us-east-1:000000000000:experiment/churn-model"
    d = sm.describe_experiment(ExperimentName="churn-model")  # names are case-insensitive
    assert d["ExperimentName"] == "Churn-Model"
    assert d["ExperimentArn"] == arn
    assert d["DisplayName"] == "Churn"
    assert d["Description"] == "first try"
    assert isinstance(d["CreationTime"], datetime.datetime)
    assert d["CreationTime"].tzinfo is not None
    now = datetime.datetime.now(datetime.timezone.utc)
    assert abs((now - d["CreationTime"]).total_seconds()) < 60
    sm.update_experiment(ExperimentName="Churn-Model", Description="second try")
    d2 = sm.describe_experiment(ExperimentName="Churn-Model")
    assert d2["Description"] == "second try"
    assert d2["DisplayName"] == "Churn"
    assert d2["LastModifiedTime"] >= d["LastModifiedTime"]
    sm.delete_experiment(ExperimentName="Churn-Model")
    with pytest.raises(ClientError) as e:
        sm.describe_experiment(ExperimentName="Churn-Model")
    assert code_of(e) == "ResourceNotFound"


def test_duplicate_name_is_refused_and_keeps_the_original(sm):
    sm.create_experiment(ExperimentName="dup", Description="original")
    with pytest.raises(ClientError) as e:
        sm.create_experiment(ExperimentName="DUP", Description="imposter")
    assert code_of(e) == "ValidationException"
    assert "already exists" in e.value.response["Error"]["Message"]
    assert sm.describe_experiment(ExperimentName="dup")["Description"] == "original"


def test_list_paginates_fifty_experiments_exactly_once(sm):
    names = [f"exp-{i:02d}" for i in range(50)]
    for n in names:
        sm.create_experiment(ExperimentName=n)
    seen, tokens = [], set()
    kwargs = {"MaxResults": 7, "SortBy": "Name", "SortOrder": "Ascending"}
    while True:
        page = sm.list_experiments(**kwargs)
        seen += [s["ExperimentName"] for s in page["ExperimentSummaries"]]
        assert len(page["ExperimentSummaries"]) <= 7
        if not page.get("NextToken"):
            break
        assert page["NextToken"] not in tokens
        tokens.add(page["NextToken"])
        kwargs["NextToken"] = page["NextToken"]
    assert seen == names
    # botocore's paginator agrees, and descending order is the reverse.
    pages = sm.get_paginator("list_experiments").paginate(
        SortBy="Name", SortOrder="Descending", PaginationConfig={"PageSize": 10})
    assert [s["ExperimentName"] for p in pages for s in p["ExperimentSummaries"]] == names[::-1]


def test_list_filters_by_creation_time(sm):
    sm.create_experiment(ExperimentName="early")
    cut = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=1)
    import time
    time.sleep(2.1)
    sm.create_experiment(ExperimentName="late")
    after = sm.list_experiments(CreatedAfter=cut)["ExperimentSummaries"]
    before = sm.list_experiments(CreatedBefore=cut)["ExperimentSummaries"]
    assert [s["ExperimentName"] for s in after] == ["late"]
    assert [s["ExperimentName"] for s in before] == ["early"]


def test_trials_and_components_associate_and_filter(sm):
    sm.create_experiment(ExperimentName="exp")
    with pytest.raises(ClientError) as e:
        sm.create_trial(TrialName="orphan", ExperimentName="no-such-experiment")
    assert code_of(e) == "ResourceNotFound"
    sm.create_trial(TrialName="t1", ExperimentName="exp")
    sm.create_trial(TrialName="t2", ExperimentName="exp")
    start = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    sm.create_trial_component(
        TrialComponentName="tc1", DisplayName="training",
        Status={"PrimaryStatus": "Completed", "Message": "done"}, StartTime=start,
        Parameters={"eta": {"NumberValue": 0.3}, "objective": {"StringValue": "binary:logistic"}},
        InputArtifacts={"train": {"Value": "s3://data/train.csv", "MediaType": "text/csv"}})
    sm.create_trial_component(TrialComponentName="tc2")
    r = sm.associate_trial_component(TrialComponentName="tc1", TrialName="t1")
    assert r["TrialArn"].endswith(":experiment-trial/t1")
    assert r["TrialComponentArn"].endswith(":experiment-trial-component/tc1")
    sm.associate_trial_component(TrialComponentName="tc2", TrialName="t2")

    d = sm.describe_trial_component(TrialComponentName="tc1")
    assert d["Parameters"]["eta"]["NumberValue"] == 0.3
    assert d["Parameters"]["objective"]["StringValue"] == "binary:logistic"
    assert d["Status"]["PrimaryStatus"] == "Completed"
    assert d["StartTime"] == start
    assert d["InputArtifacts"]["train"]["Value"] == "s3://data/train.csv"

    by_trial = sm.list_trial_components(TrialName="t1")["TrialComponentSummaries"]
    assert [c["TrialComponentName"] for c in by_trial] == ["tc1"]
    by_exp = sm.list_trial_components(ExperimentName="exp")["TrialComponentSummaries"]
    assert sorted(c["TrialComponentName"] for c in by_exp) == ["tc1", "tc2"]
    trials = sm.list_trials(TrialComponentName="tc2")["TrialSummaries"]
    assert [t["TrialName"] for t in trials] == ["t2"]
    assert sorted(t["TrialName"] for t in sm.list_trials(ExperimentName="exp")["TrialSummaries"]) \
        == ["t1", "t2"]

    sm.update_trial_component(TrialComponentName="tc1", ParametersToRemove=["eta"],
                              Parameters={"depth": {"NumberValue": 6}})
    params = sm.describe_trial_component(TrialComponentName="tc1")["Parameters"]
    assert set(params) == {"objective", "depth"}

    with pytest.raises(ClientError):
        sm.delete_trial(TrialName="t1")  # still has a component
    sm.disassociate_trial_component(TrialComponentName="tc1", TrialName="t1")
    assert sm.list_trial_components(TrialName="t1")["TrialComponentSummaries"] == []
    sm.delete_trial(TrialName="t1")
    with pytest.raises(ClientError):
        sm.delete_experiment(ExperimentName="exp")  # still has trial t2
    assert sm.describe_trial(TrialName="t2")["ExperimentName"] == "exp"


def test_tags_on_any_resource(sm):
    arn = sm.create_experiment(ExperimentName="tagged",
                               Tags=[{"Key": "team", "Value": "growth"}])["ExperimentArn"]
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "stage", "Value": "dev"},
                                       {"Key": "team", "Value": "risk"}])
    tags = {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=arn)["Tags"]}
    assert tags == {"team": "risk", "stage": "dev"}
    sm.delete_tags(ResourceArn=arn, TagKeys=["team"])
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "stage", "Value": "dev"}]
    tc_arn = sm.create_trial_component(TrialComponentName="c")["TrialComponentArn"]
    sm.add_tags(ResourceArn=tc_arn, Tags=[{"Key": "a", "Value": "b"}])
    assert sm.list_tags(ResourceArn=tc_arn)["Tags"] == [{"Key": "a", "Value": "b"}]
    with pytest.raises(ClientError):
        sm.add_tags(ResourceArn=arn.replace("tagged", "nothing-here"),
                    Tags=[{"Key": "a", "Value": "b"}])
    with pytest.raises(ClientError) as e:
        sm.add_tags(ResourceArn=arn, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    assert code_of(e) == "ResourceLimitExceeded"


def test_the_aws_cli_drives_the_family(server):
    out = server.aws("sagemaker", "create-experiment", "--experiment-name", "cli-exp",
                     "--description", "made by the AWS CLI")
    assert json.loads(out.stdout)["ExperimentArn"].endswith("experiment/cli-exp")
    d = json.loads(server.aws("sagemaker", "describe-experiment", "--experiment-name",
                              "cli-exp").stdout)
    assert d["Description"] == "made by the AWS CLI"
    bad = server.aws("sagemaker", "describe-experiment", "--experiment-name", "missing",
                     check=False)
    assert bad.returncode != 0
    assert "ResourceNotFound" in bad.stderr
