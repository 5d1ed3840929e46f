#!/usr/bin/env python3
"""`make bench`: every benchmark, each printing its figures beside its reference."""
import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BENCHES = ["control_plane.py", "s3.py", "jobs.py", "serving.py", "serving_byo.py", "algos/kmeans.py", "algos/xgboost.py",
           "algos/pca.py", "algos/knn.py", "algos/linear.py", "tuning.py"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lathe", default="build/lathe")
    args = ap.parse_args()
    status = 0
    for name in BENCHES:
        print(f"== bench/{name[:-3]}", flush=True)
        rc = subprocess.call([sys.executable, os.path.join(HERE, name), "--lathe", args.lathe])
        status = status or rc
    return status


if __name__ == "__main__":
    sys.exit(main())
