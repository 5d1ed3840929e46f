"""SigV4 on every request: accepted when right, refused with AWS's codes when not."""
import datetime
import http.client
import json
import time
import urllib.error
import urllib.request

import botocore.auth
import pytest
from botocore.exceptions import ClientError


def raw_post(server, headers, body=b"{}"):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("POST", "/", body=body, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, dict(resp.getheaders()), data


def error_code(exc_info):
    return exc_info.value.response["Error"]["Code"]


def test_signed_request_is_accepted_with_a_request_id(sm):
    resp = sm.list_experiments()
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert resp["ExperimentSummaries"] == []
    assert len(resp["ResponseMetadata"]["RequestId"]) == 36


def test_missing_signature_is_refused(server):
    status, headers, body = raw_post(server, {"X-Amz-Target": "SageMaker.ListExperiments",
                                              "Content-Type": "application/x-amz-json-1.1"})
    assert status == 403
    assert json.loads(body)["__type"] == "MissingAuthenticationTokenException"
    assert "x-amzn-RequestId" in headers


def test_malformed_authorization_is_refused(server):
    status, _, body = raw_post(server, {
        "X-Amz-Target": "SageMaker.ListExperiments",
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Date": time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()),
        "Authorization": "AWS4-HMAC-SHA256 Credential=garbage"})
    assert status == 400
    doc = json.loads(body)
    assert doc["__type"] == "IncompleteSignatureException"
    assert "Credential" in doc["message"]


def test_wrong_secret_is_refused(server):
    sm = server.client("sagemaker", secret_key="x" * 40)
    with pytest.raises(ClientError) as e:
        sm.list_experiments()
    assert error_code(e) == "InvalidSignatureException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_unknown_access_key_is_refused(server):
    sm = server.client("sagemaker", access_key="LTUNKNOWNKEY00000000")
    with pytest.raises(ClientError) as e:
        sm.list_experiments()
    assert error_code(e) == "UnrecognizedClientException"


def test_tampered_body_is_refused(server):
    sm = server.client("sagemaker")

    def tamper(request, **kwargs):
        request.body = b'{"MaxResults": 5}'
        request.headers["Content-Length"] = str(len(request.body))

    sm.meta.events.register("before-send.sagemaker.ListExperiments", tamper)
    with pytest.raises(ClientError) as e:
        sm.list_experiments()
    assert error_code(e) == "InvalidSignatureException"


_REAL_DATETIME = datetime.datetime


class _Skewed(datetime.datetime):
    """A clock 20 minutes behind, as botocore's signer (plain or CRT) reads it."""
    @classmethod
    def utcnow(cls):
        return _REAL_DATETIME.utcnow() - datetime.timedelta(minutes=20)


def test_clock_skew_over_fifteen_minutes_is_refused(server, monkeypatch):
    sm = server.client("sagemaker")
    s3 = server.client("s3")
    monkeypatch.setattr(botocore.auth.datetime, "datetime", _Skewed)
    with pytest.raises(ClientError) as e:
        sm.list_experiments()
    assert error_code(e) == "InvalidSignatureException"
    assert "Signature expired" in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        s3.list_buckets()
    assert error_code(e) == "RequestTimeTooSkewed"


def test_s3_refusals_use_s3_codes(server):
    with pytest.raises(ClientError) as e:
        server.client("s3", secret_key="y" * 40).list_buckets()
    assert error_code(e) == "SignatureDoesNotMatch"
    with pytest.raises(ClientError) as e:
        server.client("s3", access_key="LTUNKNOWNKEY00000000").list_buckets()
    assert error_code(e) == "InvalidAccessKeyId"
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(server.endpoint + "/somebucket/key", timeout=5)
    assert e.value.code == 403
    assert b"<Code>AccessDenied</Code>" in e.value.read()


def test_presigned_urls_work_and_expire(server):
    s3 = server.client("s3", config_kwargs={"signature_version": "s3v4"})
    s3.create_bucket(Bucket="presign")
    s3.put_object(Bucket="presign", Key="a b+c.txt", Body=b"hello")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "presign", "Key": "a b+c.txt"},
                                    ExpiresIn=60)
    with urllib.request.urlopen(url, timeout=5) as r:
        assert r.read() == b"hello"
    tampered = url.replace("X-Amz-Expires=60", "X-Amz-Expires=61")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(tampered, timeout=5)
    assert e.value.code == 403
    assert b"SignatureDoesNotMatch" in e.value.read()
    short = s3.generate_presigned_url("get_object", Params={"Bucket": "presign", "Key": "a b+c.txt"},
                                      ExpiresIn=1)
    time.sleep(2.1)
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(short, timeout=5)
    assert e.value.code == 403
    assert b"expired" in e.value.read()
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": "presign", "Key": "up"},
                                        ExpiresIn=60)
    req = urllib.request.Request(put_url, data=b"uploaded", method="PUT")
    with urllib.request.urlopen(req, timeout=5) as r:
        assert r.status == 200
    assert s3.get_object(Bucket="presign", Key="up")["Body"].read() == b"uploaded"


def test_signature_version_2_is_refused_with_advice(server, s3):
    s3.create_bucket(Bucket="sigv2")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "sigv2", "Key": "k"})
    assert "AWSAccessKeyId=" in url  # boto3's default presigner for S3 is still SigV2
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(url, timeout=5)
    assert e.value.code == 400
    body = e.value.read()
    assert b"Signature Version 2" in body and b"s3v4" in body


def test_the_aws_cli_signs_with_the_credentials_file(server):
    out = server.aws("sagemaker", "list-experiments")
    assert json.loads(out.stdout)["ExperimentSummaries"] == []


def test_credentials_file_is_private(server):
    import os
    import stat
    mode = stat.S_IMODE(os.stat(server.credentials_file).st_mode)
    assert mode == 0o600
