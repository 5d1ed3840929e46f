"""The CloudWatch Logs read API over the log stream files, through boto3's `logs` client,
the AWS CLI and `lathe logs`. Streams are written straight into DATA/logs in the format
the exec module documents: one "<epoch ms> <message>\\n" line per event."""
import json
import os
import subprocess

import pytest
from botocore.exceptions import ClientError

from conftest import LATHE_BIN

GROUP = "/aws/sagemaker/TrainingJobs"
BASE_MS = 1_700_000_000_000


def write_stream(server, stream, lines, group=GROUP, partial=None):
    path = os.path.join(server.data_dir, "logs", group.lstrip("/"), stream)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        for ts, message in lines:
            f.write(f"{ts} {message}\n")
        if partial:
            f.write(partial)
    return path


def events(n, start=0):
    return [(BASE_MS + i * 1000, f"[{i}]#011train-rmse:{1.0 / (i + 1):.4f}") for i in range(start, n)]


@pytest.fixture
def logs(server):
    return server.client("logs")


def test_describe_log_streams(server, logs):
    write_stream(server, "job-a/algo-1-1700000000", events(3))
    write_stream(server, "job-a/algo-2-1700000000", events(1))
    write_stream(server, "job-b/algo-1-1700000000", events(2))
    got = logs.describe_log_streams(logGroupName=GROUP, logStreamNamePrefix="job-a/",
                                    orderBy="LogStreamName")
    streams = got["logStreams"]
    assert [s["logStreamName"] for s in streams] == ["job-a/algo-1-1700000000",
                                                      "job-a/algo-2-1700000000"]
    first = streams[0]
    assert first["firstEventTimestamp"] == BASE_MS
    assert first["lastEventTimestamp"] == BASE_MS + 2000
    assert first["storedBytes"] > 0
    assert first["arn"] == ("arn:aws:logs:us-east-1:000000000000:log-group:"
                            "/aws/sagemaker/TrainingJobs:log-stream:job-a/algo-1-1700000000")
    assert "nextToken" not in got
    # Paging by nextToken, and descending.
    page = logs.describe_log_streams(logGroupName=GROUP, limit=2)
    assert len(page["logStreams"]) == 2 and page["nextToken"]
    rest = logs.describe_log_streams(logGroupName=GROUP, limit=2, nextToken=page["nextToken"])
    assert [s["logStreamName"] for s in rest["logStreams"]] == ["job-b/algo-1-1700000000"]
    desc = logs.describe_log_streams(logGroupName=GROUP, descending=True)
    assert desc["logStreams"][0]["logStreamName"] == "job-b/algo-1-1700000000"
    with pytest.raises(ClientError) as e:
        logs.describe_log_streams(logGroupName="/aws/sagemaker/NoSuchGroup")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_get_log_events_pages_forward(server, logs):
    write_stream(server, "job/algo-1-1700000000", events(5), partial="99 not yet ended")
    token, seen = None, []
    for _ in range(10):
        kwargs = {"nextToken": token} if token else {}
        got = logs.get_log_events(logGroupName=GROUP, logStreamName="job/algo-1-1700000000",
                                  startFromHead=True, limit=2, **kwargs)
        if not got["events"]:
            assert got["nextForwardToken"] == token  # the end: the same token comes back
            break
        seen += got["events"]
        token = got["nextForwardToken"]
        assert token.startswith("f/")
    assert [e["message"] for e in seen] == [m for _, m in events(5)]
    assert [e["timestamp"] for e in seen] == [t for t, _ in events(5)]
    assert all(e["ingestionTime"] == e["timestamp"] for e in seen)
    # A follower sees what is written after it reached the end.
    write_stream(server, "job/algo-1-1700000000", [], partial="\n")  # ends "99 not yet ended"
    write_stream(server, "job/algo-1-1700000000", events(7, start=5))
    got = logs.get_log_events(logGroupName=GROUP, logStreamName="job/algo-1-1700000000",
                              nextToken=token)
    assert [e["message"] for e in got["events"]] == ["not yet ended"] + [m for _, m in events(7, 5)]


def test_get_log_events_tail_backward_and_time_filter(server, logs):
    write_stream(server, "job/algo-1-1700000000", events(6))
    # Without startFromHead: the newest events, as CloudWatch does.
    tail = logs.get_log_events(logGroupName=GROUP, logStreamName="job/algo-1-1700000000", limit=2)
    assert [e["timestamp"] for e in tail["events"]] == [BASE_MS + 4000, BASE_MS + 5000]
    back = logs.get_log_events(logGroupName=GROUP, logStreamName="job/algo-1-1700000000", limit=2,
                               nextToken=tail["nextBackwardToken"])
    assert [e["timestamp"] for e in back["events"]] == [BASE_MS + 2000, BASE_MS + 3000]
    window = logs.get_log_events(logGroupName=GROUP, logStreamName="job/algo-1-1700000000",
                                 startFromHead=True, startTime=BASE_MS + 1000,
                                 endTime=BASE_MS + 3000)
    assert [e["timestamp"] for e in window["events"]] == [BASE_MS + 1000, BASE_MS + 2000]
    with pytest.raises(ClientError) as e:
        logs.get_log_events(logGroupName=GROUP, logStreamName="job/missing")
    err = e.value.response["Error"]
    assert err["Code"] == "ResourceNotFoundException"
    assert err["Message"] == "The specified log stream does not exist."
    with pytest.raises(ClientError) as e:
        logs.get_log_events(logGroupName=GROUP, logStreamName="../../../credentials")
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
    with pytest.raises(ClientError) as e:
        logs.get_log_events(logGroupName=GROUP, logStreamName="job/algo-1-1700000000",
                            nextToken="garbage")
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"


def test_filter_log_events(server, logs):
    write_stream(server, "job/algo-1-1700000000", events(3))
    write_stream(server, "job/algo-2-1700000000", [(BASE_MS, "hello from algo-2")])
    got = logs.filter_log_events(logGroupName=GROUP, logStreamNamePrefix="job/")
    assert len(got["events"]) == 4 and "nextToken" not in got
    assert got["events"][3]["logStreamName"] == "job/algo-2-1700000000"
    only = logs.filter_log_events(logGroupName=GROUP, filterPattern='"hello"')
    assert [e["message"] for e in only["events"]] == ["hello from algo-2"]
    paged, token = [], None
    while True:
        kwargs = {"nextToken": token} if token else {}
        page = logs.filter_log_events(logGroupName=GROUP, limit=3, **kwargs)
        paged += page["events"]
        token = page.get("nextToken")
        if not token:
            break
    assert len(paged) == 4
    assert len({e["eventId"] for e in paged}) == 4


def test_unknown_logs_operation_and_wrong_scope(server, logs):
    with pytest.raises(ClientError) as e:
        logs.put_log_events(logGroupName=GROUP, logStreamName="x",
                            logEvents=[{"timestamp": BASE_MS, "message": "m"}])
    assert e.value.response["Error"]["Code"] == "UnknownOperationException"
    # A signature scoped to another service is refused for a Logs target.
    status, body = signed_post(server, "sagemaker", "Logs_20140328.GetLogEvents",
                               {"logGroupName": GROUP, "logStreamName": "x"})
    assert status == 400 and body["__type"] == "IncompleteSignatureException"
    assert "'logs'" in body["message"]
    status, body = signed_post(server, "logs", "Logs_20140328.GetLogEvents", [])
    assert status == 400 and body["__type"] == "SerializationException"


def signed_post(server, service, target, payload):
    import urllib.error
    import urllib.request

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    data = json.dumps(payload).encode()
    req = AWSRequest(method="POST", url=server.endpoint + "/", data=data,
                     headers={"Content-Type": "application/x-amz-json-1.1",
                              "X-Amz-Target": target})
    SigV4Auth(Credentials(server.access_key, server.secret_key), service,
              "us-east-1").add_auth(req)
    http = urllib.request.Request(server.endpoint + "/", data=data, method="POST",
                                  headers=dict(req.headers.items()))
    try:
        with urllib.request.urlopen(http, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_aws_cli_get_log_events(server):
    write_stream(server, "job/algo-1-1700000000", events(3))
    out = server.aws("logs", "get-log-events", "--log-group-name", GROUP, "--log-stream-name",
                     "job/algo-1-1700000000", "--start-from-head")
    got = json.loads(out.stdout)
    assert [e["message"] for e in got["events"]] == [m for _, m in events(3)]
    out = server.aws("logs", "describe-log-streams", "--log-group-name", GROUP)
    assert json.loads(out.stdout)["logStreams"][0]["logStreamName"] == "job/algo-1-1700000000"


def lathe_logs(server, *args):
    env = dict(os.environ, AWS_SHARED_CREDENTIALS_FILE=server.credentials_file,
               AWS_DEFAULT_REGION="us-east-1")
    env.pop("AWS_ACCESS_KEY_ID", None)
    env.pop("AWS_SECRET_ACCESS_KEY", None)
    env.pop("AWS_PROFILE", None)
    return subprocess.run([LATHE_BIN, "logs", *args, "--endpoint", server.endpoint],
                          capture_output=True, text=True, timeout=60, env=env)


def test_lathe_logs_prints_one_stream(server):
    write_stream(server, "job/algo-1-1700000000", events(3))
    write_stream(server, "job2/algo-1-1700000000", [(BASE_MS, "another job")])
    out = lathe_logs(server, "job")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [m for _, m in events(3)]


def test_lathe_logs_prefixes_hosts_when_several(server):
    write_stream(server, "job/algo-1-1700000000", [(BASE_MS, "one")])
    write_stream(server, "job/algo-2-1700000000", [(BASE_MS, "two")])
    out = lathe_logs(server, "job")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["[algo-1] one", "[algo-2] two"]
    write_stream(server, "pjob/algo-1-1700000000", [(BASE_MS, "processing")],
                 group="/aws/sagemaker/ProcessingJobs")
    out = lathe_logs(server, "pjob", "--kind", "processing")
    assert out.returncode == 0, out.stderr
    assert out.stdout == "processing\n"
    missing = lathe_logs(server, "nojob")
    assert missing.returncode == 1 and "nojob" in missing.stderr
    bad = lathe_logs(server, "job", "--kind", "bogus")
    assert bad.returncode == 2


def test_lathe_logs_follow_prints_new_events_until_interrupted(server):
    import signal
    import time
    write_stream(server, "job/algo-1-1700000000", [(BASE_MS, "before")])
    env = dict(os.environ, AWS_SHARED_CREDENTIALS_FILE=server.credentials_file,
               AWS_DEFAULT_REGION="us-east-1")
    env.pop("AWS_ACCESS_KEY_ID", None)
    env.pop("AWS_SECRET_ACCESS_KEY", None)
    # No training-job API answers for "job", so -f follows until interrupted.
    proc = subprocess.Popen([LATHE_BIN, "logs", "job", "-f", "--endpoint", server.endpoint],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        time.sleep(1.0)
        write_stream(server, "job/algo-1-1700000000", [(BASE_MS + 1, "after")],
                     partial=f"{BASE_MS + 2} half a li")
        time.sleep(1.5)
        write_stream(server, "job/algo-1-1700000000", [], partial="ne\n")
        time.sleep(1.5)
        assert proc.poll() is None  # still following
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    assert out.splitlines() == ["before", "after", "half a line"], err
