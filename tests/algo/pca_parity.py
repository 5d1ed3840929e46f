#!/usr/bin/python3
"""Reference check: Lathe's PCA against scikit-learn's PCA on load_digits (1797 x 64) and a
synthetic low-rank-plus-noise set (6000 x 120, a spectrum decaying by 0.8 per axis), fitted
in the same run.

regular mode vs PCA(svd_solver='full'): explained_variance_ratio_ within 1e-4 (absolute),
|cosine| of each component > 0.999, and the projections Lathe's predict writes equal
sklearn's transform up to each axis's sign (1e-3 relative to the data's scale).
randomized mode (extra_components default) vs the same reference: ratios within 1e-4, the
largest principal angle between the two subspaces < 0.05 rad; also checked against
PCA(svd_solver='randomized') for information. Prediction from text/libsvm (CSR) input must
equal prediction from CSV. The final #quality_metric line must carry the ratio sum.
Usage: python3 tests/algo/pca_parity.py [--lathe build/lathe]; non-zero exit on failure."""
import argparse, json, os, re, subprocess, sys, tempfile
import numpy as np
from scipy.linalg import subspace_angles
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA

RATIO_TOL = 1e-4
COS_MIN = 0.999
ANGLE_MAX = 0.05


def synthetic():
    rng = np.random.default_rng(7)
    n, d, r = 6000, 120, 12
    basis = np.linalg.qr(rng.standard_normal((d, r)))[0]
    scales = 10 * 0.8 ** np.arange(r)
    x = (rng.standard_normal((n, r)) * scales) @ basis.T + 0.3 * rng.standard_normal((n, d)) + 5
    return x.astype(np.float32)


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        sys.exit("command failed: %s\n%s%s" % (" ".join(cmd), r.stdout, r.stderr))
    return r.stdout


def lathe_pca(lathe, x, nc, mode, tmp):
    csv = os.path.join(tmp, "x.csv")
    np.savetxt(csv, x, delimiter=",", fmt="%.9g")
    model = os.path.join(tmp, "model-" + mode)
    log = run([lathe, "algo", "train", "pca", "--train", csv, "--content-type",
               "text/csv;label_size=0", "--hp", "feature_dim=%d" % x.shape[1],
               "--hp", "num_components=%d" % nc, "--hp", "mini_batch_size=500",
               "--hp", "algorithm_mode=" + mode, "--model-dir", model, "--threads", "2"])
    m = json.load(open(os.path.join(model, "pca_model.json")))
    q = re.findall(r"^#quality_metric: host=algo-1, train explained_variance_ratio <loss>=(\S+)$",
                   log, re.M)
    assert len(q) == 1 and abs(float(q[0]) - sum(m["explained_variance_ratio"])) < 1e-6, log
    out = run([lathe, "algo", "predict", "--model-dir", model, "--input", csv, "--content-type",
               "text/csv;label_size=0", "--accept", "application/jsonlines"])
    proj = np.array([json.loads(l)["projection"] for l in out.splitlines() if l.strip()])
    svm = os.path.join(tmp, "x.libsvm")
    with open(svm, "w") as f:
        for row in x:
            f.write("0 " + " ".join("%d:%.9g" % (j, v) for j, v in enumerate(row) if v != 0) + "\n")
    out = run([lathe, "algo", "predict", "--model-dir", model, "--input", svm, "--content-type",
               "text/libsvm", "--accept", "text/csv"])
    proj_csr = np.loadtxt(out.splitlines(), delimiter=",", ndmin=2)
    return m, proj, proj_csr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lathe", default="build/lathe")
    a = ap.parse_args()
    ok = True
    sets = [("digits", load_digits().data.astype(np.float32), 10), ("synthetic", synthetic(), 12)]
    with tempfile.TemporaryDirectory() as tmp:
        for name, x, nc in sets:
            ref = PCA(n_components=nc, svd_solver="full").fit(x.astype(np.float64))
            rnd = PCA(n_components=nc, svd_solver="randomized", random_state=0).fit(x.astype(np.float64))
            ref_proj = ref.transform(x.astype(np.float64))
            scale = np.abs(ref_proj).max()
            for mode in ["regular", "randomized"]:
                m, proj, proj_csr = lathe_pca(a.lathe, x, nc, mode, tmp)
                comp = np.array(m["components"])
                ratio_err = np.abs(np.array(m["explained_variance_ratio"]) -
                                   ref.explained_variance_ratio_).max()
                cos = np.abs((comp * ref.components_).sum(1))
                angle = subspace_angles(comp.T, ref.components_.T).max()
                angle_rnd = subspace_angles(comp.T, rnd.components_.T).max()
                signs = np.sign((comp * ref.components_).sum(1))
                proj_err = np.abs(proj * signs - ref_proj).max() / scale
                csr_err = np.abs(proj_csr - proj).max() / scale
                checks = [ratio_err <= RATIO_TOL, csr_err <= 1e-5]
                if mode == "regular":
                    checks += [cos.min() > COS_MIN, proj_err <= 1e-3]
                else:
                    checks += [angle < ANGLE_MAX]
                good = all(checks)
                ok &= good
                print("%-9s %-10s nc=%-2d ratio err %.2e  min|cos| %.6f  max angle %.2e rad "
                      "(vs sklearn randomized %.2e)  proj err %.1e  csr err %.1e  %s"
                      % (name, mode, nc, ratio_err, cos.min(), angle, angle_rnd, proj_err, csr_err,
                         "ok" if good else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
