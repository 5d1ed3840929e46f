"""`lathe tune run` on small Python objectives (no server needed): the JSON line, Bayesian
getting close to a quadratic's optimum within 25 trials, parallel trials, environment
variables and a regex, Hyperband and early stopping stopping trials, Grid's size, failures
and bad spaces refused by name."""
import json
import os
import subprocess
import sys

from conftest import LATHE_BIN

PY = "/usr/bin/python3"

QUADRATIC = """
import argparse
p = argparse.ArgumentParser()
p.add_argument("--x", type=float)
p.add_argument("--y", type=float)
p.add_argument("--n", type=int)
p.add_argument("--kind")
a = p.parse_args()
print("starting", flush=True)
print(0.25)  # an earlier number: only the last one counts
print((a.x - 1.5) ** 2 + (a.y + 0.5) ** 2 + 0.01 * (a.n - 7) ** 2 + (0 if a.kind == "b" else 1))
"""

SPACE = {
    "ContinuousParameterRanges": [
        {"Name": "x", "MinValue": "-5", "MaxValue": "5", "ScalingType": "Linear"},
        {"Name": "y", "MinValue": "-5", "MaxValue": "5"},
    ],
    "IntegerParameterRanges": [{"Name": "n", "MinValue": "1", "MaxValue": "10"}],
    "CategoricalParameterRanges": [{"Name": "kind", "Values": ["a", "b"]}],
}


def tune(tmp_path, *args, space=SPACE, script=QUADRATIC, timeout=300):
    (tmp_path / "space.json").write_text(json.dumps(space))
    (tmp_path / "obj.py").write_text(script)
    p = subprocess.run([LATHE_BIN, "tune", "run", "--space", str(tmp_path / "space.json"), *args,
                        "--", PY, str(tmp_path / "obj.py")],
                       capture_output=True, text=True, timeout=timeout)
    return p


def last_json(p):
    lines = p.stdout.strip().splitlines()
    assert len(lines) == 1, p.stdout  # not a terminal: exactly one line
    return json.loads(lines[0])


def test_bayesian_gets_close_to_the_optimum_within_25_trials(tmp_path):
    p = tune(tmp_path, "--strategy", "bayesian", "--trials", "25", "--seed", "3")
    assert p.returncode == 0, p.stderr
    out = last_json(p)
    assert set(out) == {"best_objective", "best_hyperparameters", "trials"}
    assert out["trials"] == 25
    hp = out["best_hyperparameters"]
    assert set(hp) == {"x", "y", "n", "kind"}
    assert isinstance(hp["n"], int) and isinstance(hp["x"], float) and hp["kind"] == "b"
    assert out["best_objective"] < 0.1, out
    expected = (hp["x"] - 1.5) ** 2 + (hp["y"] + 0.5) ** 2 + 0.01 * (hp["n"] - 7) ** 2
    assert abs(out["best_objective"] - expected) < 1e-9


def test_random_parallel_with_environment_and_regex(tmp_path):
    script = ("import os\n"
              "x = float(os.environ['x']); y = float(os.environ['SM_HP_Y'])\n"
              "print('val_loss=%r' % ((x - 1) ** 2 + y))\n"
              "print('12345')\n")
    space = {"ContinuousParameterRanges": [{"Name": "x", "MinValue": "0", "MaxValue": "2"},
                                           {"Name": "y", "MinValue": "0", "MaxValue": "1"}]}
    p = tune(tmp_path, "--strategy", "random", "--trials", "8", "--parallel", "4", "--env",
             "--objective-regex", r"val_loss=(\S+)", "--objective-type", "Maximize",
             space=space, script=script)
    assert p.returncode == 0, p.stderr
    out = last_json(p)
    assert out["trials"] == 8
    assert out["best_objective"] <= 2 and out["best_objective"] != 12345
    hp = out["best_hyperparameters"]
    assert abs(out["best_objective"] - ((hp["x"] - 1) ** 2 + hp["y"])) < 1e-9


def test_grid_runs_every_combination_once(tmp_path):
    script = ("import sys\n"
              "args = dict(zip(sys.argv[1::2], sys.argv[2::2]))\n"
              "open(sys.argv[0] + '.log', 'a').write(repr(sorted(args.items())) + '\\n')\n"
              "print(float(args['--a']) + len(args['--c']))\n")
    space = {"IntegerParameterRanges": [{"Name": "a", "MinValue": "1", "MaxValue": "3"}],
             "CategoricalParameterRanges": [{"Name": "c", "Values": ["xx", "y"]}]}
    p = tune(tmp_path, "--strategy", "grid", "--parallel", "2", space=space, script=script)
    assert p.returncode == 0, p.stderr
    out = last_json(p)
    assert out["trials"] == 6
    assert out["best_objective"] == 2 and out["best_hyperparameters"] == {"a": 1, "c": "y"}
    runs = (tmp_path / "obj.py.log").read_text().splitlines()
    assert len(runs) == 6 and len(set(runs)) == 6


CURVE = """
import argparse, time
p = argparse.ArgumentParser()
p.add_argument("--x", type=float)
a = p.parse_args()
open(__file__ + ".started", "a").write("x\\n")
for epoch in range(1, 10):
    print("epoch %d loss=%f" % (epoch, a.x + 1.0 / epoch), flush=True)
    time.sleep(0.05)
open(__file__ + ".finished", "a").write("x\\n")
"""


def test_hyperband_stops_weak_trials(tmp_path):
    space = {"ContinuousParameterRanges": [{"Name": "x", "MinValue": "0", "MaxValue": "10"}]}
    p = tune(tmp_path, "--strategy", "hyperband", "--trials", "12", "--parallel", "3",
             "--max-resource", "9", "--objective-regex", r"loss=(\S+)", "--seed", "1",
             space=space, script=CURVE)
    assert p.returncode == 0, p.stderr
    out = last_json(p)
    assert out["trials"] == 12
    finished = (tmp_path / "obj.py.finished").read_text().count("x")
    assert finished < 12  # some were stopped at a rung


def test_early_stopping_auto_stops_poor_trials(tmp_path):
    space = {"ContinuousParameterRanges": [{"Name": "x", "MinValue": "0", "MaxValue": "10"}]}
    p = tune(tmp_path, "--strategy", "random", "--trials", "10", "--early-stopping", "Auto",
             "--objective-regex", r"loss=(\S+)", "--seed", "2", space=space, script=CURVE)
    assert p.returncode == 0, p.stderr
    assert last_json(p)["trials"] == 10
    finished = (tmp_path / "obj.py.finished").read_text().count("x")
    assert finished < 10


def test_failures_are_counted_and_all_failing_exits_1(tmp_path):
    p = tune(tmp_path, "--strategy", "random", "--trials", "3",
             script="import sys\nsys.exit('boom')\n")
    assert p.returncode == 1
    out = last_json(p)
    assert out == {"best_objective": None, "best_hyperparameters": {}, "trials": 3}
    assert "trial 1 failed: exit status 1: boom" in p.stderr


def test_bad_spaces_are_refused_by_name(tmp_path):
    cases = [
        ({"IntegerParameterRanges": [{"Name": "n", "MinValue": "5", "MaxValue": "1"}]},
         "IntegerParameterRanges[0] (n): MinValue 5 is greater than MaxValue 1"),
        ({"CategoricalParameterRanges": [{"Name": "k", "Values": []}]},
         "CategoricalParameterRanges[0] (k): Values must be a non-empty list"),
        ({"ContinuousParameterRanges": [{"Name": "lr", "MinValue": "0", "MaxValue": "1",
                                         "ScalingType": "Logarithmic"}]},
         "(lr): Logarithmic scaling needs MinValue > 0"),
    ]
    for space, message in cases:
        p = tune(tmp_path, "--strategy", "bayesian", "--trials", "3", space=space)
        assert p.returncode == 2, p.stderr
        assert message in p.stderr
        assert p.stdout == ""
