#!/usr/bin/python3
"""XGBoost: Lathe `algo train/predict xgboost` vs python3-xgboost 1.7 (tree_method=hist), same
data, same run, same hyperparameters, 2 threads each (--threads 2 / nthread=2), each also
evaluating its train metric every round (SageMaker's container always logs it;
evals=[(dtrain, "train")] on the python side).

Cases (float32, fixed seeds):
  binary:     the issue's aim: make_classification 1,000,000 x 28 (random_state 0) + 200,000
              test rows; binary:logistic, 100 rounds, depth 6, eta 0.1, max_bin 256;
              test AUC
  regression: make_regression 1,000,000 x 50 (30 informative, noise 10) + 100,000 test rows;
              reg:squarederror, 50 rounds, depth 6, eta 0.3, max_bin 256; test rmse
              (--cases binary,regression; only binary by default)

Each side runs in its own child process that does the same work: load the training data,
train, save the model. Lathe's child is `lathe algo train` parsing the CSV; python's child
loads the same rows from a .npy file (no CSV parsing cost charged to it), builds a DMatrix
and calls xgb.train. Figures:
  train time   Lathe: the "trained xgboost in X s" it reports (parsed data to finished
               model: quantile sketch, binning, boosting); python: the wall time of
               xgb.train on a fresh DMatrix (its sketch and binning happen inside). Both also
               report the process CPU seconds of that span (on a shared machine wall time
               swings with other load; CPU time much less).
  peak memory  peak RSS of each child (GNU time's %M): the whole process, data included.
  predict      both predict the test rows with the same model (Lathe's, which python3-xgboost
               loads): Lathe's "predicted in X s" (model loaded, rows parsed), python's
               bst.predict on a DMatrix built beforehand (a fresh one per call: xgboost
               caches predictions per DMatrix). Rows per second; fastest of --predict-repeat.
The aims (issue 4): train time <= 0.67x xgboost's, AUC >= xgboost's - 0.001, peak memory <=
xgboost's, predict rows/s >= 2x xgboost's. With --repeat N the training runs N times
alternating sides and the medians (and ranges) are printed.
Usage: python3 bench/algos/xgboost.py [--lathe build/lathe] [--scale 1.0] [--repeat 1]
                                      [--cases binary[,regression]]"""
import argparse, json, os, re, statistics, subprocess, sys, tempfile, time
# This file is itself named xgboost.py: drop its folder from the path so that the import
# below finds python3-xgboost, not this script.
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]
import numpy as np
import xgboost as xgb
from sklearn.datasets import make_classification, make_regression
from sklearn.metrics import roc_auc_score

# The python side's child: argv = x.npy y.npy params.json rounds model_out
PY_TRAIN = r"""
import json, sys, time, numpy as np, xgboost as xgb
x = np.load(sys.argv[1]); y = np.load(sys.argv[2])
params = json.loads(sys.argv[3])
d = xgb.DMatrix(x, label=y, nthread=params["nthread"])
t0, c0 = time.perf_counter(), time.process_time()
bst = xgb.train(params, d, int(sys.argv[4]), evals=[(d, "train")], verbose_eval=False)
print("train", time.perf_counter() - t0, time.process_time() - c0)
bst.save_model(sys.argv[5])
"""


def write_csv(path, x, y=None):
    with open(path, "w") as f:
        for s in range(0, len(x), 100_000):
            part = x[s:s + 100_000]
            if y is not None:
                part = np.hstack([y[s:s + 100_000, None].astype(np.float32), part])
            np.savetxt(f, part, delimiter=",", fmt="%.7g")


def child(cmd):
    """Runs cmd; returns (stdout, stderr, peak RSS in MiB). The peak comes from GNU time
    (Debian's `time`), whose own small process forks the command: Linux carries a
    process's peak RSS across exec, so a child forked straight from this (large) python
    process would report this process's size when that is larger."""
    with tempfile.NamedTemporaryFile() as rss:
        r = subprocess.run(["/usr/bin/time", "-o", rss.name, "-f", "%M"] + cmd,
                           capture_output=True, text=True)
        if r.returncode:
            raise RuntimeError("%s failed:\n%s\n%s" % (cmd[:3], r.stdout[-2000:], r.stderr[-2000:]))
        return r.stdout, r.stderr, int(open(rss.name).read().split()[-1]) / 1024.0


def med(v):
    return "%.3f (%.3f-%.3f)" % (statistics.median(v), min(v), max(v))


def run_case(a, tmp, name, obj, hp, rounds, xtr, ytr, xte, yte):
    tr, te = os.path.join(tmp, name + "-train.csv"), os.path.join(tmp, name + "-test.csv")
    xnp, ynp = os.path.join(tmp, name + "-x.npy"), os.path.join(tmp, name + "-y.npy")
    write_csv(tr, xtr, ytr)
    write_csv(te, xte)
    np.save(xnp, xtr), np.save(ynp, ytr)
    model, py_model = os.path.join(tmp, name + "-model"), os.path.join(tmp, name + "-py.json")
    lt_cmd = [a.lathe, "algo", "train", "xgboost", "--train", tr, "--model-dir", model,
              "--threads", "2", "--hp", "num_round=%d" % rounds, "--hp", "objective=" + obj]
    for k, v in hp.items():
        lt_cmd += ["--hp", "%s=%s" % (k, v)]
    params = dict(hp, objective=obj, tree_method="hist", nthread=2, seed=0)
    py_cmd = [sys.executable, "-c", PY_TRAIN, xnp, ynp, json.dumps(params), str(rounds), py_model]
    lt_w, lt_c, lt_m, py_w, py_c, py_m = [], [], [], [], [], []
    for _ in range(a.repeat):  # alternate sides so both see the same load
        _, e, rss = child(lt_cmd)
        m = re.search(r"trained xgboost in ([0-9.]+) s \(cpu ([0-9.]+) s\)", e)
        lt_w.append(float(m.group(1))), lt_c.append(float(m.group(2))), lt_m.append(rss)
        o, _, rss = child(py_cmd)
        _, w, c = o.split()
        py_w.append(float(w)), py_c.append(float(c)), py_m.append(rss)

    pred_cmd = [a.lathe, "algo", "predict", "--model-dir", model, "--input", te, "--content-type",
                "text/csv;label_size=0", "--accept", "text/csv", "--threads", "2"]
    lt_pw, lt_pc = [], []
    for _ in range(a.predict_repeat):
        r = subprocess.run(pred_cmd, capture_output=True, text=True, check=True)
        m = re.search(r"predicted in ([0-9.]+) s \(cpu ([0-9.]+) s\)", r.stderr)
        lt_pw.append(float(m.group(1))), lt_pc.append(float(m.group(2)))
    lt_pred = np.array([float(v) for v in r.stdout.split()])
    # python3-xgboost predicts Lathe's own model (the same trees) and its own model (quality)
    same = xgb.Booster(model_file=os.path.join(model, "xgboost-model"))
    same.set_param({"nthread": 2})
    py_pw, py_pc = [], []
    for _ in range(a.predict_repeat):
        dte = xgb.DMatrix(xte, nthread=2)
        t0, c0 = time.perf_counter(), time.process_time()
        same.predict(dte)
        py_pw.append(time.perf_counter() - t0), py_pc.append(time.process_time() - c0)
    own = xgb.Booster(model_file=py_model)
    own.set_param({"nthread": 2})
    py_pred = own.predict(xgb.DMatrix(xte, nthread=2))

    print("%s: %d train rows x %d features, %d test rows, %d rounds, %s, 2 threads, "
          "%d training run(s) each, median (range)"
          % (name, len(xtr), xtr.shape[1], len(xte), rounds, hp, a.repeat))
    if obj == "reg:squarederror":
        lt_q = np.sqrt(np.mean((lt_pred - yte) ** 2))
        py_q = np.sqrt(np.mean((py_pred - yte) ** 2))
        qual = "test rmse lathe %.4f xgboost %.4f" % (lt_q, py_q)
    else:
        lt_q, py_q = roc_auc_score(yte, lt_pred), roc_auc_score(yte, py_pred)
        qual = "test auc lathe %.5f xgboost %.5f (aim >= xgboost - 0.001: %s)" % (
            lt_q, py_q, "met" if lt_q >= py_q - 0.001 else "NOT met")
    rw = [l / p for l, p in zip(lt_w, py_w)]
    rc = [l / p for l, p in zip(lt_c, py_c)]
    print("  train wall s  lathe %s  xgboost %s  ratio %s" % (med(lt_w), med(py_w), med(rw)))
    print("  train cpu s   lathe %s  xgboost %s  ratio %s" % (med(lt_c), med(py_c), med(rc)))
    print("  train aim ratio <= 0.67 (wall, median): %s" %
          ("met" if statistics.median(rw) <= 0.67 else "NOT met"))
    print("  " + qual)
    print("  peak RSS MiB  lathe %.0f  xgboost %.0f  ratio %.2f (aim <= 1: %s)"
          % (max(lt_m), max(py_m), max(lt_m) / max(py_m),
             "met" if max(lt_m) <= max(py_m) else "NOT met"))
    lt_rps, py_rps = len(xte) / min(lt_pw), len(xte) / min(py_pw)
    print("  predict rows/s (same model, fastest of %d) lathe %.0f  xgboost %.0f  ratio %.2f "
          "(aim >= 2: %s); cpu s per call lathe %.3f xgboost %.3f"
          % (a.predict_repeat, lt_rps, py_rps, lt_rps / py_rps,
             "met" if lt_rps >= 2 * py_rps else "NOT met", min(lt_pc), min(py_pc)), flush=True)
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lathe", default="build/lathe")
    ap.add_argument("--scale", type=float, default=1.0, help="row-count multiplier")
    ap.add_argument("--repeat", type=int, default=1,
                    help="train each side this many times, alternating (the box is shared)")
    ap.add_argument("--predict-repeat", type=int, default=5)
    ap.add_argument("--cases", default="binary")
    a = ap.parse_args()
    cases = a.cases.split(",")
    rc = 0
    with tempfile.TemporaryDirectory() as tmp:
        if "binary" in cases:
            n, nt = int(1_000_000 * a.scale), int(200_000 * a.scale)
            x, y = make_classification(n_samples=n + nt, n_features=28, random_state=0)
            x, y = x.astype(np.float32), y.astype(np.float32)
            rc |= run_case(a, tmp, "binary", "binary:logistic",
                           {"max_depth": 6, "eta": 0.1, "max_bin": 256}, 100,
                           x[:n], y[:n], x[n:], y[n:])
            del x, y
        if "regression" in cases:
            n = int(1_000_000 * a.scale)
            x, y = make_regression(n_samples=n + n // 10, n_features=50, n_informative=30,
                                   noise=10.0, random_state=0)
            x, y = x.astype(np.float32), y.astype(np.float32)
            rc |= run_case(a, tmp, "regression", "reg:squarederror",
                           {"max_depth": 6, "eta": 0.3, "max_bin": 256}, 50,
                           x[:n], y[:n], x[n:], y[n:])
    return rc


if __name__ == "__main__":
    sys.exit(main())
