"""The S3-compatible API with the real clients: aws s3 mb/cp/ls/rm/sync and boto3's
upload_file/download_file, ranges, copy, multi-delete, listing, multipart."""
import hashlib
import os

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError


def code_of(e):
    return e.value.response["Error"]["Code"]


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def test_put_get_head_with_md5_etag_and_metadata(s3):
    s3.create_bucket(Bucket="data")
    body = os.urandom(100_000)
    put = s3.put_object(Bucket="data", Key="dir/obj.bin", Body=body, ContentType="application/x-test",
                        Metadata={"owner": "ada"})
    assert put["ETag"] == '"%s"' % hashlib.md5(body).hexdigest()
    got = s3.get_object(Bucket="data", Key="dir/obj.bin")
    assert got["Body"].read() == body
    assert got["ContentType"] == "application/x-test"
    assert got["Metadata"] == {"owner": "ada"}
    head = s3.head_object(Bucket="data", Key="dir/obj.bin")
    assert head["ContentLength"] == len(body)
    assert head["ETag"] == put["ETag"]
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket="data", Key="missing")
    assert code_of(e) == "NoSuchKey"
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket="data", Key="missing")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_range_reads(s3):
    s3.create_bucket(Bucket="ranges")
    body = bytes(range(256)) * 40
    s3.put_object(Bucket="ranges", Key="k", Body=body)
    r = s3.get_object(Bucket="ranges", Key="k", Range="bytes=10-19")
    assert r["Body"].read() == body[10:20]
    assert r["ContentRange"] == f"bytes 10-19/{len(body)}"
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert s3.get_object(Bucket="ranges", Key="k", Range="bytes=10000-")["Body"].read() == body[10000:]
    assert s3.get_object(Bucket="ranges", Key="k", Range="bytes=-5")["Body"].read() == body[-5:]
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket="ranges", Key="k", Range="bytes=20000-20010")
    assert code_of(e) == "InvalidRange"


def test_copy_and_delete_objects(s3):
    s3.create_bucket(Bucket="src")
    s3.create_bucket(Bucket="dst")
    s3.put_object(Bucket="src", Key="a key with spaces+plus", Body=b"payload")
    s3.copy_object(Bucket="dst", Key="copy", CopySource={"Bucket": "src", "Key": "a key with spaces+plus"})
    assert s3.get_object(Bucket="dst", Key="copy")["Body"].read() == b"payload"
    for i in range(5):
        s3.put_object(Bucket="dst", Key=f"k{i}", Body=b"x")
    resp = s3.delete_objects(Bucket="dst", Delete={"Objects": [{"Key": f"k{i}"} for i in range(5)]
                                                   + [{"Key": "never-existed"}]})
    assert sorted(d["Key"] for d in resp["Deleted"]) == sorted([f"k{i}" for i in range(5)] + ["never-existed"])
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="dst").get("Contents", [])]
    assert keys == ["copy"]
    with pytest.raises(ClientError) as e:
        s3.delete_bucket(Bucket="dst")
    assert code_of(e) == "BucketNotEmpty"
    s3.delete_object(Bucket="dst", Key="copy")
    s3.delete_bucket(Bucket="dst")
    assert "dst" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_list_v2_prefix_delimiter_and_continuation(s3):
    s3.create_bucket(Bucket="listing")
    keys = [f"logs/2026/{m:02d}/part-{i}" for m in range(1, 4) for i in range(5)] + \
           [f"models/m{i}" for i in range(7)] + ["top"]
    for k in keys:
        s3.put_object(Bucket="listing", Key=k, Body=k.encode())
    top = s3.list_objects_v2(Bucket="listing", Delimiter="/")
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["logs/", "models/"]
    assert [o["Key"] for o in top["Contents"]] == ["top"]
    months = s3.list_objects_v2(Bucket="listing", Prefix="logs/2026/", Delimiter="/")
    assert [p["Prefix"] for p in months["CommonPrefixes"]] == \
        ["logs/2026/01/", "logs/2026/02/", "logs/2026/03/"]
    seen = []
    for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket="listing", PaginationConfig={"PageSize": 4}):
        assert page["KeyCount"] <= 4
        seen += [o["Key"] for o in page.get("Contents", [])]
    assert seen == sorted(keys)
    v1 = [o["Key"] for p in s3.get_paginator("list_objects").paginate(
        Bucket="listing", Prefix="models/", PaginationConfig={"PageSize": 3})
        for o in p.get("Contents", [])]
    assert v1 == [f"models/m{i}" for i in range(7)]


def test_multipart_upload_of_100_mb_round_trips(s3, tmp_path):
    s3.create_bucket(Bucket="big")
    src = tmp_path / "big.bin"
    with open(src, "wb") as f:
        for _ in range(100):
            f.write(os.urandom(1 << 20))
    cfg = TransferConfig(multipart_threshold=8 << 20, multipart_chunksize=16 << 20, max_concurrency=4)
    s3.upload_file(str(src), "big", "dataset/big.bin", Config=cfg)
    head = s3.head_object(Bucket="big", Key="dataset/big.bin")
    assert head["ContentLength"] == 100 << 20
    assert head["ETag"].strip('"').endswith("-7")
    dst = tmp_path / "back.bin"
    s3.download_file("big", "dataset/big.bin", str(dst), Config=cfg)
    assert sha256_file(dst) == sha256_file(src)


def test_multipart_abort_and_bad_parts(s3):
    s3.create_bucket(Bucket="mpu")
    up = s3.create_multipart_upload(Bucket="mpu", Key="k")["UploadId"]
    etag = s3.upload_part(Bucket="mpu", Key="k", UploadId=up, PartNumber=1, Body=b"a" * 100)["ETag"]
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket="mpu", Key="k", UploadId=up, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": etag}, {"PartNumber": 2, "ETag": etag}]})
    assert code_of(e) == "InvalidPart"
    assert [p["PartNumber"] for p in s3.list_parts(Bucket="mpu", Key="k", UploadId=up)["Parts"]] == [1]
    s3.abort_multipart_upload(Bucket="mpu", Key="k", UploadId=up)
    with pytest.raises(ClientError) as e:
        s3.list_parts(Bucket="mpu", Key="k", UploadId=up)
    assert code_of(e) == "NoSuchUpload"
    assert s3.list_objects_v2(Bucket="mpu")["KeyCount"] == 0


def test_bad_bucket_names_are_refused(s3):
    for name in ("ab", "UpperCase", "ping", "-leading"):
        with pytest.raises(ClientError) as e:
            s3.create_bucket(Bucket=name)
        assert code_of(e) in ("InvalidBucketName",), name


def test_aws_cli_mb_cp_ls_sync_rm(server, tmp_path):
    src = tmp_path / "tree"
    (src / "sub").mkdir(parents=True)
    files = {"a.txt": b"alpha", "sub/b.txt": b"bravo", "sub/c d.txt": b"charlie"}
    for name, data in files.items():
        (src / name).write_bytes(data)
    server.aws("s3", "mb", "s3://cli-bucket")
    server.aws("s3", "cp", str(src / "a.txt"), "s3://cli-bucket/single/a.txt")
    ls = server.aws("s3", "ls", "s3://cli-bucket/single/").stdout
    assert "a.txt" in ls
    server.aws("s3", "sync", str(src), "s3://cli-bucket/tree")
    listing = server.aws("s3", "ls", "--recursive", "s3://cli-bucket/tree/").stdout
    for name in files:
        assert f"tree/{name}" in listing
    back = tmp_path / "back"
    server.aws("s3", "sync", "s3://cli-bucket/tree", str(back))
    for name, data in files.items():
        assert (back / name).read_bytes() == data
    # A second sync has nothing to do.
    again = server.aws("s3", "sync", str(src), "s3://cli-bucket/tree").stdout
    assert "upload:" not in again
    server.aws("s3", "rm", "--recursive", "s3://cli-bucket/")
    assert server.aws("s3", "ls", "--recursive", "s3://cli-bucket/").stdout.strip() == ""
    server.aws("s3", "rb", "s3://cli-bucket")
