#!/usr/bin/python3
"""Reference check: Lathe's Linear Learner against scikit-learn on the data sets Debian's
python3-sklearn ships, each with a seeded stratified 75/25 split, Lathe at its default
hyperparameters (8 models, adam, 15 epochs, early stopping; no validation channel) and
sklearn's estimators on standardised features (Lathe normalises its own):
  breast_cancer, binary: test AUC within 0.01 of LogisticRegression (C=1) and of
      SGDClassifier(loss='log_loss'); the JSON Lines, JSON and CSV records agree;
  diabetes, regressor: test RMSE within 5% of Ridge (alpha=1) and of SGDRegressor;
  digits, multiclass (10 classes): test accuracy within 0.02 of LogisticRegression (C=1),
      Lathe with the comparable settings wd = 1/n_train (C=1's penalty), sgd, mini-batches
      of 100 and 50 epochs; its default-settings accuracy is printed, not checked.
The binary and regression runs also pass the labelled test rows as a test channel: the
#test_score lines (SageMaker's labels: binary_f_1.000, <loss>_objective) and test:* metric
lines must equal scikit-learn's accuracy, F1, precision, recall, ROC AUC, MSE and absolute
error computed from Lathe's own predictions of those rows (to 1e-6).
Usage: python3 tests/algo/linear_parity.py [--lathe build/lathe]; non-zero exit on failure."""
import argparse, json, os, re, subprocess, sys, tempfile
import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.linear_model import LogisticRegression, Ridge, SGDClassifier, SGDRegressor
from sklearn.metrics import (accuracy_score, f1_score, mean_absolute_error, mean_squared_error,
                             precision_score, recall_score, roc_auc_score)
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        sys.exit("command failed: %s\n%s%s" % (" ".join(cmd), r.stdout, r.stderr))
    return r.stdout


def lathe(binary, xtr, ytr, xte, tmp, hps, accept="application/jsonlines", yte=None):
    tr, te, model = (os.path.join(tmp, f) for f in ("train.csv", "test.csv", "model"))
    np.savetxt(tr, np.hstack([ytr[:, None], xtr]), delimiter=",", fmt="%.9g")
    np.savetxt(te, xte, delimiter=",", fmt="%.9g")
    cmd = [binary, "algo", "train", "linear-learner", "--train", tr, "--content-type", "text/csv",
           "--model-dir", model, "--threads", "2", "--hp", "feature_dim=%d" % xtr.shape[1]]
    if yte is not None:  # the labelled test rows as the test channel
        labelled = os.path.join(tmp, "test-labelled.csv")
        np.savetxt(labelled, np.hstack([yte[:, None], xte]), delimiter=",", fmt="%.9g")
        cmd += ["--test", labelled]
    for h in hps:
        cmd += ["--hp", h]
    log = run(cmd)
    out = run([binary, "algo", "predict", "--model-dir", model, "--input", te, "--content-type",
               "text/csv;label_size=0", "--accept", accept, "--threads", "2"])
    return log, out


def test_scores(log, expect):
    """The #test_score and test:* lines against expected {label: (metric name, value)}."""
    scores = dict(re.findall(r"^#test_score \(algo-1\) : \('([^']+)', (\S+)\)$", log, re.M))
    metrics = dict(re.findall(r"^#quality_metric: host=algo-1, test (\S+) <loss>=(\S+)$", log, re.M))
    good = True
    for label, (name, want) in expect.items():
        got, line = float(scores.get(label, "nan")), float(metrics.get(name, "nan"))
        if not (abs(got - want) <= 1e-6 * max(1, abs(want)) and abs(line - want) <= 1e-6 * max(1, abs(want))):
            print("  test %s: #test_score %r, test:%s %r, expected %r" % (label, got, name, line, want))
            good = False
    return good


def split(x, y, stratify=True):
    return train_test_split(x, y, test_size=0.25, random_state=0, stratify=y if stratify else None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lathe", default="build/lathe")
    a = ap.parse_args()
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        # binary
        xtr, xte, ytr, yte = split(*load_breast_cancer(return_X_y=True))
        sc = StandardScaler().fit(xtr)
        log, out = lathe(a.lathe, xtr, ytr, xte, tmp, ["predictor_type=binary_classifier"], yte=yte)
        rows = [json.loads(l) for l in out.splitlines()]
        score = np.array([r["score"] for r in rows])
        label = np.array([r["predicted_label"] for r in rows])
        p = np.clip(score, 1e-15, 1)
        logloss = float(-np.mean(np.where(yte == 1, np.log(p), np.log(np.clip(1 - score, 1e-15, 1)))))
        test_ok = test_scores(log, {
            "binary_classification_cross_entropy_objective": ("objective_loss", logloss),
            "binary_classification_accuracy": ("binary_classification_accuracy", accuracy_score(yte, label)),
            "binary_f_1.000": ("binary_f_beta", f1_score(yte, label)),
            "precision": ("precision", precision_score(yte, label)),
            "recall": ("recall", recall_score(yte, label)),
            "roc_auc_score": ("roc_auc_score", roc_auc_score(yte, score))})
        lt_auc = roc_auc_score(yte, score)
        lr_auc = roc_auc_score(yte, LogisticRegression(max_iter=5000).fit(sc.transform(xtr), ytr)
                               .decision_function(sc.transform(xte)))
        sgd_auc = roc_auc_score(yte, SGDClassifier(loss="log_loss", random_state=0)
                                .fit(sc.transform(xtr), ytr).decision_function(sc.transform(xte)))
        good = abs(lt_auc - lr_auc) <= 0.01 and abs(lt_auc - sgd_auc) <= 0.01
        good &= set(label) <= {0, 1} and ((score >= 0) & (score <= 1)).all()
        good &= "#quality_metric: host=algo-1, train binary_classification_accuracy <loss>=" in log
        # the same model in the other record formats
        csv = run([a.lathe, "algo", "predict", "--model-dir", os.path.join(tmp, "model"), "--input",
                   os.path.join(tmp, "test.csv"), "--content-type", "text/csv;label_size=0",
                   "--accept", "text/csv"]).splitlines()
        js = json.loads(run([a.lathe, "algo", "predict", "--model-dir", os.path.join(tmp, "model"),
                             "--input", os.path.join(tmp, "test.csv"), "--content-type",
                             "text/csv;label_size=0", "--accept", "application/json"]))
        csv_rows = np.array([[float(v) for v in l.split(",")] for l in csv])
        good &= csv_rows.shape == (len(xte), 2) and (csv_rows[:, 0] == label).all()
        good &= np.allclose(csv_rows[:, 1], score, rtol=1e-6, atol=1e-9)
        good &= [r["predicted_label"] for r in js["predictions"]] == list(label)
        ok &= good and test_ok
        print("breast_cancer binary: test AUC lathe %.4f, LogisticRegression %.4f, SGDClassifier "
              "%.4f (tolerance 0.01); accuracy lathe %.4f  %s; test channel's metrics %s"
              % (lt_auc, lr_auc, sgd_auc, (label == yte).mean(), "ok" if good else "FAIL",
                 "ok" if test_ok else "FAIL"))
        # regression
        xtr, xte, ytr, yte = split(*load_diabetes(return_X_y=True), stratify=False)
        sc = StandardScaler().fit(xtr)
        log, out = lathe(a.lathe, xtr, ytr, xte, tmp, ["predictor_type=regressor"], yte=yte)
        pred = np.array([json.loads(l)["score"] for l in out.splitlines()])
        mse = mean_squared_error(yte, pred)
        test_ok = test_scores(log, {"mse_objective": ("objective_loss", mse), "mse": ("mse", mse),
                                    "absolute_loss": ("absolute_loss", mean_absolute_error(yte, pred))})
        rmse = lambda p: float(np.sqrt(np.mean((p - yte) ** 2)))
        lt_rmse = rmse(pred)
        ridge = rmse(Ridge(alpha=1.0).fit(sc.transform(xtr), ytr).predict(sc.transform(xte)))
        sgdr = rmse(SGDRegressor(random_state=0, max_iter=5000).fit(sc.transform(xtr), ytr)
                    .predict(sc.transform(xte)))
        good = abs(lt_rmse / ridge - 1) <= 0.05 and abs(lt_rmse / sgdr - 1) <= 0.05
        ok &= good and test_ok
        print("diabetes regressor: test RMSE lathe %.3f, Ridge %.3f, SGDRegressor %.3f "
              "(tolerance 5%%)  %s; test channel's metrics %s"
              % (lt_rmse, ridge, sgdr, "ok" if good else "FAIL", "ok" if test_ok else "FAIL"))
        # multiclass
        xtr, xte, ytr, yte = split(*load_digits(return_X_y=True))
        sc = StandardScaler().fit(xtr)
        mc = ["predictor_type=multiclass_classifier", "num_classes=10"]
        _, out = lathe(a.lathe, xtr, ytr, xte, tmp, mc)
        default_acc = float((np.array([json.loads(l)["predicted_label"] for l in out.splitlines()])
                             == yte).mean())
        # LogisticRegression's C=1 is an L2 penalty of 1/(C n) on the mean loss: the same wd
        comparable = mc + ["wd=%.6g" % (1.0 / len(xtr)), "optimizer=sgd", "mini_batch_size=100",
                           "epochs=50"]
        _, out = lathe(a.lathe, xtr, ytr, xte, tmp, comparable)
        rows = [json.loads(l) for l in out.splitlines()]
        pred = np.array([r["predicted_label"] for r in rows])
        probs = np.array([r["score"] for r in rows])
        lt_acc = float((pred == yte).mean())
        lr_acc = float((LogisticRegression(max_iter=5000).fit(sc.transform(xtr), ytr)
                        .predict(sc.transform(xte)) == yte).mean())
        good = abs(lt_acc - lr_acc) <= 0.02 and probs.shape == (len(xte), 10)
        good &= np.allclose(probs.sum(axis=1), 1, atol=1e-6) and (probs.argmax(axis=1) == pred).all()
        ok &= good
        print("digits multiclass: test accuracy lathe %.4f (wd=1/n, sgd, mini_batch_size 100, 50 "
              "epochs), LogisticRegression %.4f (tolerance 0.02)  %s; lathe at its defaults %.4f "
              "(not checked: without a validation channel nothing chooses a regularised model)"
              % (lt_acc, lr_acc, "ok" if good else "FAIL", default_acc))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
