#!/usr/bin/python3
"""XGBoost training time: Lathe `algo train xgboost` vs python3-xgboost's xgb.train with
tree_method=hist, same data, same run, same hyperparameters, 2 threads each
(nthread=2 / --threads 2), each also evaluating its train metric every round (SageMaker's
container always logs it; evals=[(dtrain, "train")] on the python side).

Data (float32, fixed seeds):
  regression: make_regression 1,000,000 x 50 (30 informative, noise 10) + 100,000 test rows;
              reg:squarederror, test rmse
  binary:     make_classification 200,000 x 50 (20 informative) + 50,000 test rows;
              binary:logistic, test AUC and accuracy
Hyperparameters: num_round 50, max_depth 6, eta 0.3, max_bin 256.

Lathe's time is the "trained xgboost in X s" it reports (from parsed data to the finished
model: quantile sketch, binning, boosting), python's the wall time of xgb.train on a fresh
DMatrix built beforehand (its sketch and binning happen inside the first train on a
DMatrix and are cached there, so each repeat builds a new one; one more train on a warm
DMatrix is printed for reference). Lathe's test metric comes from `lathe algo predict`.
Usage: python3 bench/algos/xgboost.py [--lathe build/lathe] [--scale 1.0] [--rounds 50]
                                      [--repeat 1]"""
import argparse, os, re, subprocess, sys, tempfile, time
# This file is itself named xgboost.py: drop its folder from the path so that the import
# below finds python3-xgboost, not this script.
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]
import numpy as np
import xgboost as xgb
from sklearn.datasets import make_classification, make_regression
from sklearn.metrics import roc_auc_score


def write_csv(path, x, y=None):
    with open(path, "w") as f:
        for s in range(0, len(x), 100_000):
            part = x[s:s + 100_000]
            if y is not None:
                part = np.hstack([y[s:s + 100_000, None].astype(np.float32), part])
            np.savetxt(f, part, delimiter=",", fmt="%.7g")


def run_case(a, tmp, name, obj, xtr, ytr, xte, yte):
    hp = {"objective": obj, "max_depth": 6, "eta": 0.3, "max_bin": 256}
    tr, te = os.path.join(tmp, name + "-train.csv"), os.path.join(tmp, name + "-test.csv")
    write_csv(tr, xtr, ytr)
    write_csv(te, xte)
    model = os.path.join(tmp, name + "-model")
    cmd = [a.lathe, "algo", "train", "xgboost", "--train", tr, "--model-dir", model,
           "--threads", "2", "--hp", "num_round=%d" % a.rounds]
    for k, v in hp.items():
        cmd += ["--hp", "%s=%s" % (k, v)]
    lt_train = lt_wall = float("inf")
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if r.returncode:
            print(r.stdout[-2000:], r.stderr, file=sys.stderr)
            return 1
        m = re.search(r"trained xgboost in ([0-9.]+) s", r.stderr)
        lt_train, lt_wall = min(lt_train, float(m.group(1)) if m else wall), min(lt_wall, wall)
    out = subprocess.run([a.lathe, "algo", "predict", "--model-dir", model, "--input", te,
                          "--content-type", "text/csv;label_size=0", "--accept", "text/csv",
                          "--threads", "2"], capture_output=True, text=True, check=True).stdout
    lt_pred = np.array([float(v) for v in out.split()])

    # A fresh DMatrix per run: xgboost caches its quantile cuts and bin matrix in the
    # DMatrix on the first train, and Lathe's time includes building them.
    params = dict(hp, tree_method="hist", nthread=2, seed=0)
    py_train = float("inf")
    for _ in range(a.repeat):
        dtrain = xgb.DMatrix(xtr, label=ytr, nthread=2)
        t0 = time.perf_counter()
        bst = xgb.train(params, dtrain, a.rounds, evals=[(dtrain, "train")], verbose_eval=False)
        py_train = min(py_train, time.perf_counter() - t0)
    t0 = time.perf_counter()
    xgb.train(params, dtrain, a.rounds, evals=[(dtrain, "train")], verbose_eval=False)
    py_warm = time.perf_counter() - t0
    py_pred = bst.predict(xgb.DMatrix(xte, nthread=2))

    print("%s: %d train rows x %d features, %d test rows, %d rounds, depth 6, 2 threads, "
          "best of %d" % (name, len(xtr), xtr.shape[1], len(xte), a.rounds, a.repeat))
    if obj == "reg:squarederror":
        lt_m = "rmse %.4f" % np.sqrt(np.mean((lt_pred - yte) ** 2))
        py_m = "rmse %.4f" % np.sqrt(np.mean((py_pred - yte) ** 2))
    else:
        lt_m = "auc %.4f acc %.4f" % (roc_auc_score(yte, lt_pred), np.mean((lt_pred > 0.5) == yte))
        py_m = "auc %.4f acc %.4f" % (roc_auc_score(yte, py_pred), np.mean((py_pred > 0.5) == yte))
    print("  lathe   train %7.3f s (command wall %.3f s incl. CSV read)  test %s"
          % (lt_train, lt_wall, lt_m))
    print("  xgboost train %7.3f s                                    test %s" % (py_train, py_m))
    print("  (xgboost again on the same DMatrix, cuts and bins cached: %.3f s)" % py_warm)
    print("  ratio lathe/xgboost %.3f" % (lt_train / py_train), flush=True)
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lathe", default="build/lathe")
    ap.add_argument("--scale", type=float, default=1.0, help="row-count multiplier")
    ap.add_argument("--rounds", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=1,
                    help="train each side this many times and keep the fastest (the box is shared)")
    a = ap.parse_args()
    n_reg, n_bin = int(1_000_000 * a.scale), int(200_000 * a.scale)
    rc = 0
    with tempfile.TemporaryDirectory() as tmp:
        x, y = make_regression(n_samples=n_reg + n_reg // 10, n_features=50, n_informative=30,
                               noise=10.0, random_state=0)
        x, y = x.astype(np.float32), y.astype(np.float32)
        rc |= run_case(a, tmp, "regression", "reg:squarederror", x[:n_reg], y[:n_reg],
                       x[n_reg:], y[n_reg:])
        del x, y
        x, y = make_classification(n_samples=n_bin + n_bin // 4, n_features=50, n_informative=20,
                                   random_state=0)
        x, y = x.astype(np.float32), y.astype(np.float32)
        rc |= run_case(a, tmp, "binary", "binary:logistic", x[:n_bin], y[:n_bin], x[n_bin:],
                       y[n_bin:])
    return rc


if __name__ == "__main__":
    sys.exit(main())
