"""Beat classifier recipe: patient-wise cross-validation on MIT-BIH DS1, final fit, ONNX export, model card.

Reads the beat dataset that `hearttwin dataset beats` exports (docs/beat-model-contract.md) and writes
`<out>/beat-cnn.onnx` and `<out>/beat-cnn.json`. Deterministic: the same command on the same machine
gives the same figures and the same ONNX bytes.

    /usr/bin/python3 training/beats/recipe.py --data training/data/mitdb-beats-v1.npz --out models
"""
import argparse
import hashlib
import json
import os
import shlex
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

LABELS = ["N", "S", "V", "F", "Q"]
DS1 = ["101", "106", "108", "109", "112", "114", "115", "116", "118", "119", "122",
       "124", "201", "203", "205", "207", "208", "209", "215", "220", "223", "230"]
# Fixed patient-wise folds of DS1, chosen by hand (not from results) so that each fold holds some
# records rich in S (209 207 118 220 223 201 124) and in V (208 119 203 106 116 215 223 201 205),
# and F is concentrated in 208 (then 223 205 124). No record's beats are ever split across folds.
FOLDS = [
    ["209", "208", "101", "122", "112"],
    ["207", "119", "118", "115", "230"],
    ["220", "203", "124", "114"],
    ["223", "106", "116", "108"],
    ["201", "215", "205", "109"],
]
SEED = 20261123
RR_FLOOR_S = 0.05  # the log of the RR features is taken after flooring them here
# Positions of the RR features in seconds (the rest are ratios): pre, post, local, and spec v2's long_rr_s.
RR_SECONDS = [0, 1, 2, 6]
# The fiducial's index in a beat window (every spec: 54 samples before it, docs/beat-model-contract.md).
FIDUCIAL = 54


# ----------------------------------------------------------------------------------------------- data
def load_dataset(path):
    """The exporter's arrays and sidecar. The channel and RR-feature counts come from the arrays (spec v1: 2 and 6,
    spec v2: 4 and 9), checked against the sidecar's spec where there is one."""
    d = np.load(path)
    data = {k: d[k] for k in ["x", "rr", "y", "record", "sample"]}
    if "af" in d.files:  # the AF detector's per-beat flag (exports since the premature-S decision)
        data["af"] = d["af"]
    assert data["x"].dtype == np.float32 and data["x"].ndim == 3 and data["x"].shape[2] == 128, data["x"].shape
    assert data["rr"].dtype == np.float32 and data["rr"].ndim == 2 and data["rr"].shape[1] >= 1, data["rr"].shape
    assert data["y"].dtype == np.int64
    sidecar_path = os.path.splitext(path)[0] + ".json"
    sidecar = {}
    if os.path.exists(sidecar_path):
        with open(sidecar_path) as f:
            sidecar = json.load(f)
        spec = sidecar.get("spec", {})
        if "channels" in spec:
            assert spec["channels"] == data["x"].shape[1], (spec["channels"], data["x"].shape)
        if "rr_features" in spec:
            assert len(spec["rr_features"]) == data["rr"].shape[1], (spec["rr_features"], data["rr"].shape)
    return data, sidecar


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def select_records(data, records):
    m = np.isin(data["record"], records)
    return {k: v[m] for k, v in data.items()}


# ---------------------------------------------------------------------------------------------- model
class BeatCnn(nn.Module):
    """1-D CNN over the C x 128 beat window; the log-RR features join after the conv trunk.

    The model takes every channel and RR feature of the dataset (in_channels, n_rr); `channels` and `rr_use`
    (experiments) pick the ones it actually uses, inside the graph.
    """

    def __init__(self, width=16, hidden=32, dropout=0.3, channels=None, feat_dropout=0.0, rr_use=None,
                 in_channels=2, n_rr=6):
        super().__init__()
        w1, w2 = width, 2 * width
        self.in_channels, self.n_rr = in_channels, n_rr
        self.channels = None if channels is None or list(channels) == list(range(in_channels)) else list(channels)
        cin = in_channels if self.channels is None else len(self.channels)

        def block(cin, cout, k, stride=1):
            return [nn.Conv1d(cin, cout, k, stride=stride, padding=k // 2, bias=False), nn.BatchNorm1d(cout), nn.ReLU()]

        self.trunk = nn.Sequential(
            *block(cin, w1, 7, stride=2),          # 128 -> 64
            *block(w1, w1, 5), nn.MaxPool1d(2),    # 64 -> 32
            *block(w1, w2, 5), nn.MaxPool1d(2),    # 32 -> 16
            *block(w2, w2, 3), nn.MaxPool1d(2),    # 16 -> 8
        )
        self.register_buffer("rr_mean", torch.zeros(n_rr))
        self.register_buffer("rr_std", torch.ones(n_rr))
        self.rr_use = None if rr_use is None or list(rr_use) == list(range(n_rr)) else list(rr_use)
        self.rr_fc = nn.Linear(n_rr if self.rr_use is None else len(self.rr_use), 16)
        self.feat_dropout = nn.Dropout(feat_dropout)
        self.head = nn.Sequential(nn.Linear(w2 * 8 + 16, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 5))

    def set_rr_stats(self, rr):
        lr = torch.log(torch.clamp(torch.as_tensor(rr), min=RR_FLOOR_S))
        self.rr_mean.copy_(lr.mean(0))
        self.rr_std.copy_(lr.std(0).clamp(min=1e-3))

    def logits(self, beat, rr):
        if self.channels is not None:
            beat = beat[:, self.channels]
        z = self.feat_dropout(torch.flatten(self.trunk(beat), 1))
        r = (torch.log(torch.clamp(rr, min=RR_FLOOR_S)) - self.rr_mean) / self.rr_std
        if self.rr_use is not None:
            r = r[:, self.rr_use]
        r = F.relu(self.rr_fc(r))
        return self.head(torch.cat([z, r], 1))

    def forward(self, beat, rr):
        return torch.softmax(self.logits(beat, rr), dim=1)


class BeatEnsemble(nn.Module):
    """The mean of the members' probabilities: one ONNX graph, one output."""

    def __init__(self, members):
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, beat, rr):
        p = self.members[0](beat, rr)
        for m in self.members[1:]:
            p = p + m(beat, rr)
        return p / len(self.members)


def count_macs(model):
    """Multiply-accumulates per beat of the conv and linear layers (the rest is negligible)."""
    if isinstance(model, BeatEnsemble):
        return sum(count_macs(m) for m in model.members)
    macs, length = 0, 128
    for m in model.trunk:
        if isinstance(m, nn.Conv1d):
            length = (length + 2 * m.padding[0] - m.kernel_size[0]) // m.stride[0] + 1
            macs += length * m.out_channels * m.in_channels * m.kernel_size[0]
        elif isinstance(m, nn.MaxPool1d):
            length //= m.kernel_size
    for m in list(model.head) + [model.rr_fc]:
        if isinstance(m, nn.Linear):
            macs += m.in_features * m.out_features
    return macs


# ------------------------------------------------------------------------------------- augmentation
def augment(x, rr, g, polarity_flip=0.0, time_scale=None):
    """Light, label-preserving perturbations that mimic differences between patients and detections.

    Every channel k >= 1 is channel 0 minus a reference (the 16-beat template, the previous beat, the long template),
    so the reference is x0 - xk: perturb x0 and recompute each xk against its unchanged reference, keeping the
    channels consistent. With polarity_flip > 0 a beat is inverted (every channel x -1, which is what inverting the lead
    does to them) with that probability; its draw comes last, so the other perturbations do not depend on it.
    With time_scale = [lo, hi] every channel is then stretched about the fiducial by a factor drawn from it (after every
    other draw, so models trained without it reproduce exactly).
    """
    n = x.shape[0]
    x0, refs = x[:, 0], x[:, :1] - x[:, 1:]
    # fiducial jitter of the detector: shift by -3..3 samples (edge values repeat)
    shift = torch.randint(-3, 4, (n, 1), generator=g)
    idx = torch.clamp(torch.arange(128).unsqueeze(0) - shift, 0, 127)
    x0 = torch.gather(x0, 1, idx)
    # beat-to-beat amplitude change, baseline offset, a little noise
    x0 = x0 * torch.empty(n, 1).uniform_(0.85, 1.15, generator=g)
    x0 = x0 + 0.05 * torch.randn(n, 1, generator=g)
    x0 = x0 + 0.02 * torch.randn(n, 128, generator=g)
    # error in the amplitude reference: scales beat and template alike
    s = torch.empty(n, 1).uniform_(0.8, 1.25, generator=g)
    x = torch.cat([(x0 * s).unsqueeze(1), (x0.unsqueeze(1) - refs) * s.unsqueeze(1)], 1)
    # heart-rate change: the intervals (seconds) scale, their ratios do not
    k = torch.empty(n, 1).uniform_(0.85, 1.18, generator=g)
    seconds = torch.zeros(1, rr.shape[1], dtype=torch.bool)
    seconds[0, [i for i in RR_SECONDS if i < rr.shape[1]]] = True
    rr = torch.where(seconds, rr * k, rr)
    if polarity_flip > 0:
        flip = torch.rand(n, generator=g) < polarity_flip
        x = torch.where(flip[:, None, None], -x, x)
    if time_scale is not None:
        x = stretch(x, torch.empty(n, 1, 1).uniform_(time_scale[0], time_scale[1], generator=g))
    return x, rr


def stretch(x, factor, fiducial=FIDUCIAL):
    """Time-scales windows [n, C, L] about the fiducial index by factor [n, 1, 1] (> 1 widens), by linear interpolation
    with the edge values held. Every channel is channel 0 minus a reference, and stretching is linear, so stretching each
    channel is stretching the beat and its references alike."""
    length = x.shape[-1]
    pos = fiducial + (torch.arange(length, dtype=x.dtype) - fiducial) / factor  # where output sample i reads the input
    pos = pos.clamp(0, length - 1).expand(x.shape[0], x.shape[1], length)
    lo = pos.floor().long().clamp(max=length - 2)
    frac = pos - lo
    return torch.gather(x, 2, lo) * (1 - frac) + torch.gather(x, 2, lo + 1) * frac


# --------------------------------------------------------------------------------------------- train
def class_weights(y, power):
    """Loss weights (n_max / n_c) ** power, so power 0 is plain CE and power 1 full inverse frequency."""
    counts = np.bincount(y, minlength=5).astype(np.float64)
    w = np.where(counts > 0, (counts.max() / np.maximum(counts, 1)) ** power, 0.0)
    return torch.tensor(w / w[counts.argmax()], dtype=torch.float32), counts


def train_model(x, rr, y, cfg, seed, log=None, records=None):
    if cfg.ensemble > 1:
        return BeatEnsemble([train_one(x, rr, y, cfg, seed * 100 + j, log, records) for j in range(cfg.ensemble)]).eval()
    return train_one(x, rr, y, cfg, seed, log, records)


def train_one(x, rr, y, cfg, seed, log=None, records=None):
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    model = BeatCnn(cfg.width, cfg.hidden, cfg.dropout, cfg.channels, cfg.feat_dropout, cfg.rr_use,
                    in_channels=x.shape[1], n_rr=rr.shape[1])
    model.set_rr_stats(rr)
    xt, rt, yt = torch.from_numpy(x), torch.from_numpy(rr), torch.from_numpy(y)
    w, counts = class_weights(y, cfg.weight_power)
    # Each epoch keeps every minority beat and a fresh random share of the N beats (cfg.n_share):
    # cheaper epochs and a softer prior; the loss weights handle the rest of the imbalance.
    n_idx = np.flatnonzero(y == 0)
    other = np.flatnonzero(y != 0)
    rng = np.random.default_rng(seed)
    n_per_epoch = int(round(cfg.n_share * len(n_idx)))
    p_n = None
    if cfg.sampling == "record":  # every record contributes the same expected number of N beats
        _, inv, per_rec = np.unique(records[n_idx], return_inverse=True, return_counts=True)
        p_n = 1.0 / per_rec[inv]
        p_n /= p_n.sum()
    w_eff = w.clone()
    w_eff[0] = w[0] * len(n_idx) / max(n_per_epoch, 1)  # keep N's total weight what it would be with all N
    steps_per_epoch = (n_per_epoch + len(other) + cfg.batch - 1) // cfg.batch
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.epochs * steps_per_epoch,
                                                pct_start=0.2)
    for epoch in range(cfg.epochs):
        model.train()
        idx = np.concatenate([rng.choice(n_idx, n_per_epoch, replace=False, p=p_n), other])
        idx = torch.from_numpy(rng.permutation(idx))
        total, t0 = 0.0, time.time()
        for b in range(steps_per_epoch):
            bi = idx[b * cfg.batch:(b + 1) * cfg.batch]
            xb, rb = xt[bi], rt[bi]
            if cfg.augment:
                xb, rb = augment(xb, rb, g, cfg.polarity_flip, cfg.time_scale)
            loss = F.cross_entropy(model.logits(xb, rb), yt[bi], weight=w_eff, label_smoothing=cfg.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss) * len(bi)
        if log:
            log(f"    epoch {epoch + 1:2d}/{cfg.epochs} loss {total / len(idx):.4f} ({time.time() - t0:.1f} s)")
    model.eval()
    return model


@torch.no_grad()
def predict(model, x, rr, batch=4096):
    model.eval()
    out = [model(torch.from_numpy(x[i:i + batch]), torch.from_numpy(rr[i:i + batch])) for i in range(0, len(x), batch)]
    return torch.cat(out).numpy()


# ---------------------------------------------------------------------------------------- evaluation
def confusion(y_true, y_pred):
    m = np.zeros((5, 5), np.int64)
    np.add.at(m, (y_true, y_pred), 1)
    return m


# EC57 as PhysioNet's bxb scores it: F and Q beats called V are not V false positives, nor Q beats called S S false
# positives (bxb: VFP = Nv + Sv + Ov + Xv, SFP = Ns + Vs + Fs + Os + Xs). The C# ConfusionMatrix does the same.
EC57_FP_EXEMPT = {"V": ("F", "Q"), "S": ("Q",)}


def class_stats(m):
    out = {}
    for c, name in enumerate(LABELS):
        tp = int(m[c, c])
        fn = int(m[c].sum() - tp)
        exempt = [LABELS.index(r) for r in EC57_FP_EXEMPT.get(name, ())]
        fp = int(m[:, c].sum() - tp - sum(m[r, c] for r in exempt))
        out[name] = {"tp": tp, "fn": fn, "fp": fp,
                     "se": round(100.0 * tp / (tp + fn), 2) if tp + fn else None,
                     "ppv": round(100.0 * tp / (tp + fp), 2) if tp + fp else None}
    return out


def format_table(stats, m):
    lines = ["| class | TP | FN | FP | Se % | +P % |", "|---|---:|---:|---:|---:|---:|"]
    for name, s in stats.items():
        fmt = lambda v: "–" if v is None else f"{v:.2f}"
        lines.append(f"| {name} | {s['tp']} | {s['fn']} | {s['fp']} | {fmt(s['se'])} | {fmt(s['ppv'])} |")
    lines += ["", "| true \\ predicted | " + " | ".join(LABELS) + " |", "|---|" + "---:|" * 5]
    for c, name in enumerate(LABELS):
        lines.append(f"| {name} | " + " | ".join(str(v) for v in m[c]) + " |")
    return "\n".join(lines)


def is_polarity_normalised(sidecar):
    """Whether the dataset's windows are turned per stream so that the dominant QRS points up (spec v3's `polarity`)."""
    return "polarity" in sidecar.get("spec", {})


def cross_validate(data, folds, cfg, seed, log, polarity_normalised=False):
    """Pooled out-of-fold predictions; also those for every held-out beat read with its lead inverted (the same models),
    to show what a lead of the other polarity does to the model. With polarity-normalised windows (spec v3) an inverted
    lead gives the very same windows (the extractor turns the stream back), so its predictions are the recorded ones."""
    y_pred = np.full(len(data["y"]), -1, np.int64)
    probs = np.zeros((len(data["y"]), 5), np.float32)
    probs_inverted = np.zeros((len(data["y"]), 5), np.float32)
    for k, held in enumerate(folds):
        test = np.isin(data["record"], held)
        t0 = time.time()
        model = train_model(data["x"][~test], data["rr"][~test], data["y"][~test], cfg, seed + 1 + k,
                            log if cfg.verbose else None, data["record"][~test])
        probs[test] = predict(model, data["x"][test], data["rr"][test])
        probs_inverted[test] = probs[test] if polarity_normalised else predict(model, -data["x"][test], data["rr"][test])
        y_pred[test] = probs[test].argmax(1)
        fold_stats = class_stats(confusion(data["y"][test], y_pred[test]))
        log(f"  fold {k + 1}/{len(folds)} ({' '.join(held)}): " +
            ", ".join(f"{n} {s['se']}/{s['ppv']}" for n, s in fold_stats.items() if s["tp"] + s["fn"]) +
            f" ({time.time() - t0:.0f} s)")
    assert (y_pred >= 0).all()
    m = confusion(data["y"], y_pred)
    return m, class_stats(m), y_pred, probs, probs_inverted


# -------------------------------------------------------------------------------------------- export
def export_onnx(model, path, opset=17):
    model.eval()
    first = model.members[0] if isinstance(model, BeatEnsemble) else model
    beat, rr = torch.zeros(1, first.in_channels, 128), torch.ones(1, first.n_rr)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch 1.13 warns about shape inference of the dynamic axis
        torch.onnx.export(model, (beat, rr), path, input_names=["beat", "rr"], output_names=["probabilities"],
                          dynamic_axes={"beat": {0: "batch"}, "rr": {0: "batch"}, "probabilities": {0: "batch"}},
                          opset_version=opset, do_constant_folding=True)
    import onnx
    m = onnx.load(path)
    onnx.checker.check_model(m)
    return m


def pick_test_vectors(data, seed, per_class=(2, 2, 2, 1, 1)):
    """A few real beats of each class present (fixed by the seed) for cross-runtime parity checks."""
    rng = np.random.default_rng(seed)
    picks = []
    for c, k in enumerate(per_class):
        idx = np.flatnonzero(data["y"] == c)
        if len(idx):
            picks += sorted(rng.choice(idx, min(k, len(idx)), replace=False).tolist())
    return picks


def decision_rule(cfg, sidecar, data):
    """The card's `decision` object, or None when it is off or the dataset cannot support it (no long RR baseline or no AF flags)."""
    names = sidecar.get("spec", {}).get("rr_features", [])
    if cfg.premature_s_ratio is None or "pre_long_ratio" not in names or "af" not in data:
        return None
    rule = {"rr_feature": "pre_long_ratio", "max_ratio": cfg.premature_s_ratio, "normal_in_af": True}
    if cfg.premature_v_probability is not None:
        rule["v_min_probability"] = cfg.premature_v_probability
    rule["from_labels"] = list(cfg.premature_from_labels)
    if cfg.premature_pause is not None and "post_pre_ratio" in names:
        rule["early_with_pause"] = {"max_ratio": cfg.premature_pause["max_ratio"], "rr_feature": "post_pre_ratio",
                                    "min_ratio": cfg.premature_pause["min_ratio"]}
    out = {"premature_supraventricular": rule}
    if cfg.ventricular_in_af is not None:
        out["ventricular_in_af"] = {"min_probability": cfg.ventricular_in_af}
    if cfg.families is not None:
        out["families"] = dict(cfg.families)
    return out


def morphology_families(windows, records, calls, f):
    """What MorphologyFamilies does in C#, stream by stream in beat order: each beat joins the template (a running mean of
    mean-removed windows) it correlates best with, if at least min_correlation, else starts one (replacing the one with the
    fewest beats once `templates` are kept). Each template counts its beats' V and other calls; from min_beats beats on, a
    call that disagrees with its family's majority (more than `majority` of its calls) takes it: V -> N, or N/S/F/Q -> V."""
    v = LABELS.index("V")
    n_label = LABELS.index("N")
    out = calls.copy()
    for r in dict.fromkeys(records.tolist()):  # streams in order of first appearance
        templates, counts, ventricular = [], [], []
        for j in np.flatnonzero(records == r):
            x = windows[j].astype(np.float64)
            x = x - x.sum() / len(x)
            nx = np.sqrt(x @ x)
            best, best_c = -1, -2.0
            for k, t in enumerate(templates):
                c = (x @ t) / (nx * np.sqrt(t @ t)) if nx > 0 and (t @ t) > 0 else 0.0
                if c > best_c:
                    best, best_c = k, c
            if best_c < f["min_correlation"]:
                if len(templates) >= f["templates"]:
                    best = int(np.argmin(counts))
                    templates[best], counts[best], ventricular[best] = x.copy(), 0, 0
                else:
                    templates.append(x.copy()); counts.append(0); ventricular.append(0)
                    best = len(templates) - 1
            counts[best] += 1
            templates[best] += (x - templates[best]) / counts[best]
            is_v = calls[j] == v
            ventricular[best] += int(is_v)
            if counts[best] >= f["min_beats"]:
                share = ventricular[best] / counts[best]
                if is_v and share < 1 - f["majority"]:
                    out[j] = n_label
                elif not is_v and share > f["majority"]:
                    out[j] = v
    return out


def apply_decision(rule, y_pred, data, sidecar, probs=None):
    """What the C# decision does (BeatClassifier.Decide, with MorphologyFamilies per stream): since 2.4.0, first a beat in AF
    called V with p(V) below ventricular_in_af's min_probability is N, then the patient's morphology families vote on the
    calls (`morphology_families`). Then a beat called one of from_labels (N or S before 2.2.0; N, S or F since) is S when
    premature and not in AF (V instead when the network gives V at least v_min_probability), else N. Premature: below
    max_ratio, or (early_with_pause, since 2.3.0) below its max_ratio and followed by a pause of at least its min_ratio."""
    r = rule["premature_supraventricular"]
    names = sidecar["spec"]["rr_features"]
    y_pred = y_pred.copy()
    if rule.get("ventricular_in_af") is not None:  # since 2.4.0: before the families, on the network's calls
        y_pred[(data["af"] == 1) & (y_pred == 2) & (probs[:, 2] < rule["ventricular_in_af"]["min_probability"])] = 0
    if rule.get("families") is not None:
        f = rule["families"]
        y_pred = morphology_families(data["x"][:, f["channel"], :], data["record"], y_pred, f)
    ratio = data["rr"][:, names.index(r["rr_feature"])]
    premature = ratio < r["max_ratio"]  # NaN compares False: not premature
    if r.get("early_with_pause") is not None:
        p = r["early_with_pause"]
        premature |= (ratio < p["max_ratio"]) & (data["rr"][:, names.index(p["rr_feature"])] >= p["min_ratio"])
    if r["normal_in_af"]:
        premature &= data["af"] == 0
    out = y_pred.copy()
    sv = np.isin(y_pred, [LABELS.index(label) for label in r.get("from_labels", ["N", "S"])])
    out[sv & premature] = 1
    out[sv & ~premature] = 0
    if r.get("v_min_probability") is not None:
        out[sv & premature & (probs[:, 2] >= r["v_min_probability"])] = 2
    return out


def normalisation_text(spec):
    """The card's words for the window normalisation of a dataset sidecar's spec (v1, v2, v3)."""
    version = spec.get("version", 1)
    text = ("channel 0: window minus its median, divided by the median peak-to-peak of the last up to 32 windows "
            "(floor 0.05 mV); channel 1: channel 0 minus the element-wise median of the previous up to 16 normalised windows")
    if version >= 2:
        text += ("; channel 2: channel 0 minus the previous beat's channel 0; channel 3: channel 0 minus the "
                 f"element-wise median of the previous up to {spec.get('long_template_beats', 128)} normalised windows "
                 "(the channels are zero for a stream's first beat)")
    polarity = spec.get("polarity")
    if polarity:
        h = polarity.get("hysteresis", 1.2)
        text += ("; then every channel times the stream's polarity sign, so that its dominant QRS points up: the sign of the "
                 f"long template's larger deflection within +-{polarity.get('search_ms', 50):g} ms of the fiducial (the beat's own "
                 f"window for the first beat), turning only when the other side is more than {h:g} times larger")
    return text


def model_card(args, cfg, sidecar, dataset_sha, onnx_sha, cv, test_vectors, tolerance, macs, params, rule=None, after=None,
               inverted=None):
    spec = sidecar.get("spec", {})
    version = spec.get("version", 1)
    normalisation = normalisation_text(spec)
    input_spec = {
        "spec_version": spec.get("version", 1), "sample_rate_hz": spec.get("sample_rate_hz", 180),
        "window_samples": spec.get("window_samples", 128), "window_offset_samples": spec.get("window_offset_samples", -54),
        "channels": spec.get("channels", 2), "leads": [spec.get("lead", "first ECG lead")],
        "rr_features": spec.get("rr_features", ["pre_rr_s", "post_rr_s", "local_rr_s", "pre_ratio", "post_ratio", "post_pre_ratio"]),
        "normalisation": spec.get("normalisation", normalisation),
        "filter": spec.get("filter", {"baseline_hz": 0.5, "lowpass_hz": 35, "mains_notch": None}),
        "tensors": {"beat": "beat", "rr": "rr", "output": "probabilities"},
        "dataset_spec": spec,
    }
    # The minor version counts changes over the same network inputs: 2.1.0 is spec v2 with the premature-S rule, 2.2.0 the
    # same rule re-deciding the network's F calls as well, 2.3.0 with its early-with-a-pause test too, 2.4.0 with the V-in-AF
    # threshold and the morphology families before it (a network trained with polarity augmentation adds one more).
    minor = 0
    if rule is not None:
        r = rule["premature_supraventricular"]
        minor = 1 + ("F" in r["from_labels"]) + ("early_with_pause" in r) + ("families" in rule)
    minor += cfg.polarity_flip > 0
    card = {
        "name": "beat-cnn", "version": f"{version}.{minor}.{getattr(args, 'patch', 0)}", "task": "beat-classification",
        "onnx": "beat-cnn.onnx", "onnx_sha256": onnx_sha, "opset": 17,
        "input": input_spec,
        "labels": LABELS,
        "architecture": {"description": architecture(cfg, input_spec["channels"], len(input_spec["rr_features"])),
                         "parameters": params, "macs_per_beat": macs},
        "training": {"records": DS1, "dataset": os.path.basename(args.data), "dataset_sha256": dataset_sha,
                     "recipe": recipe_command(args), "seed": args.seed, "torch": torch.__version__, "numpy": np.__version__,
                     "threads": torch.get_num_threads(), "epochs": cfg.epochs, "hyperparameters": vars(cfg),
                     "beats": int(cv["beats"]), "class_counts": cv["class_counts"]},
        "cross_validation": {"scheme": f"patient-wise {len(FOLDS)}-fold on DS1 (whole records per fold, fixed assignment), "
                                       "pooled out-of-fold predictions, argmax; scored per EC57 as bxb does (F and Q beats "
                                       "called V are not V false positives, nor Q beats called S)",
                             "folds": len(FOLDS), "fold_records": FOLDS,
                             "classes": cv["classes"],
                             "confusion": {"labels": LABELS, "rows": "true", "columns": "predicted", "matrix": cv["matrix"]},
                             "reproducibility_tolerance_pct": tolerance},
        "test_vectors": test_vectors,
    }
    if rule is not None:
        card["decision"] = rule
        card["cross_validation"]["after_decision"] = {
            "scheme": "the same out-of-fold predictions, then the decision with the dataset's AF flags",
            "classes": after["classes"],
            "confusion": {"labels": LABELS, "rows": "true", "columns": "predicted", "matrix": after["matrix"]}}
    if inverted is not None:
        card["cross_validation"]["inverted_lead"] = {
            "scheme": ("the windows are polarity-normalised (each stream turned so that its dominant QRS points up), so a "
                       "lead inverted gives the same windows and these are the recorded figures" if is_polarity_normalised(sidecar) else
                       "the same fold models on every held-out beat with its lead inverted (all channels x -1)")
                      + (", then the decision" if rule is not None else ", argmax"),
            "classes": inverted["classes"],
            "confusion": {"labels": LABELS, "rows": "true", "columns": "predicted", "matrix": inverted["matrix"]}}
    return card


def architecture(cfg, channels, n_rr):
    w1, w2 = cfg.width, 2 * cfg.width
    used = channels if cfg.channels is None else len(cfg.channels)
    rr_used = n_rr if cfg.rr_use is None else len(cfg.rr_use)
    one = (f"Conv1d({used}->{w1},k7,s2)+BN+ReLU, Conv1d({w1}->{w1},k5)+BN+ReLU, MaxPool2, Conv1d({w1}->{w2},k5)+BN+ReLU, MaxPool2, "
           f"Conv1d({w2}->{w2},k3)+BN+ReLU, MaxPool2, flatten({w2 * 8}) ++ ReLU(Linear(standardised log RR, {rr_used}->16)) "
           f"-> Linear({w2 * 8 + 16}->{cfg.hidden})+ReLU -> Linear({cfg.hidden}->5) -> softmax (BN folded into Conv in the ONNX)")
    if cfg.ensemble > 1:
        return f"mean of the probabilities of {cfg.ensemble} members (seeds differ), each: " + one
    return one


def recipe_command(args):
    parts = ["/usr/bin/python3", "training/beats/recipe.py", "--data", args.data, "--out", args.out, "--seed", str(args.seed),
             "--threads", str(args.threads)]
    if getattr(args, "patch", 0):
        parts += ["--patch", str(args.patch)]
    if args.quick:
        parts.append("--quick")
    for k, v in args.set or []:
        parts += ["--set", f"{k}={json.dumps(v)}"]
    return " ".join(shlex.quote(p) for p in parts)


# ---------------------------------------------------------------------------------------------- main
class Config:
    def __init__(self, quick=False, **over):
        self.epochs = 2 if quick else 8
        self.batch = 128
        self.lr = 3e-3
        self.weight_decay = 1e-3
        self.width = 8
        self.hidden = 32
        self.dropout = 0.3
        self.weight_power = 0.5
        self.n_share = 0.35
        self.label_smoothing = 0.0
        self.augment = True
        # Probability that a training beat is inverted (a lead of the other polarity); 0 draws nothing, so the models
        # trained before it reproduce exactly.
        self.polarity_flip = 0.0
        # [lo, hi]: every training beat is time-scaled about its fiducial by a factor drawn from it (README, "Time-scale
        # augmentation"); None draws nothing.
        self.time_scale = None
        self.channels = None  # None: every channel of the dataset; a list of indices (experiments) picks some
        self.feat_dropout = 0.0
        self.sampling = "class"
        self.rr_use = None  # None: every RR feature of the dataset; a list of indices (experiments) picks some
        # The decision after the network (docs/beat-model-contract.md): a beat called N or S is S when pre_rr / long_rr is below
        # this and the AF detector does not put it in AF. 0.8 (20% early) is the usual Holter prematurity criterion; None: argmax only.
        self.premature_s_ratio = 0.8
        # A beat the decision would call S is V when the network's V probability is at least this (most false S were premature
        # V beats the network called N); chosen from {0.1, 0.2, 0.3} by a rule written before the runs (README); None: no veto.
        self.premature_v_probability = 0.1
        # The network calls the rule re-decides. F joined N and S by a rule written before its run (README, "F calls join the
        # decision"): across patients the network's F calls are N beats, and F is never learnt from DS1's one F-rich record.
        self.premature_from_labels = ["N", "S", "F"]
        # A beat at least 10% early and followed by an interval at least 1.2 times the one before it is premature too (an
        # atrial premature beat resets the sinus node); fixed before its run, by a rule written first (README); None: off.
        self.premature_pause = {"max_ratio": 0.9, "min_ratio": 1.2}
        # Before that rule, on the network's calls: a beat in AF called V with p(V) below this is N (aberrant conduction looks
        # ventricular), then each patient's morphology families vote (README, "Families with the AF evidence", a rule written
        # before its runs and passed); None: off.
        self.ventricular_in_af = 0.7
        self.families = {"channel": 0, "min_correlation": 0.9, "templates": 16, "min_beats": 8, "majority": 2 / 3}
        self.ensemble = 2 if quick else 5
        self.verbose = False
        for k, v in over.items():
            assert hasattr(self, k), k
            setattr(self, k, v)


def setup_determinism(seed, threads=2):
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.use_deterministic_algorithms(True)


def run(args, log=print):
    setup_determinism(args.seed, args.threads)
    cfg = Config(args.quick, **dict(kv for kv in (args.set or [])))
    t_start = time.time()
    data_all, sidecar = load_dataset(args.data)
    data = select_records(data_all, DS1)  # paced records and DS2 never enter training or statistics
    missing = sorted(set(DS1) - set(np.unique(data["record"])))
    if missing:
        log(f"warning: DS1 records missing from the dataset: {' '.join(missing)}")
    folds = [[r for r in f if r not in missing] for f in FOLDS]
    counts = np.bincount(data["y"], minlength=5)
    log(f"DS1: {len(data['y'])} beats, " + ", ".join(f"{n} {c}" for n, c in zip(LABELS, counts)))
    dataset_sha = sha256_file(args.data)

    log(f"cross-validation ({len(folds)} folds, {cfg.epochs} epochs each)")
    m, stats, y_pred, probs, probs_inverted = cross_validate(data, folds, cfg, args.seed, log, is_polarity_normalised(sidecar))
    log(format_table(stats, m))
    rule = decision_rule(cfg, sidecar, data)
    after = None
    y_inv = probs_inverted.argmax(1)
    if rule is not None:
        y_dec = apply_decision(rule, y_pred, data, sidecar, probs)
        m_dec = confusion(data["y"], y_dec)
        after = {"classes": class_stats(m_dec), "matrix": m_dec.tolist()}
        log("after the decision (premature S rule, AF flags from the dataset):")
        log(format_table(after["classes"], m_dec))
        y_inv = apply_decision(rule, y_inv, data, sidecar, probs_inverted)
    m_inv = confusion(data["y"], y_inv)
    inverted = {"classes": class_stats(m_inv), "matrix": m_inv.tolist()}
    log("every held-out beat read with its lead inverted" + (", after the decision:" if rule is not None else ":"))
    log(format_table(inverted["classes"], m_inv))
    t_cv = time.time() - t_start
    if args.cv_only:  # experiments: keep the out-of-fold predictions, skip the final fit
        os.makedirs(args.out, exist_ok=True)
        np.savez(os.path.join(args.out, "oof.npz"), y=data["y"], pred=y_pred, probs=probs, record=data["record"],
                 decided=y_dec if rule is not None else y_pred, probs_inverted=probs_inverted, decided_inverted=y_inv)
        log(f"cross-validation only: {t_cv:.0f} s")
        return None

    log("final fit on all of DS1")
    model = train_model(data["x"], data["rr"], data["y"], cfg, args.seed, log if cfg.verbose else None, data["record"])
    os.makedirs(args.out, exist_ok=True)
    onnx_path = os.path.join(args.out, "beat-cnn.onnx")
    export_onnx(model, onnx_path)
    onnx_sha = sha256_file(onnx_path)

    picks = pick_test_vectors(data, args.seed)
    probs = predict(model, data["x"][picks], data["rr"][picks])
    test_vectors = [{"record": str(data["record"][i]), "sample": int(data["sample"][i]), "label": LABELS[data["y"][i]],
                     "beat": data["x"][i].astype(float).tolist(), "rr": data["rr"][i].astype(float).tolist(),
                     "probabilities": p.astype(float).tolist()} for i, p in zip(picks, probs)]
    # the exported graph must give what PyTorch gives
    from onnx_check import run_onnx
    onnx_probs = run_onnx(onnx_path, data["x"][picks], data["rr"][picks])
    parity = float(np.abs(onnx_probs - probs).max())
    log(f"ONNX (numpy reference evaluator) vs PyTorch on the test vectors: max |diff| {parity:.2e}")
    assert parity < 1e-5, parity

    macs = count_macs(model)
    params = sum(p.numel() for p in model.parameters())
    cv = {"classes": stats, "matrix": m.tolist(), "beats": len(data["y"]),
          "class_counts": {n: int(c) for n, c in zip(LABELS, counts)}}
    card = model_card(args, cfg, sidecar, dataset_sha, onnx_sha, cv, test_vectors, args.tolerance, macs, params, rule, after,
                      inverted)
    card["training"]["wall_s"] = {"cross_validation": round(t_cv), "total": round(time.time() - t_start)}
    card_path = os.path.join(args.out, "beat-cnn.json")
    with open(card_path, "w") as f:
        json.dump(card, f, indent=1)
        f.write("\n")
    log(f"wrote {onnx_path} (sha256 {onnx_sha}) and {card_path}; {params} parameters, {macs} MACs per beat; "
        f"{time.time() - t_start:.0f} s")
    return card


def parse_set(s):
    k, v = s.split("=", 1)
    return k, json.loads(v)


def main_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="beat dataset .npz from `hearttwin dataset beats` (sidecar .json beside it)")
    ap.add_argument("--out", default="models", help="folder for beat-cnn.onnx and beat-cnn.json")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--threads", type=int, default=2,
                    help="torch threads; 1 on a machine whose other core is busy (two threads then wait on each other)")
    ap.add_argument("--patch", type=int, default=0,
                    help="the version's patch: re-runs of one configuration on a changed export of main (1 for beat-cnn 2.4.1, "
                         "after the QRS detector changed on 2026-11-25)")
    ap.add_argument("--quick", action="store_true", help="2 epochs: a smoke test, not a model")
    ap.add_argument("--tolerance", type=float, default=0.0,
                    help="reproducibility tolerance (percentage points) observed between re-runs, recorded in the card")
    ap.add_argument("--cv-only", action="store_true", help="experiments: cross-validate only, save out-of-fold predictions")
    ap.add_argument("--set", type=parse_set, action="append", metavar="KEY=JSON",
                    help="override a hyperparameter (experiments only; the shipped model uses the defaults)")
    return ap.parse_args(argv)


def main(argv=None):
    torch.set_num_threads(2)
    run(main_args(argv))


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main()
