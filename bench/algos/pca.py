#!/usr/bin/python3
"""PCA training time: Lathe `algo train pca` (regular and randomized) vs scikit-learn PCA
(svd_solver='full' and 'randomized'), same data, same run, 2 threads each: Lathe with
--threads 2 (OpenMP; its BLAS calls single-threaded, OPENBLAS_NUM_THREADS=1), sklearn with
its BLAS/LAPACK limited to 2 threads through threadpoolctl.
Data: the issue's case, 500,000 x 100 float32, rank-30 signal (scales 10 * 0.85^i) plus unit noise, seed 0;
num_components = 10. Lathe's time is what the train command reports for training (CSV
parsing excluded); the agreement of the explained variance ratios is printed too.
Usage: python3 bench/algos/pca.py [--lathe build/lathe] [--rows N] [--dim D]"""
import argparse, json, os, re, subprocess, sys, tempfile, time
import numpy as np
from sklearn.decomposition import PCA
from threadpoolctl import threadpool_limits


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lathe", default="build/lathe")
    ap.add_argument("--rows", type=int, default=500_000)
    ap.add_argument("--dim", type=int, default=100)
    a = ap.parse_args()
    n, d, nc, r = a.rows, a.dim, 10, 30
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.standard_normal((d, r)))[0]
    x = ((rng.standard_normal((n, r)) * (10 * 0.85 ** np.arange(r))) @ basis.T
         + rng.standard_normal((n, d)) + 3).astype(np.float32)
    env = dict(os.environ, OMP_NUM_THREADS="2", OPENBLAS_NUM_THREADS="1")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        csv = os.path.join(tmp, "train.csv")
        with open(csv, "w") as f:
            for s in range(0, n, 50_000):
                np.savetxt(f, x[s:s + 50_000], delimiter=",", fmt="%.7g")
        for mode in ["regular", "randomized"]:
            model = os.path.join(tmp, "model-" + mode)
            t0 = time.perf_counter()
            p = subprocess.run([a.lathe, "algo", "train", "pca", "--train", csv, "--content-type",
                                "text/csv;label_size=0", "--hp", "feature_dim=%d" % d,
                                "--hp", "num_components=%d" % nc, "--hp", "mini_batch_size=1000",
                                "--hp", "algorithm_mode=" + mode, "--threads", "2",
                                "--model-dir", model], capture_output=True, text=True, env=env)
            wall = time.perf_counter() - t0
            if p.returncode:
                print(p.stdout, p.stderr, file=sys.stderr)
                return 1
            m = re.search(r"trained pca in ([0-9.]+) s", p.stderr)
            evr = json.load(open(os.path.join(model, "pca_model.json")))["explained_variance_ratio"]
            results[mode] = (float(m.group(1)) if m else wall, wall, np.array(evr))
    print("rows %d dim %d num_components %d threads 2" % (n, d, nc))
    for mode, solver in [("regular", "full"), ("randomized", "randomized")]:
        with threadpool_limits(limits=2):
            t0 = time.perf_counter()
            sk = PCA(n_components=nc, svd_solver=solver, random_state=0).fit(x)
            sk_time = time.perf_counter() - t0
        lt_time, lt_wall, evr = results[mode]
        print("lathe %-10s train %.3f s (command wall %.3f s incl. CSV read)" % (mode, lt_time, lt_wall))
        print("sklearn %-8s fit   %.3f s   max |evr diff| %.1e"
              % (solver, sk_time, np.abs(evr - sk.explained_variance_ratio_).max()))
        print("ratio lathe/sklearn (%s) %.3f" % (mode, lt_time / sk_time))
    return 0


if __name__ == "__main__":
    sys.exit(main())
