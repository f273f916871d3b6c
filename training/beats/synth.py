"""Synthetic beat dataset in the layout of `hearttwin dataset beats` (docs/beat-model-contract.md).

Only for developing and unit-testing the recipe: the beats are sums of Gaussian waves (P, QRS, T),
with per-record gain and morphology, premature S and V beats with their compensatory pauses,
fusion (F) beats half-way between N and V, and a few Q beats of noise. Channel 1 and the RR
features are computed the way the contract describes, so the recipe sees the same shapes,
dtypes and rough value ranges as on the real export.

    /usr/bin/python3 training/beats/synth.py --out /tmp/synth-beats.npz
"""
import argparse
import io
import json
import os
import zipfile

import numpy as np

FS = 180
WINDOW = 128
PRE = 54
LABELS = ["N", "S", "V", "F", "Q"]
DS1 = ["101", "106", "108", "109", "112", "114", "115", "116", "118", "119", "122",
       "124", "201", "203", "205", "207", "208", "209", "215", "220", "223", "230"]
PACED = ["102", "104", "107", "217"]
RR_FEATURES = ["pre_rr_s", "post_rr_s", "local_rr_s", "pre_ratio", "post_ratio", "post_pre_ratio"]


def _wave(t, centre, width, amp):
    return amp * np.exp(-0.5 * ((t - centre) / width) ** 2)


def _beat(rng, cls, morph):
    """One raw beat (mV) around the fiducial at index PRE; morph holds the record's shape."""
    t = (np.arange(WINDOW) - PRE) / FS
    p_amp, qrs_amp, qrs_w, t_amp, v_amp, v_w, v_sign = morph
    x = np.zeros(WINDOW)
    if cls == 0 or cls == 3:  # N (F mixes N with V below)
        x += _wave(t, -0.16, 0.02, p_amp) + _wave(t, 0.0, qrs_w, qrs_amp) + _wave(t, 0.25, 0.05, t_amp)
    if cls == 1:  # S: early, different P wave, normal QRS
        x += _wave(t, -0.12, 0.015, -0.6 * p_amp) + _wave(t, 0.0, qrs_w, qrs_amp) + _wave(t, 0.24, 0.05, t_amp)
    if cls == 2 or cls == 3:  # V: wide, no P, discordant T
        v = _wave(t, 0.01, v_w, v_sign * v_amp) + _wave(t, 0.22, 0.06, -v_sign * 0.5 * v_amp)
        x = v if cls == 2 else 0.5 * x + 0.5 * v
    if cls == 4:  # Q: unclassifiable, mostly noise around a spike
        x += _wave(t, 0.0, 0.01, qrs_amp) + 0.2 * rng.standard_normal(WINDOW)
    return x + 0.02 * rng.standard_normal(WINDOW)


def _record(rng, name, n_beats, mix):
    """Beats of one record: labels from mix, raw RR intervals and the contract's two channels."""
    morph = (rng.uniform(0.05, 0.2), rng.uniform(0.6, 2.0), rng.uniform(0.008, 0.015), rng.uniform(0.1, 0.5),
             rng.uniform(0.8, 2.5), rng.uniform(0.025, 0.045), rng.choice([-1.0, 1.0]))
    gain = rng.uniform(0.5, 2.0)
    base_rr = rng.uniform(0.6, 1.1)
    y = rng.choice(5, size=n_beats, p=mix)
    rr = np.empty(n_beats + 1)  # rr[i] = interval before beat i (rr[n] = after the last)
    for i in range(n_beats + 1):
        r = base_rr * rng.uniform(0.95, 1.05)
        if i < n_beats and y[i] in (1, 2, 3):
            r *= rng.uniform(0.55, 0.8) if y[i] != 3 else rng.uniform(0.8, 0.95)
        if i > 0 and y[i - 1] == 2:
            r = max(r, 2 * base_rr - rr[i - 1])  # compensatory pause after a V
        rr[i] = r
    raw = np.stack([gain * _beat(rng, c, morph) for c in y])
    x = np.zeros((n_beats, 2, WINDOW), np.float32)
    rrf = np.zeros((n_beats, 6), np.float32)
    amps = []
    for i in range(n_beats):
        w = raw[i] - np.median(raw[i])
        amps.append(np.ptp(raw[i]))
        ref = max(np.median(amps[-32:]), 0.05)
        x[i, 0] = w / ref
        if i > 0:
            x[i, 1] = x[i, 0] - np.median(x[max(0, i - 16):i, 0], axis=0)
        pre, post = rr[i], rr[i + 1]
        local = np.mean(rr[max(0, i - 9):i + 1])
        rrf[i] = [pre, post, local, pre / local, post / local, post / pre]
    sample = (np.cumsum(rr[:n_beats]) * 360).astype(np.int64)
    return x, rrf, y.astype(np.int64), np.array([name] * n_beats, dtype="<U16"), sample


def make_dataset(seed=1, beats_per_record=300, records=None):
    rng = np.random.default_rng(seed)
    records = records or DS1 + PACED
    parts = []
    for k, name in enumerate(records):
        mix = np.array([0.85, 0.05, 0.07, 0.02, 0.01])
        if k % 3 == 0:
            mix = np.array([0.70, 0.15, 0.10, 0.04, 0.01])
        parts.append(_record(rng, name, beats_per_record, mix / mix.sum()))
    return {key: np.concatenate([p[j] for p in parts])
            for j, key in enumerate(["x", "rr", "y", "record", "sample"])}


RR_FEATURES_V2 = RR_FEATURES + ["long_rr_s", "pre_long_ratio", "post_long_ratio"]


def to_spec2(arrays):
    """Spec v2's extra channels and RR features, per record as the C# extractor computes them: channel 0 minus the
    previous beat's, channel 0 minus the element-wise median of the previous up to 128 windows (zeros for a record's
    first beat), and the median of the last up to 100 pre_rr intervals with pre and post over it."""
    x, rr, rec = arrays["x"], arrays["rr"], arrays["record"]
    n = len(x)
    x2 = np.zeros((n, 4, x.shape[2]), np.float32)
    x2[:, :2] = x
    rr2 = np.zeros((n, 9), np.float32)
    rr2[:, :6] = rr
    for name in dict.fromkeys(rec):
        idx = np.flatnonzero(rec == name)
        for j, i in enumerate(idx):
            if j > 0:
                x2[i, 2] = x[i, 0] - x[idx[j - 1], 0]
                x2[i, 3] = x[i, 0] - np.median(x[idx[max(0, j - 128):j], 0], axis=0)
            pre = rr[idx[max(0, j - 99):j + 1], 0]
            long_rr = np.median(pre)
            rr2[i, 6:] = [long_rr, rr[i, 0] / long_rr, rr[i, 1] / long_rr]
    # The AF detector's flags: the last quarter of every third record is "in AF" (the decision calls no beat there S).
    af = np.zeros(n, np.int64)
    for k, name in enumerate(dict.fromkeys(rec)):
        idx = np.flatnonzero(rec == name)
        if k % 3 == 0:
            af[idx[3 * len(idx) // 4:]] = 1
    return dict(arrays, x=x2, rr=rr2, af=af)


def save_npz(path, arrays, records):
    """Writes an uncompressed .npz (zip entries in a fixed order, fixed timestamps) and its sidecar .json."""
    tmp = path + ".tmp"
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as z:
        for key in [k for k in ["x", "rr", "y", "record", "sample", "af"] if k in arrays]:
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arrays[key]), allow_pickle=False)
            z.writestr(zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0)), buf.getvalue())
    os.replace(tmp, path)
    y = arrays["y"]
    v2 = arrays["x"].shape[1] == 4
    spec = {"version": 2 if v2 else 1, "sample_rate_hz": FS, "window_samples": WINDOW, "window_offset_samples": -PRE,
            "channels": arrays["x"].shape[1], "lead": "first ECG lead",
            "filter": {"baseline_hz": 0.5, "lowpass_hz": 35, "mains_notch": None},
            "rr_features": RR_FEATURES_V2 if v2 else RR_FEATURES}
    if v2:
        spec.update({"previous_beat_channel": True, "long_template_beats": 128, "long_rr_intervals": 100})
    sidecar = {
        "spec": spec,
        "labels": LABELS,
        "records": records,
        "counts": {LABELS[c]: int((y == c).sum()) for c in range(5)},
        "synthetic": True,
    }
    with open(os.path.splitext(path)[0] + ".json", "w") as f:
        json.dump(sidecar, f, indent=2)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--beats-per-record", type=int, default=300)
    ap.add_argument("--spec", type=int, choices=[1, 2], default=1, help="the exporter's spec version to mimic")
    a = ap.parse_args()
    records = DS1 + PACED
    arrays = make_dataset(a.seed, a.beats_per_record, records)
    save_npz(a.out, to_spec2(arrays) if a.spec == 2 else arrays, records)
    print("wrote", a.out)


if __name__ == "__main__":
    main()
