"""kill -9 during a stream of S3 puts and resource creates, then restart on the same data
directory: every acknowledged write is there, nothing half-written is visible."""
import hashlib
import threading
import time

from botocore.exceptions import ClientError, EndpointConnectionError

from conftest import Server, assert_clean_log


def body_for(key):
    """Content that proves itself: the key's digest repeated to a key-dependent size."""
    unit = hashlib.sha256(key.encode()).digest()
    size = 1000 + (int.from_bytes(unit[:3], "big") % (3 << 20))
    return (unit * (size // 32 + 1))[:size]


def test_kill_minus_nine_loses_no_acknowledged_write(tmp_path):
    srv = Server(tmp_path / "data").start()
    s3 = srv.client("s3")
    sm = srv.client("sagemaker")
    s3.create_bucket(Bucket="crash")
    acked_objects, acked_experiments = [], []
    stop = threading.Event()

    def put_loop(worker):
        i = 0
        while not stop.is_set():
            key = f"w{worker}/obj-{i}"
            try:
                s3.put_object(Bucket="crash", Key=key, Body=body_for(key))
                acked_objects.append(key)
            except (ClientError, EndpointConnectionError, Exception):
                return
            i += 1

    def create_loop():
        i = 0
        while not stop.is_set():
            name = f"exp-{i}"
            try:
                sm.create_experiment(ExperimentName=name, Description=f"d{i}")
                acked_experiments.append(name)
            except Exception:
                return
            i += 1

    threads = [threading.Thread(target=put_loop, args=(w,)) for w in range(3)]
    threads.append(threading.Thread(target=create_loop))
    for t in threads:
        t.start()
    time.sleep(3)
    srv.kill()  # SIGKILL mid-stream
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert len(acked_objects) > 5 and len(acked_experiments) > 5

    again = Server(tmp_path / "data", port=srv.port).start()
    try:
        s3 = again.client("s3")
        sm = again.client("sagemaker")
        listed = {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket="crash"):
            for o in page.get("Contents", []):
                listed[o["Key"]] = o["Size"]
        for key in acked_objects:
            assert key in listed, f"acknowledged object {key} is missing after the crash"
        # Whatever is visible, acknowledged or not, is whole.
        for key, size in listed.items():
            data = s3.get_object(Bucket="crash", Key=key)["Body"].read()
            assert data == body_for(key), f"object {key} is torn ({size} bytes)"
        for name in acked_experiments:
            d = sm.describe_experiment(ExperimentName=name)
            assert d["Description"] == "d" + name.split("-")[1]
        # The store still takes writes.
        sm.create_experiment(ExperimentName="after-crash")
        s3.put_object(Bucket="crash", Key="after", Body=b"ok")
    finally:
        code = again.stop()
    assert code == 0
    assert_clean_log(again)
