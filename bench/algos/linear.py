#!/usr/bin/python3
"""Linear Learner training time and test AUC: Lathe `algo train linear-learner`
(predictor_type=binary_classifier, every other hyperparameter at its default: 8 models, adam,
15 epochs with early stopping, mini_batch_size 1000) vs scikit-learn's
SGDClassifier(loss='log_loss') at its defaults (alpha 1e-4, optimal learning rate, tol 1e-3,
5 epochs without improvement) on the same data, same run, 2 threads each (Lathe --threads 2;
sklearn's SGD is single-threaded; OPENBLAS_NUM_THREADS=1 for both).
Data: make_classification 1,200,000 x 100 (20 informative, 20 redundant, flip_y 0.01,
class_sep 0.8, seed 0), the first 1,000,000 rows to train, the rest to test. Neither side
is given a validation set. Lathe's time is what the train command reports for training
(CSV parsing excluded); sklearn's is fit() on the in-memory float32 array.
Usage: python3 bench/algos/linear.py [--lathe build/lathe] [--rows N]"""
import argparse, json, os, re, subprocess, sys, tempfile, time
import numpy as np
from sklearn.datasets import make_classification
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import roc_auc_score


def write_csv(path, x, y=None):
    with open(path, "w") as f:
        for s in range(0, len(x), 50_000):
            block = x[s:s + 50_000] if y is None else np.hstack([y[s:s + 50_000, None], x[s:s + 50_000]])
            np.savetxt(f, block, delimiter=",", fmt="%.6g")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lathe", default="build/lathe")
    ap.add_argument("--rows", type=int, default=1_000_000)
    a = ap.parse_args()
    n, nt, dim = a.rows, a.rows // 5, 100
    x, y = make_classification(n_samples=n + nt, n_features=dim, n_informative=20,
                               n_redundant=20, flip_y=0.01, class_sep=0.8, random_state=0)
    x = x.astype(np.float32)
    xtr, ytr, xte, yte = x[:n], y[:n], x[n:], y[n:]
    env = dict(os.environ, OMP_NUM_THREADS="2", OPENBLAS_NUM_THREADS="1")
    with tempfile.TemporaryDirectory() as tmp:
        tr, te, model = (os.path.join(tmp, f) for f in ("train.csv", "test.csv", "model"))
        write_csv(tr, xtr, ytr)
        write_csv(te, xte)
        p = subprocess.run([a.lathe, "algo", "train", "linear-learner", "--train", tr,
                            "--content-type", "text/csv", "--hp", "predictor_type=binary_classifier",
                            "--hp", "feature_dim=%d" % dim, "--threads", "2", "--model-dir", model],
                           capture_output=True, text=True, env=env)
        if p.returncode:
            print(p.stdout, p.stderr, file=sys.stderr)
            return 1
        lt_secs = float(re.search(r"trained linear-learner in ([0-9.]+) s", p.stderr).group(1))
        epochs = len(re.findall(r"train objective_loss", p.stdout)) - 1
        p = subprocess.run([a.lathe, "algo", "predict", "--model-dir", model, "--input", te,
                            "--content-type", "text/csv;label_size=0", "--accept",
                            "application/jsonlines", "--threads", "2"],
                           capture_output=True, text=True, env=env)
        if p.returncode:
            print(p.stderr, file=sys.stderr)
            return 1
        lt_score = np.array([json.loads(l)["score"] for l in p.stdout.splitlines()])
    lt_auc = roc_auc_score(yte, lt_score)
    t0 = time.perf_counter()
    sk = SGDClassifier(loss="log_loss", random_state=0).fit(xtr, ytr)
    sk_secs = time.perf_counter() - t0
    sk_auc = roc_auc_score(yte, sk.decision_function(xte))
    print("train %d x %d, test %d, threads 2" % (n, dim, nt))
    print("lathe linear-learner  train %7.2f s  (%d epochs)  test AUC %.4f" % (lt_secs, epochs, lt_auc))
    print("sklearn SGDClassifier train %7.2f s  (%d epochs)  test AUC %.4f" % (sk_secs, sk.n_iter_, sk_auc))
    print("ratio lathe/sklearn train time %.3f (aim <= 0.5); AUC lathe - sklearn %+.4f (aim >= -0.002)"
          % (lt_secs / sk_secs, lt_auc - sk_auc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
