"""Writes families-208.json: the recipe's morphology_families over record 208's first 1,500 exported beats, with calls that
are the reference labels (V or not) with one in ten flipped, for MorphologyFamiliesTests' parity check with C#.
Run from the repository root: /usr/bin/python3 tests/HeartTwin.Signals.Tests/Beats/Fixtures/make_families_fixture.py
(needs training/data/mitdb-beats-v2.npz, from `hearttwin dataset beats --spec 2`)."""
import json
import os
import sys

import numpy as np

sys.path.insert(0, "training/beats")
import recipe  # noqa: E402

d = np.load("training/data/mitdb-beats-v2.npz")
idx = np.flatnonzero(d["record"] == "208")[:1500]
rng = np.random.default_rng(20261125)
calls = np.where(d["y"][idx] == 2, 2, 0)
flip = rng.random(len(idx)) < 0.1
calls[flip] = np.where(calls[flip] == 2, 0, 2)
rule = {"channel": 0, "min_correlation": 0.9, "templates": 16, "min_beats": 8, "majority": 2 / 3}
out = recipe.morphology_families(d["x"][idx, 0, :], d["record"][idx], calls, rule)
fixture = {"record": "208", "samples": d["sample"][idx].tolist(), "rule": rule,
           "calls": "".join("V" if c == 2 else "n" for c in calls), "expected": "".join("V" if c == 2 else "n" for c in out)}
with open(os.path.join(os.path.dirname(__file__), "families-208.json"), "w") as f:
    json.dump(fixture, f, separators=(",", ":"))
print(f"{len(idx)} beats, {int((out != calls).sum())} calls changed")
