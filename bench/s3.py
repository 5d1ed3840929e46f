#!/usr/bin/env python3
"""bench/s3: PUT and GET throughput of one large object next to `cp` on the same disk.

The object is written with curl (PUT, header-signed by botocore's S3 signer with the
body's real SHA-256, which the server checks while streaming) and read back with curl
into a file on the same file system. The references, in the same run: `cp` of the same
file (page cache, no fsync) and `cp` followed by `sync` of the copy (what an acknowledged
durable PUT has to pay: Lathe fsyncs an object before publishing it). Each measurement is
the best of --repeat runs.
"""
import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lathe_bench import BenchServer  # noqa: E402


def best_of(n, fn):
    return min(fn() for _ in range(n))


def timed(cmd):
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - start


def curl_args(headers):
    out = []
    for k, v in headers.items():
        if k.lower() not in ("host", "content-length"):
            out += ["-H", f"{k}: {v}"]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lathe", default="build/lathe")
    ap.add_argument("--size-mib", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workdir", default=None, help="directory on the disk to measure")
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="lathe-s3-bench-", dir=args.workdir)
    src = os.path.join(work, "object.bin")
    with open(src, "wb") as f:
        for _ in range(args.size_mib):
            f.write(os.urandom(1 << 20))
    size = os.path.getsize(src)
    sha = hashlib.sha256(open(src, "rb").read()).hexdigest()
    mib = size / (1 << 20)

    def cp_once():
        dst = os.path.join(work, "cp.bin")
        t = timed(["cp", src, dst])
        os.unlink(dst)
        return t

    def cp_sync_once():
        dst = os.path.join(work, "cp.bin")
        start = time.perf_counter()
        subprocess.run(["cp", src, dst], check=True)
        subprocess.run(["sync", dst], check=True)
        t = time.perf_counter() - start
        os.unlink(dst)
        return t

    with BenchServer(args.lathe, workdir=work) as srv:
        import boto3
        s3 = boto3.client("s3", endpoint_url=srv.endpoint, region_name="us-east-1",
                          aws_access_key_id=srv.creds.access_key,
                          aws_secret_access_key=srv.creds.secret_key)
        s3.create_bucket(Bucket="bench")
        url = srv.endpoint + "/bench/object.bin"

        def put_once():
            h = srv.signed_headers("PUT", "/bench/object.bin", service="s3", payload_hash=sha,
                                   headers={"Content-Length": str(size)})
            return timed(["curl", "-sS", "--fail", "-X", "PUT", "-T", src, *curl_args(h), url])

        def get_once():
            dst = os.path.join(work, "get.bin")
            h = srv.signed_headers("GET", "/bench/object.bin", service="s3",
                                   payload_hash=hashlib.sha256(b"").hexdigest())
            t = timed(["curl", "-sS", "--fail", "-o", dst, *curl_args(h), url])
            assert os.path.getsize(dst) == size
            os.unlink(dst)
            return t

        t_cp = best_of(args.repeat, cp_once)
        t_cp_sync = best_of(args.repeat, cp_sync_once)
        t_put = best_of(args.repeat, put_once)
        t_get = best_of(args.repeat, get_once)
        head = s3.head_object(Bucket="bench", Key="object.bin")
        assert head["ContentLength"] == size
        assert head["ETag"].strip('"') == hashlib.md5(open(src, "rb").read()).hexdigest()

    os.unlink(src)
    os.rmdir(work)
    print(f"object: {mib:.0f} MiB, best of {args.repeat}")
    print(f"cp (page cache):      {mib / t_cp:8.0f} MiB/s")
    print(f"cp + sync:            {mib / t_cp_sync:8.0f} MiB/s")
    print(f"S3 PUT (curl):        {mib / t_put:8.0f} MiB/s   ratio to cp {t_cp / t_put:.2f}, "
          f"to cp+sync {t_cp_sync / t_put:.2f}")
    print(f"S3 GET (curl -> file):{mib / t_get:8.0f} MiB/s   ratio to cp {t_cp / t_get:.2f}")
    print(f"target >= 0.7x cp:    PUT {'met' if t_cp / t_put >= 0.7 else 'NOT met'}, "
          f"GET {'met' if t_cp / t_get >= 0.7 else 'NOT met'}")


if __name__ == "__main__":
    sys.exit(main())
