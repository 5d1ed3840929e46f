#!/usr/bin/env python3
"""bench/serving_byo: what Lathe's proxy costs in front of a bring-your-own serve program.

The program: Python's ThreadingHTTPServer answering /invocations with a constant (HTTP/1.1,
keep-alive), pushed as an image and deployed with InitialInstanceCount workers. wrk on loopback
replays one signed single-row text/csv InvokeEndpoint against the endpoint, then the same
request unsigned against one worker's port directly (same program, same machine). The
difference is the runtime's share: SigV4, routing, the proxy hop over a kept-alive connection.
The same program also answers SageMaker's multi-model contract (POST /models,
POST /models/<name>/invoke): a third run calls it as a multi-model endpoint, every call naming
one TargetModel (loaded on the warm-up's first call), to show what the multi-model routing adds.
"""
import argparse
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lathe_bench import BenchServer, deploy_endpoint, free_port  # noqa: E402
from serving import lua, wrk  # noqa: E402

SERVE = r'''#!/usr/bin/env python3
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = int(os.environ.get("WBUFSIZE", "65536"))  # 0: headers and body in two writes

    def log_message(self, *a):
        pass

    def reply(self, body):
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.reply(b"")

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path == "/models":  # the multi-model contract's load
            return self.reply(b"{}")
        self.reply(b"0.5\n")


ThreadingHTTPServer(("127.0.0.1", int(os.environ["SAGEMAKER_BIND_TO_PORT"])), H).serve_forever()
'''


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lathe", default="build/lathe")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--split-writes", action="store_true",
                    help="the program writes headers and body apart (http.server's default)")
    args = ap.parse_args()
    img = tempfile.mkdtemp(prefix="lathe-byo-img-")
    with open(os.path.join(img, "serve"), "w") as f:
        f.write(SERVE)
    os.chmod(os.path.join(img, "serve"), 0o755)
    row = "1,2,3\n"
    with BenchServer(args.lathe) as srv:
        import boto3
        subprocess.run([args.lathe, "image", "push", "bench/const:v1", img, "--data-dir", srv.data_dir],
                       check=True, capture_output=True)
        kw = dict(endpoint_url=srv.endpoint, region_name="us-east-1",
                  aws_access_key_id=srv.creds.access_key, aws_secret_access_key=srv.creds.secret_key)
        sm = boto3.client("sagemaker", **kw)
        wbuf = "0" if args.split_writes else "65536"
        sm.create_model(ModelName="c", ExecutionRoleArn="arn:aws:iam::000000000000:role/b",
                        PrimaryContainer={"Image": "bench/const:v1", "Environment": {"WBUFSIZE": wbuf}})
        deploy_endpoint(sm, "c", "c", instances=args.workers, timeout_s=30)
        headers = srv.signed_headers("POST", "/endpoints/c/invocations", row.encode(),
                                     {"Content-Type": "text/csv", "Accept": "text/csv"})
        # A second's warm-up first, for both paths: the first burst of calls opens the
        # connections to the program, and past its listen backlog (Python's default is 5) a
        # connection waits out a 1 s SYN retry, which wrk's latency correction spreads over
        # the run. What is measured is the steady state.
        wrk(srv.endpoint + "/endpoints/c/invocations", lua(row, headers), 1, args.connections)
        via_rate, via_bad, via_p99 = wrk(srv.endpoint + "/endpoints/c/invocations", lua(row, headers),
                                         args.seconds, args.connections)
        s3 = boto3.client("s3", **kw)
        s3.create_bucket(Bucket="mme")
        tgz = io.BytesIO()
        with tarfile.open(fileobj=tgz, mode="w:gz") as t:
            info = tarfile.TarInfo("weights")
            t.addfile(info, io.BytesIO(b""))
        s3.put_object(Bucket="mme", Key="models/m1.tar.gz", Body=tgz.getvalue())
        sm.create_model(ModelName="cm", ExecutionRoleArn="arn:aws:iam::000000000000:role/b",
                        PrimaryContainer={"Image": "bench/const:v1", "Mode": "MultiModel",
                                          "ModelDataUrl": "s3://mme/models/",
                                          "Environment": {"WBUFSIZE": wbuf}})
        deploy_endpoint(sm, "cm", "cm", instances=args.workers, timeout_s=30)
        mm_headers = srv.signed_headers("POST", "/endpoints/cm/invocations", row.encode(),
                                        {"Content-Type": "text/csv", "Accept": "text/csv",
                                         "X-Amzn-SageMaker-Target-Model": "m1.tar.gz"})
        wrk(srv.endpoint + "/endpoints/cm/invocations", lua(row, mm_headers), 1, args.connections)
        mm_rate, mm_bad, mm_p99 = wrk(srv.endpoint + "/endpoints/cm/invocations",
                                      lua(row, mm_headers), args.seconds, args.connections)
    # The same program on its own, outside Lathe.
    port = free_port()
    proc = subprocess.Popen([sys.executable, os.path.join(img, "serve")],
                            env=dict(os.environ, SAGEMAKER_BIND_TO_PORT=str(port), WBUFSIZE=wbuf))
    try:
        time.sleep(1)
        wrk(f"http://127.0.0.1:{port}/invocations", lua(row, {"Content-Type": "text/csv"}), 1,
            args.connections)
        direct_rate, direct_bad, direct_p99 = wrk(f"http://127.0.0.1:{port}/invocations",
                                                  lua(row, {"Content-Type": "text/csv"}),
                                                  args.seconds, args.connections)
    finally:
        proc.terminate()
        proc.wait()
    print(f"BYO serve program (Python ThreadingHTTPServer{', split writes' if args.split_writes else ''}), "
          f"{args.workers} worker(s), wrk "
          f"{args.connections} connections, {args.seconds} s:")
    print(f"  through Lathe : {via_rate:9.0f} req/s  p99 {via_p99:6.2f} ms  non-2xx {via_bad}")
    print(f"  multi-model   : {mm_rate:9.0f} req/s  p99 {mm_p99:6.2f} ms  non-2xx {mm_bad}"
          "  (the same program as a multi-model endpoint, one TargetModel)")
    print(f"  direct        : {direct_rate:9.0f} req/s  p99 {direct_p99:6.2f} ms  non-2xx {direct_bad}")
    print(f"  ratio         : {via_rate / direct_rate:9.2f} (multi-model {mm_rate / direct_rate:.2f})")


if __name__ == "__main__":
    main()
