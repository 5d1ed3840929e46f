#!/usr/bin/python3
"""Reference check on Fashion-MNIST (Debian's dataset-fashion-mnist): Lathe's XGBoost,
Linear Learner and K-Means trained by `lathe algo train` against python3-xgboost and
scikit-learn trained with the same settings on the same rows, in one run.

  XGBoost multi:softprob, hist, depth 6, eta 0.3, 20 rounds, max_bin 64:
      test accuracy within 0.01 of python3-xgboost's.
  Linear Learner multiclass_classifier (sgd, wd = 1/n as LogisticRegression's C=1):
      test accuracy within 0.02 of sklearn's LogisticRegression.
  K-Means k=10 with SageMaker's defaults (web-scale: random init, mini-batches of 5000,
      k' = 10k, local Lloyd reduction): inertia within 2% of sklearn's KMeans (k-means++,
      Lloyd to convergence), best of 3 seeds each (measured: 0.17% under).

Subset: the first 6,000 training images and the first 2,000 test images (pixels / 255), so
the check stays well under a minute on 2 cores.
Usage: python3 tests/algo/fashion_mnist_parity.py [--lathe build/lathe]; non-zero on failure."""
import argparse, gzip, json, os, subprocess, sys, tempfile
import numpy as np

ROOT = "/usr/share/datasets/fashion-mnist"
N_TRAIN, N_TEST = 6000, 2000
failures = []


def idx(path, header):
    with gzip.open(os.path.join(ROOT, path), "rb") as f:
        data = f.read()
    return np.frombuffer(data, dtype=np.uint8, offset=header)


def load():
    xtr = idx("train-images-idx3-ubyte.gz", 16).reshape(-1, 784)[:N_TRAIN] / 255.0
    ytr = idx("train-labels-idx1-ubyte.gz", 8)[:N_TRAIN].astype(int)
    xte = idx("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 784)[:N_TEST] / 255.0
    yte = idx("t10k-labels-idx1-ubyte.gz", 8)[:N_TEST].astype(int)
    return xtr.astype(np.float32), ytr, xte.astype(np.float32), yte


def check(ok, what):
    print("%-70s %s" % (what, "ok" if ok else "FAIL"))
    if not ok:
        failures.append(what)


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} failed:\n{r.stderr[-2000:]}")
    return r.stdout


def lathe_train_predict(lathe, algo, tmp, train_csv, test_csv, hps):
    model = os.path.join(tmp, algo + "-model")
    run([lathe, "algo", "train", algo, "--train", train_csv, "--model-dir", model, "--threads", "2"]
        + [a for k, v in hps.items() for a in ("--hp", f"{k}={v}")])
    out = run([lathe, "algo", "predict", "--model-dir", model, "--input", test_csv, "--content-type",
               "text/csv;label_size=0", "--accept", "application/jsonlines", "--threads", "2"])
    return [json.loads(l) for l in out.splitlines() if l.strip()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lathe", default="build/lathe")
    a = ap.parse_args()
    if not os.path.isdir(ROOT):
        raise SystemExit(f"{ROOT} is missing: install dataset-fashion-mnist (deps/debian.txt)")
    xtr, ytr, xte, yte = load()
    with tempfile.TemporaryDirectory() as tmp:
        train_csv = os.path.join(tmp, "train.csv")
        test_csv = os.path.join(tmp, "test.csv")
        train_x_csv = os.path.join(tmp, "train-x.csv")
        np.savetxt(train_csv, np.column_stack([ytr, xtr]), delimiter=",", fmt="%.6g")
        np.savetxt(test_csv, xte, delimiter=",", fmt="%.6g")
        np.savetxt(train_x_csv, xtr, delimiter=",", fmt="%.6g")

        import xgboost as xgb
        params = {"objective": "multi:softprob", "num_class": 10, "max_depth": 6, "eta": 0.3,
                  "max_bin": 64, "tree_method": "hist", "nthread": 2}
        ref = xgb.train(params, xgb.DMatrix(xtr, label=ytr), num_boost_round=20)
        ref_acc = float(np.mean(ref.predict(xgb.DMatrix(xte)).argmax(1) == yte))
        recs = lathe_train_predict(a.lathe, "xgboost", tmp, train_csv, test_csv,
                                   {"objective": "multi:softprob", "num_class": 10, "max_depth": 6,
                                    "eta": 0.3, "max_bin": 64, "num_round": 20})
        acc = float(np.mean(np.array([np.argmax(r["score"]) for r in recs]) == yte))
        check(abs(acc - ref_acc) <= 0.01, f"xgboost accuracy {acc:.4f} vs python3-xgboost {ref_acc:.4f}")

        from sklearn.linear_model import LogisticRegression
        import warnings
        from sklearn.exceptions import ConvergenceWarning
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # lbfgs at 300 iterations is plenty here
            lr = LogisticRegression(max_iter=300).fit(xtr, ytr)
        ref_acc = float(lr.score(xte, yte))
        recs = lathe_train_predict(a.lathe, "linear-learner", tmp, train_csv, test_csv,
                                   {"predictor_type": "multiclass_classifier", "num_classes": 10,
                                    "feature_dim": 784, "optimizer": "sgd", "epochs": 15,
                                    "wd": 1.0 / N_TRAIN, "mini_batch_size": 100})
        acc = float(np.mean(np.array([int(r["predicted_label"]) for r in recs]) == yte))
        check(abs(acc - ref_acc) <= 0.02, f"linear-learner accuracy {acc:.4f} vs LogisticRegression {ref_acc:.4f}")

        from sklearn.cluster import KMeans
        ref_inertia = min(KMeans(10, init="k-means++", n_init=1, algorithm="lloyd", random_state=s)
                          .fit(xtr.astype(np.float64)).inertia_ for s in range(3))
        best = None
        for seed in range(3):
            recs = lathe_train_predict(a.lathe, "kmeans", tmp, train_csv, train_x_csv,
                                       {"k": 10, "feature_dim": 784, "seed": seed})
            inertia = float(sum(r["distance_to_cluster"] ** 2 for r in recs))
            best = inertia if best is None else min(best, inertia)
        check(best <= 1.02 * ref_inertia, f"kmeans inertia {best:.1f} vs sklearn {ref_inertia:.1f} (ratio {best / ref_inertia:.4f})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
