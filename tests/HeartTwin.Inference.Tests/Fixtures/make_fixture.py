#!/usr/bin/python3
"""Generates the tiny ONNX fixtures that HeartTwin.Inference.Tests load, with their model cards.

Run from anywhere with Debian's interpreter (torch 1.13, onnx 1.12):

    /usr/bin/python3 tests/HeartTwin.Inference.Tests/Fixtures/make_fixture.py

It writes, beside this script:
- tiny-beat.onnx + tiny-beat.json: a small untrained 1-D CNN with the contract's tensors
  (`beat` [B,2,128] and `rr` [B,6] -> `probabilities` [B,5], softmax inside, dynamic batch, opset 17)
  and a model card whose test_vectors were computed by PyTorch.
- wrong-dims.onnx + wrong-dims.json: the same kind of model built for a 96-sample window and 4 RR
  features, with a card that still declares 128 and 6 (and the right sha256), for the shape-mismatch test.
- tiny-beat-v2.onnx + tiny-beat-v2.json: the same kind of model for spec version 2 (`beat` [B,4,128], `rr` [B,9]),
  so that the v2 serving path (Inference, the CLI) is tested before any trained v2 model ships.

The outputs are committed so that the tests never need Python. Exports are byte-identical for the same seed.
"""
import hashlib
import json
import os

import numpy as np
import torch
from torch import nn

SEED = 20261123
OPSET = 17
HERE = os.path.dirname(os.path.abspath(__file__))
LABELS = ["N", "S", "V", "F", "Q"]
RR_FEATURES = ["pre_rr_s", "post_rr_s", "local_rr_s", "pre_ratio", "post_ratio", "post_pre_ratio"]
RR_FEATURES_V2 = RR_FEATURES + ["long_rr_s", "pre_long_ratio", "post_long_ratio"]


class TinyBeatNet(nn.Module):
    """Conv1d -> ReLU -> max pool -> flatten, concatenated with the RR features -> Linear -> softmax."""

    def __init__(self, channels: int, window: int, rr: int, classes: int):
        super().__init__()
        self.conv = nn.Conv1d(channels, 4, kernel_size=7, padding=3)
        self.pool = nn.MaxPool1d(8)
        self.fc = nn.Linear(4 * (window // 8) + rr, classes)

    def forward(self, beat, rr):
        x = self.pool(torch.relu(self.conv(beat)))
        x = torch.cat([x.flatten(1), rr], dim=1)
        return torch.softmax(self.fc(x), dim=1)


def export(model: nn.Module, channels: int, window: int, rr: int, path: str) -> str:
    model.eval()
    beat = torch.zeros(1, channels, window)
    rr_in = torch.zeros(1, rr)
    torch.onnx.export(
        model, (beat, rr_in), path,
        input_names=["beat", "rr"], output_names=["probabilities"],
        dynamic_axes={"beat": {0: "batch"}, "rr": {0: "batch"}, "probabilities": {0: "batch"}},
        opset_version=OPSET, do_constant_folding=True)
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def f32(values):
    """float32 values as JSON numbers: 9 significant digits round-trip a float32 exactly."""
    return [float(f"{float(v):.9g}") for v in values]


def test_vectors(model: nn.Module, count: int, rng: np.random.Generator, channels: int = 2, extra_rr: int = 0):
    beats = rng.normal(0.0, 1.0, size=(count, channels, 128)).astype(np.float32)
    # RR features in a plausible range: intervals around 0.8 s, ratios around 1.
    parts = [rng.uniform(0.4, 1.4, size=(count, 3)), rng.uniform(0.5, 1.8, size=(count, 3))]
    if extra_rr:
        parts.append(rng.uniform(0.5, 1.8, size=(count, extra_rr)))
    rr = np.concatenate(parts, axis=1).astype(np.float32)
    # Round-trip through the JSON text so that PyTorch sees exactly what C# will parse.
    beats = np.array([[f32(ch) for ch in b] for b in beats], dtype=np.float32)
    rr = np.array([f32(r) for r in rr], dtype=np.float32)
    with torch.no_grad():
        probs = model(torch.from_numpy(beats), torch.from_numpy(rr)).numpy()
    return [
        {"beat": [f32(ch) for ch in beats[i]], "rr": f32(rr[i]), "probabilities": f32(probs[i])}
        for i in range(count)
    ]


def card(name: str, onnx_file: str, sha: str, vectors, spec_version: int = 1) -> dict:
    return {
        "name": name,
        "version": f"0.{spec_version}.0" if spec_version > 1 else "0.1.0",
        "task": "beat-classification",
        "onnx": onnx_file,
        "onnx_sha256": sha,
        "input": {
            "spec_version": spec_version,
            "sample_rate_hz": 180,
            "window_samples": 128,
            "window_offset_samples": -54,
            "channels": 4 if spec_version > 1 else 2,
            "leads": ["first ECG lead"],
            "rr_features": RR_FEATURES_V2 if spec_version > 1 else RR_FEATURES,
            "normalisation": "channel 0: window minus its median over the amplitude reference; channel 1: channel 0 minus the median of the previous up to 16 windows",
            "filter": {"baseline_hz": 0.5, "lowpass_hz": 35, "mains_notch": None},
            "tensors": {"beat": "beat", "rr": "rr", "output": "probabilities"},
        },
        "labels": LABELS,
        "training": {
            "records": [],
            "dataset_sha256": None,
            "recipe": "/usr/bin/python3 tests/HeartTwin.Inference.Tests/Fixtures/make_fixture.py (untrained test fixture)",
            "seed": SEED,
            "torch": torch.__version__,
            "epochs": 0,
        },
        "test_vectors": vectors,
    }


def write_json(path: str, data: dict) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        json.dump(data, f, indent=2)
        f.write("\n")


def main() -> None:
    torch.set_num_threads(2)
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)

    tiny = TinyBeatNet(2, 128, 6, 5)
    sha = export(tiny, 2, 128, 6, os.path.join(HERE, "tiny-beat.onnx"))
    write_json(os.path.join(HERE, "tiny-beat.json"), card("tiny-beat", "tiny-beat.onnx", sha, test_vectors(tiny, 8, rng)))

    wrong = TinyBeatNet(2, 96, 4, 5)
    sha = export(wrong, 2, 96, 4, os.path.join(HERE, "wrong-dims.onnx"))
    write_json(os.path.join(HERE, "wrong-dims.json"), card("wrong-dims", "wrong-dims.onnx", sha, test_vectors(tiny, 1, rng)))

    v2 = TinyBeatNet(4, 128, 9, 5)
    sha = export(v2, 4, 128, 9, os.path.join(HERE, "tiny-beat-v2.onnx"))
    write_json(os.path.join(HERE, "tiny-beat-v2.json"),
               card("tiny-beat-v2", "tiny-beat-v2.onnx", sha, test_vectors(v2, 4, rng, channels=4, extra_rr=3), spec_version=2))


if __name__ == "__main__":
    main()
