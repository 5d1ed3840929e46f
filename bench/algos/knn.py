#!/usr/bin/python3
"""k-NN query throughput and recall: Lathe `algo predict` on a faiss.Flat and a
faiss.IVFFlat model vs faiss IndexFlatL2 / IndexIVFFlat (python3-faiss) on the same data,
same run, 2 threads each (Lathe --threads 2 with OPENBLAS_NUM_THREADS=1; faiss
omp_set_num_threads(2)). Without python3-faiss the reference is sklearn's brute-force
NearestNeighbors (n_jobs=2) for the flat case only.
Data (the issue's case): make_blobs 100,000 x 64 float32 (100 centers, cluster_std 6, seed 0) as the index,
10,000 more rows from the same blobs as queries; k = 10; IVF: 256 lists, nprobe 16.
Lathe's time is what the predict command reports for prediction (model load and CSV
parsing excluded): search, voting and reading back the k labels. Recall@10 counts a
returned neighbour whose squared distance is within the exact 10th.
Usage: python3 bench/algos/knn.py [--lathe build/lathe] [--rows N] [--queries Q]"""
import argparse, json, os, re, subprocess, sys, tempfile, time
import numpy as np
from sklearn.datasets import make_blobs

K, NLIST, NPROBE = 10, 256, 16


def recall(d, exact):
    return float((d <= exact[:, K - 1:K] * (1 + 1e-5) + 1e-3).mean())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lathe", default="build/lathe")
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=10_000)
    a = ap.parse_args()
    n, nq, dim = a.rows, a.queries, 64
    xall, yall = make_blobs(n_samples=n + nq, n_features=dim, centers=100, cluster_std=6.0,
                            random_state=0)
    xall = xall.astype(np.float32)
    x, y, q = xall[:n], yall[:n], xall[n:]
    env = dict(os.environ, OMP_NUM_THREADS="2", OPENBLAS_NUM_THREADS="1")
    lt = {}
    with tempfile.TemporaryDirectory() as tmp:
        tr, te = os.path.join(tmp, "train.csv"), os.path.join(tmp, "q.csv")
        with open(tr, "w") as f:
            for s in range(0, n, 50_000):
                np.savetxt(f, np.hstack([y[s:s + 50_000, None], x[s:s + 50_000]]), delimiter=",",
                           fmt="%.7g")
        np.savetxt(te, q, delimiter=",", fmt="%.7g")
        for name, extra in [("flat", []), ("ivf", ["index_type=faiss.IVFFlat",
                                                   "faiss_index_ivf_nlists=%d" % NLIST,
                                                   "faiss_index_nprobe=%d" % NPROBE])]:
            model = os.path.join(tmp, "model-" + name)
            cmd = [a.lathe, "algo", "train", "knn", "--train", tr, "--content-type", "text/csv",
                   "--hp", "feature_dim=%d" % dim, "--hp", "k=%d" % K,
                   "--hp", "predictor_type=classifier", "--hp", "sample_size=%d" % n,
                   "--threads", "2", "--model-dir", model]
            for h in extra:
                cmd += ["--hp", h]
            p = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if p.returncode:
                print(p.stdout, p.stderr, file=sys.stderr)
                return 1
            build = float(re.search(r"trained knn in ([0-9.]+) s", p.stderr).group(1))
            p = subprocess.run([a.lathe, "algo", "predict", "--model-dir", model, "--input", te,
                                "--content-type", "text/csv;label_size=0", "--accept",
                                "application/json; verbose=true", "--threads", "2"],
                               capture_output=True, text=True, env=env)
            if p.returncode:
                print(p.stderr, file=sys.stderr)
                return 1
            secs = float(re.search(r"predicted in ([0-9.]+) s", p.stderr).group(1))
            dists = np.array([r["distances"] for r in json.loads(p.stdout)["predictions"]])
            lt[name] = (build, secs, dists)
    print("index %d x %d, %d queries, k %d, threads 2" % (n, dim, nq, K))
    try:
        import faiss
        faiss.omp_set_num_threads(2)
        flat = faiss.IndexFlatL2(dim)
        flat.add(x)
        t0 = time.perf_counter()
        exact, _ = flat.search(q, K)
        f_flat = time.perf_counter() - t0
        t0 = time.perf_counter()
        ivf = faiss.IndexIVFFlat(faiss.IndexFlatL2(dim), dim, NLIST)
        ivf.train(x)
        ivf.add(x)
        f_build = time.perf_counter() - t0
        ivf.nprobe = NPROBE
        t0 = time.perf_counter()
        fd, _ = ivf.search(q, K)
        f_ivf = time.perf_counter() - t0
        ref = [("flat", "faiss IndexFlatL2", f_flat, exact, 0.0),
               ("ivf", "faiss IndexIVFFlat", f_ivf, fd, f_build)]
    except ImportError:
        from sklearn.neighbors import NearestNeighbors
        nn = NearestNeighbors(n_neighbors=K, algorithm="brute", n_jobs=2).fit(x)
        t0 = time.perf_counter()
        exact = nn.kneighbors(q)[0] ** 2
        ref = [("flat", "sklearn brute", time.perf_counter() - t0, exact, 0.0)]
        print("python3-faiss not installed: flat reference is sklearn; no IVF reference")
    for name, ref_name, ref_secs, ref_d, ref_build in ref:
        build, secs, dists = lt[name]
        print("lathe %-4s  %8.0f queries/s  recall@10 %.4f  (build %.2f s)"
              % (name, nq / secs, recall(dists, exact), build))
        print("%-19s %8.0f queries/s  recall@10 %.4f  (build %.2f s)"
              % (ref_name, nq / ref_secs, recall(ref_d, exact), ref_build))
        print("ratio lathe/%s QPS %.3f" % (ref_name.split()[0] + "-" + name, ref_secs / secs))
    if len(ref) == 1:
        build, secs, dists = lt["ivf"]
        print("lathe ivf   %8.0f queries/s  recall@10 %.4f  (build %.2f s)"
              % (nq / secs, recall(dists, exact), build))
    return 0


if __name__ == "__main__":
    sys.exit(main())
