#!/usr/bin/python3
"""Reference check: Lathe's k-NN against scikit-learn's brute-force KNeighborsClassifier /
KNeighborsRegressor on load_digits (a seeded 80/20 split, sample_size = all training rows,
k = 5), and IVF recall on a synthetic blob set, in the same run.

Flat index: every query's k squared distances equal sklearn's (1e-3 absolute; digits are
small integers, so both are exact). Predictions equal sklearn's on every row where the
neighbour set is unambiguous (the k-th and (k+1)-th distances differ) and the vote has no
tie; on the other rows Lathe must follow its documented rule applied to sklearn's
neighbour labels and distances (most votes, then the smaller distance sum, then the smaller
label). Regressor: the mean within 1e-6 on unambiguous rows.
IVFFlat: recall@10 against exact search >= 0.95 on 20000 x 32 points from 50 overlapping
blobs (cluster_std 8) with 100 lists and nprobe 20 (a Lathe neighbour counts when its
distance is within the true 10th). When python3-faiss is installed, faiss's IndexIVFFlat
recall with the same settings is printed beside it for information (0.957 when written).
Usage: python3 tests/algo/knn_parity.py [--lathe build/lathe]; non-zero exit on failure."""
import argparse, json, os, subprocess, sys, tempfile
import numpy as np
from sklearn.datasets import load_digits, make_blobs
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor, NearestNeighbors

K = 5
RECALL_MIN = 0.95


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        sys.exit("command failed: %s\n%s%s" % (" ".join(cmd), r.stdout, r.stderr))
    return r.stdout


def lathe_knn(lathe, xtr, ytr, xte, k, ptype, tmp, extra=()):
    tr, te = os.path.join(tmp, "train.csv"), os.path.join(tmp, "test.csv")
    np.savetxt(tr, np.hstack([ytr[:, None], xtr]), delimiter=",", fmt="%.9g")
    np.savetxt(te, xte, delimiter=",", fmt="%.9g")
    model = os.path.join(tmp, "model")
    cmd = [lathe, "algo", "train", "knn", "--train", tr, "--content-type", "text/csv",
           "--hp", "feature_dim=%d" % xtr.shape[1], "--hp", "k=%d" % k,
           "--hp", "predictor_type=" + ptype, "--hp", "sample_size=%d" % len(xtr),
           "--model-dir", model, "--threads", "2"]
    for h in extra:
        cmd += ["--hp", h]
    run(cmd)
    out = run([lathe, "algo", "predict", "--model-dir", model, "--input", te, "--content-type",
               "text/csv;label_size=0", "--accept", "application/json; verbose=true",
               "--threads", "2"])
    rows = json.loads(out)["predictions"]
    assert len(rows) == len(xte)
    return (np.array([r["predicted_label"] for r in rows]),
            np.array([r["labels"] for r in rows]), np.array([r["distances"] for r in rows]))


def rule(labels, dists):
    best = None
    for lab in sorted(set(labels)):
        sel = labels == lab
        key = (-sel.sum(), dists[sel].sum(), lab)
        best = key if best is None or key < best else best
    return best[2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lathe", default="build/lathe")
    a = ap.parse_args()
    ok = True
    d = load_digits()
    x, y = d.data.astype(np.float32), d.target.astype(np.float64)
    perm = np.random.default_rng(0).permutation(len(x))
    tr, te = perm[: int(0.8 * len(x))], perm[int(0.8 * len(x)):]
    nn = NearestNeighbors(n_neighbors=K + 1, algorithm="brute").fit(x[tr])
    sk_d, sk_i = nn.kneighbors(x[te])
    sk_d2 = sk_d ** 2
    unambiguous = sk_d2[:, K - 1] != sk_d2[:, K]
    with tempfile.TemporaryDirectory() as tmp:
        # classifier
        pred, labs, dists = lathe_knn(a.lathe, x[tr], y[tr], x[te], K, "classifier", tmp)
        dist_err = np.abs(dists - sk_d2[:, :K]).max()
        sk_pred = KNeighborsClassifier(K, algorithm="brute").fit(x[tr], y[tr]).predict(x[te])
        nb_labels = y[tr][sk_i[:, :K]]
        vote_tie = np.array([(np.bincount(r.astype(int)) == np.bincount(r.astype(int)).max()).sum() > 1
                             for r in nb_labels])
        plain = unambiguous & ~vote_tie
        mism_plain = int((pred[plain] != sk_pred[plain]).sum())
        ruled = np.array([rule(labs[i], dists[i]) for i in range(len(te))])
        mism_rule = int((pred != ruled).sum())
        # on unambiguous rows, the rule over sklearn's neighbours gives Lathe's answer
        ruled_sk = np.array([rule(nb_labels[i], sk_d2[i, :K]) for i in range(len(te))])
        mism_rule_sk = int((pred[unambiguous] != ruled_sk[unambiguous]).sum())
        good = dist_err <= 1e-3 and mism_plain == 0 and mism_rule == 0 and mism_rule_sk == 0
        ok &= good
        print("digits classifier k=%d flat: %d queries, %d identical to sklearn, %d plain rows "
              "all equal (%d mismatches), %d with a tie or a boundary tie; distance err %.1e  %s"
              % (K, len(te), int((pred == sk_pred).sum()), int(plain.sum()), mism_plain,
                 int((~plain).sum()), dist_err, "ok" if good else "FAIL"))
        # regressor
        pred, labs, dists = lathe_knn(a.lathe, x[tr], y[tr], x[te], K, "regressor", tmp)
        sk_r = KNeighborsRegressor(K, algorithm="brute").fit(x[tr], y[tr]).predict(x[te])
        err = np.abs(pred[unambiguous] - sk_r[unambiguous]).max()
        good = err <= 1e-6
        ok &= good
        print("digits regressor  k=%d flat: max |lathe - sklearn| %.1e on %d unambiguous rows  %s"
              % (K, err, int(unambiguous.sum()), "ok" if good else "FAIL"))
        # IVF recall on blobs
        xb, yb = make_blobs(n_samples=21000, n_features=32, centers=50, cluster_std=8.0,
                            random_state=1)
        xb = xb.astype(np.float32)
        xtr, xte = xb[:20000], xb[20000:]
        true_d = NearestNeighbors(n_neighbors=10, algorithm="brute").fit(xtr).kneighbors(xte)[0] ** 2
        _, _, dists = lathe_knn(a.lathe, xtr, yb[:20000].astype(np.float64), xte, 10, "classifier",
                                tmp, ["index_type=faiss.IVFFlat", "faiss_index_ivf_nlists=100",
                                      "faiss_index_nprobe=20"])
        recall = float((dists <= true_d[:, 9:10] * (1 + 1e-5) + 1e-4).mean())
        note = ""
        try:
            import faiss
            q = faiss.IndexFlatL2(32)
            ivf = faiss.IndexIVFFlat(q, 32, 100)
            ivf.train(xtr)
            ivf.add(xtr)
            ivf.nprobe = 20
            fd, _ = ivf.search(xte, 10)
            note = "  (faiss IndexIVFFlat, same settings: %.4f)" % float(
                (fd <= true_d[:, 9:10] * (1 + 1e-5) + 1e-4).mean())
        except ImportError:
            pass
        good = recall >= RECALL_MIN
        ok &= good
        print("blobs IVFFlat nlist=100 nprobe=20 recall@10 %.4f%s  %s"
              % (recall, note, "ok" if good else "FAIL (< %.2f)" % RECALL_MIN))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
