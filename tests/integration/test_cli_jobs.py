"""The job commands of the `lathe` CLI against a live server: train (script and built-in
algorithm, with local code and data uploaded), jobs, logs, stop."""
import os
import subprocess
import time

from conftest import LATHE_BIN
from jobs_util import wait_for, wait_job

os.environ["LATHE_STOP_GRACE_SECONDS"] = "2"


def lathe(server, *args, timeout=120):
    env = dict(os.environ, AWS_SHARED_CREDENTIALS_FILE=server.credentials_file,
               LATHE_ENDPOINT=server.endpoint, AWS_DEFAULT_REGION="us-east-1")
    env.pop("AWS_ACCESS_KEY_ID", None)
    env.pop("AWS_SECRET_ACCESS_KEY", None)
    return subprocess.run([LATHE_BIN, *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_train_a_script_with_local_data_and_follow_it(server, tmp_path):
    data = tmp_path / "local-data"
    data.mkdir()
    (data / "a.csv").write_text("1,2\n3,4\n")
    (data / "b.csv").write_text("5,6\n")
    script = tmp_path / "fit.py"
    script.write_text(
        "import os, sys\n"
        "files = sorted(os.listdir(os.environ['SM_CHANNEL_TRAIN']))\n"
        "print('files', files, 'args', sys.argv[1:])\n"
        "print('loss=0.125')\n"
        "open(os.path.join(os.environ['SM_MODEL_DIR'], 'weights'), 'w').write(str(len(files)))\n")
    out = lathe(server, "train", str(script), "--name", "cli-fit", "--data", f"train={data}",
                "--hp", "epochs=2", "--metric", r"loss=loss=(\S+)")
    assert out.returncode == 0, out.stderr
    assert "files ['a.csv', 'b.csv'] args ['--epochs', '2']" in out.stdout
    assert "cli-fit: Completed" in out.stdout
    assert "model:    s3://lathe-default/cli-fit/output/model.tar.gz" in out.stdout
    assert "metric:   loss = 0.125" in out.stdout

    listing = lathe(server, "jobs")
    assert listing.returncode == 0
    assert any(l.startswith("cli-fit") and "Completed" in l for l in listing.stdout.splitlines())
    logs = lathe(server, "logs", "cli-fit")
    assert logs.returncode == 0 and "loss=0.125" in logs.stdout


def test_train_reports_a_failure_with_exit_code_1(server, tmp_path):
    script = tmp_path / "boom.py"
    script.write_text("raise SystemExit('bad hyperparameters')\n")
    out = lathe(server, "train", str(script), "--name", "cli-boom")
    assert out.returncode == 1
    assert "cli-boom: Failed" in out.stdout
    assert "bad hyperparameters" in out.stdout


def test_train_a_builtin_algorithm_and_refuse_bad_hyperparameters(server, tmp_path):
    data = tmp_path / "km.csv"
    data.write_text("".join(f"{i % 3 * 10 + (i % 7) * 0.1},{i % 3 * 10}\n" for i in range(60)))
    out = lathe(server, "train", "--algorithm", "kmeans", "--data", f"train={data}",
                "--content-type", "text/csv;label_size=0", "--hp", "k=3", "--hp", "feature_dim=2", "--name", "cli-km")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "cli-km: Completed" in out.stdout and "metric:   train:msd" in out.stdout
    bad = lathe(server, "train", "--algorithm", "kmeans", "--data", f"train={data}", "--hp", "k=1",
                "--hp", "feature_dim=2")
    assert bad.returncode == 1
    assert "hyperparameter k" in bad.stderr


def test_stop_and_no_wait(server, tmp_path):
    script = tmp_path / "forever.py"
    script.write_text("import time\nprint('spinning', flush=True)\ntime.sleep(600)\n")
    out = lathe(server, "train", str(script), "--name", "cli-spin", "--no-wait")
    assert out.returncode == 0 and "created cli-spin" in out.stderr
    sm = server.client("sagemaker")
    wait_for(lambda: "spinning" in lathe(server, "logs", "cli-spin").stdout, what="the job to log")
    stop = lathe(server, "stop", "cli-spin")
    assert stop.returncode == 0, stop.stderr
    assert wait_job(sm, "cli-spin")["TrainingJobStatus"] == "Stopped"
    again = lathe(server, "stop", "cli-spin")
    assert again.returncode == 1 and "not in progress" in again.stderr
