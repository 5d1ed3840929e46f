#!/usr/bin/env python3
"""bench/control_plane: signed DescribeExperiment calls per second.

wrk replays one botocore-signed DescribeExperiment request over keep-alive connections;
the server verifies the full SigV4 signature, validates against the service model and
reads the store on every call (AWS accepts a signature for 15 minutes, so a replay is a
valid request). The floor is GET /ping on the same server in the same run: no auth, no
JSON, no store. The script prints both rates and their ratio.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lathe_bench import BenchServer  # noqa: E402

LUA = """
wrk.method = "POST"
wrk.body = %s
wrk.headers = {}
%s
"""


def wrk_rate(url, script, seconds, connections, threads):
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
        path = f.name
    try:
        out = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d",
                              f"{seconds}s", "-s", path, "--latency", url],
                             check=True, capture_output=True, text=True).stdout
    finally:
        os.unlink(path)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    p99 = re.search(r"99%\s+([\d.]+\w+)", out)
    return rate, int(non2xx.group(1)) if non2xx else 0, p99.group(1) if p99 else "?"


def lua_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lathe", default="build/lathe")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--wrk-threads", type=int, default=1)
    ap.add_argument("--threads", type=int, default=None, help="server threads")
    args = ap.parse_args()

    with BenchServer(args.lathe, threads=args.threads) as srv:
        import boto3
        sm = boto3.client("sagemaker", endpoint_url=srv.endpoint, region_name="us-east-1",
                          aws_access_key_id=srv.creds.access_key,
                          aws_secret_access_key=srv.creds.secret_key)
        sm.create_experiment(ExperimentName="bench-exp", Description="benchmark target",
                             Tags=[{"Key": "k", "Value": "v"}])
        body = json.dumps({"ExperimentName": "bench-exp"})
        headers = srv.signed_headers("POST", "/", body.encode(), {
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "SageMaker.DescribeExperiment"})
        lines = [f"wrk.headers[{lua_string(k)}] = {lua_string(v)}" for k, v in headers.items()
                 if k.lower() != "host"]
        script = LUA % (lua_string(body), "\n".join(lines))
        describe, bad, p99 = wrk_rate(srv.endpoint + "/", script, args.seconds,
                                      args.connections, args.wrk_threads)
        floor_script = 'wrk.method = "GET"\n'
        ping, _, ping_p99 = wrk_rate(srv.endpoint + "/ping", floor_script, args.seconds,
                                     args.connections, args.wrk_threads)
    print(f"signed DescribeExperiment: {describe:,.0f} calls/s (p99 {p99}, non-2xx {bad})")
    print(f"HTTP floor (GET /ping):    {ping:,.0f} calls/s (p99 {ping_p99})")
    print(f"ratio Describe / floor:    {describe / ping:.2f}")
    print(f"target >= 20,000 calls/s:  {'met' if describe >= 20000 and bad == 0 else 'NOT met'}")
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
