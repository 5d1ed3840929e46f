"""The awsJson 1.1 protocol as botocore speaks it: validation from the service model,
error bodies, unknown and unimplemented operations, bounded bodies, /ping and /metrics."""
import http.client
import json
import urllib.request

import pytest
from botocore.exceptions import ClientError


@pytest.fixture
def raw_sm(server):
    """A client that skips botocore's own (weak) parameter validation, as other SDKs do."""
    return server.client("sagemaker", config_kwargs={"parameter_validation": False})


def error(exc_info):
    return exc_info.value.response["Error"]["Code"], exc_info.value.response["Error"]["Message"]


def test_name_longer_than_the_model_allows_is_rejected(sm):
    with pytest.raises(ClientError) as e:
        sm.create_experiment(ExperimentName="e" * 121)
    code, msg = error(e)
    assert code == "ValidationException"
    # The 121-character name breaks both the length and the pattern ({0,119}); AWS lists both.
    assert msg.startswith("2 validation errors detected: Value '")
    assert "at 'experimentName' failed to satisfy constraint: " \
           "Member must have length less than or equal to 120" in msg


def test_name_outside_the_pattern_is_rejected(sm):
    with pytest.raises(ClientError) as e:
        sm.create_experiment(ExperimentName="bad_name!")
    code, msg = error(e)
    assert code == "ValidationException"
    assert "Value 'bad_name!' at 'experimentName'" in msg
    assert "Member must satisfy regular expression pattern" in msg


def test_missing_required_members_are_rejected(raw_sm):
    with pytest.raises(ClientError) as e:
        raw_sm.create_training_job(TrainingJobName="job1")
    code, msg = error(e)
    assert code == "ValidationException"
    for member in ("roleArn", "outputDataConfig", "resourceConfig", "stoppingCondition"):
        assert f"at '{member}' failed to satisfy constraint: Member must not be null" in msg


def test_enum_and_range_are_checked_on_list_operations(raw_sm):
    with pytest.raises(ClientError) as e:
        raw_sm.list_training_jobs(MaxResults=500, SortBy="Size")
    code, msg = error(e)
    assert code == "ValidationException"
    assert msg.startswith("2 validation errors detected")
    assert "Member must have value less than or equal to 100" in msg
    assert "Member must satisfy enum value set: [" in msg


def test_nested_members_are_validated(raw_sm):
    with pytest.raises(ClientError) as e:
        raw_sm.create_experiment(ExperimentName="ok", Tags=[{"Key": "k" * 129, "Value": "v"}])
    code, msg = error(e)
    assert code == "ValidationException"
    assert "at 'tags.1.member.key'" in msg


def test_wrong_json_type_is_rejected(raw_sm):
    with pytest.raises(ClientError) as e:
        raw_sm.list_experiments(MaxResults="ten")
    assert error(e)[0] == "ValidationException"


def test_valid_but_unimplemented_operation_names_itself(sm):
    with pytest.raises(ClientError) as e:
        sm.list_algorithms()
    code, msg = error(e)
    assert code == "NotImplementedException"
    assert "ListAlgorithms" in msg
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501


def signed_raw(server, target, body):
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    req = AWSRequest(method="POST", url=server.endpoint + "/", data=body,
                     headers={"X-Amz-Target": target,
                              "Content-Type": "application/x-amz-json-1.1"})
    SigV4Auth(Credentials(server.access_key, server.secret_key), "sagemaker",
              "us-east-1").add_auth(req)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request("POST", "/", body=body, headers=dict(req.headers.items()))
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, dict(resp.getheaders()), data


def test_unknown_operation_is_named(server):
    status, headers, body = signed_raw(server, "SageMaker.MakeCoffee", b"{}")
    assert status == 400
    doc = json.loads(body)
    assert doc["__type"] == "UnknownOperationException"
    assert "MakeCoffee" in doc["message"]
    assert headers["Content-Type"] == "application/x-amz-json-1.1"


def test_malformed_json_is_a_serialization_error(server):
    for body in (b'{"ExperimentName": ', b"[1, 2]", b"\xff\xfe"):
        status, _, data = signed_raw(server, "SageMaker.CreateExperiment", body)
        assert status == 400
        assert json.loads(data)["__type"] == "SerializationException"


def test_oversized_body_is_refused_with_413(server):
    body = b'{"ExperimentName": "' + b"x" * (17 << 20) + b'"}'
    status, _, data = signed_raw(server, "SageMaker.CreateExperiment", body)
    assert status == 413
    assert "limit" in json.loads(data)["message"]
    # The server is still healthy afterwards.
    with urllib.request.urlopen(server.endpoint + "/ping", timeout=5) as r:
        assert r.status == 200


def test_header_block_past_the_connection_pool_is_431_and_the_server_serves_on(server):
    # 20 KiB of headers fit the 32 KiB per-connection pool; 40 KiB do not and get 431
    # (Request Header Fields Too Large), not a dropped connection.
    def ping(header_bytes):
        req = urllib.request.Request(server.endpoint + "/ping",
                                     headers={"X-Padding": "z" * header_bytes})
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code
    assert ping(20000) == 200
    assert ping(40000) == 431
    assert ping(10) == 200


def test_ping_and_metrics(server, sm):
    with urllib.request.urlopen(server.endpoint + "/ping", timeout=5) as r:
        assert r.status == 200
    sm.list_experiments()
    with pytest.raises(ClientError):
        sm.describe_experiment(ExperimentName="missing")
    with urllib.request.urlopen(server.endpoint + "/metrics", timeout=5) as r:
        text = r.read().decode()
        assert r.headers["Content-Type"].startswith("text/plain")
    assert 'lathe_requests_total{operation="ListExperiments",status="200"} 1' in text
    assert 'lathe_requests_total{operation="DescribeExperiment",status="400"} 1' in text
    assert "lathe_request_duration_seconds_bucket{le=\"+Inf\"}" in text
    assert "lathe_request_duration_seconds_count" in text


def test_lathe_api_command_signs_and_prints(server):
    import os
    import subprocess
    from conftest import LATHE_BIN
    env = dict(os.environ, AWS_SHARED_CREDENTIALS_FILE=server.credentials_file,
               LATHE_ENDPOINT=server.endpoint)
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        env.pop(k, None)
    out = subprocess.run([LATHE_BIN, "api", "CreateExperiment", "--json",
                          '{"ExperimentName": "from-cli"}'], env=env, capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["ExperimentArn"].endswith(":experiment/from-cli")
    out = subprocess.run([LATHE_BIN, "api", "DescribeExperiment", "--json",
                          '{"ExperimentName": "nope"}'], env=env, capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 1
    assert "ResourceNotFound" in out.stderr
