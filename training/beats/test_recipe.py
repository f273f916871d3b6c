"""Self-test of the recipe on a small synthetic dataset (not run in CI: torch is not installed there).

    cd training/beats && /usr/bin/python3 -m unittest -v
"""
import json
import os
import tempfile
import unittest

import numpy as np
import torch

import onnx_check
import recipe
import synth


class RecipeOnSyntheticData(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.data = os.path.join(cls.tmp.name, "synth.npz")
        records = synth.DS1 + synth.PACED
        synth.save_npz(cls.data, synth.make_dataset(seed=3, beats_per_record=120, records=records), records)
        cls.cards = []
        for run in range(2):
            out = os.path.join(cls.tmp.name, f"models{run}")
            cls.cards.append((out, recipe.run(recipe.main_args(["--data", cls.data, "--out", out, "--quick"]), log=lambda *_: None)))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_dataset_layout_matches_the_contract(self):
        d = np.load(self.data)
        self.assertEqual(sorted(d.files), ["record", "rr", "sample", "x", "y"])
        self.assertEqual((d["x"].dtype, d["x"].shape[1:]), (np.float32, (2, 128)))
        self.assertEqual((d["rr"].dtype, d["rr"].shape[1:]), (np.float32, (6,)))
        self.assertEqual(d["y"].dtype, np.int64)
        self.assertEqual(d["record"].dtype, np.dtype("<U16"))
        self.assertEqual(d["sample"].dtype, np.int64)

    def test_onnx_has_the_contract_tensors_and_a_dynamic_batch(self):
        out, _ = self.cards[0]
        info = onnx_check.describe(os.path.join(out, "beat-cnn.onnx"))
        self.assertEqual(info["inputs"], {"beat": ["batch", 2, 128], "rr": ["batch", 6]})
        self.assertEqual(info["outputs"], {"probabilities": ["batch", 5]})
        self.assertLessEqual(info["opset"], 17)
        self.assertNotIn("BatchNormalization", info["ops"])  # folded into Conv

    def test_onnx_computes_what_pytorch_computed_for_the_test_vectors(self):
        out, card = self.cards[0]
        tv = card["test_vectors"]
        self.assertGreaterEqual(len(tv), 5)
        self.assertEqual({t["label"] for t in tv} >= {"N", "S", "V", "F"}, True)
        beat = np.array([t["beat"] for t in tv], np.float32)
        rr = np.array([t["rr"] for t in tv], np.float32)
        got = onnx_check.run_onnx(os.path.join(out, "beat-cnn.onnx"), beat, rr)
        want = np.array([t["probabilities"] for t in tv], np.float32)
        np.testing.assert_allclose(got, want, atol=1e-5)
        np.testing.assert_allclose(got.sum(1), 1.0, atol=1e-5)

    def test_same_command_gives_the_same_bytes_and_figures(self):
        (out0, card0), (out1, card1) = self.cards
        self.assertEqual(card0["onnx_sha256"], card1["onnx_sha256"])
        self.assertEqual(card0["cross_validation"], card1["cross_validation"])
        self.assertEqual(card0["test_vectors"], card1["test_vectors"])

    def test_card_follows_the_contract(self):
        out, card = self.cards[0]
        with open(os.path.join(out, "beat-cnn.json")) as f:
            saved = json.load(f)
        for key in ["name", "version", "task", "onnx", "onnx_sha256", "input", "labels", "training", "cross_validation", "test_vectors"]:
            self.assertIn(key, saved)
        self.assertEqual(saved["labels"], ["N", "S", "V", "F", "Q"])
        self.assertEqual(saved["input"]["tensors"], {"beat": "beat", "rr": "rr", "output": "probabilities"})
        self.assertEqual(saved["training"]["records"], recipe.DS1)
        self.assertEqual(saved["training"]["dataset_sha256"], recipe.sha256_file(self.data))
        self.assertEqual(saved["onnx_sha256"], recipe.sha256_file(os.path.join(out, "beat-cnn.onnx")))
        m = np.array(saved["cross_validation"]["confusion"]["matrix"])
        d = np.load(self.data)
        self.assertEqual(m.sum(), np.isin(d["record"], recipe.DS1).sum())  # paced records never scored

    def test_folds_are_whole_ds1_records_each_once(self):
        flat = [r for f in recipe.FOLDS for r in f]
        self.assertEqual(sorted(flat), sorted(recipe.DS1))
        self.assertTrue(set(flat).isdisjoint(synth.PACED))


class Ec57Statistics(unittest.TestCase):
    def test_fusion_and_unclassifiable_beats_called_v_are_not_v_false_positives(self):
        # Rows true, columns predicted, N S V F Q. bxb: VFP = Nv + Sv + Ov + Xv, SFP = Ns + Vs + Fs + Os + Xs.
        m = np.zeros((5, 5), np.int64)
        for true, pred in [(2, 2), (3, 2), (4, 2), (0, 2), (1, 2), (4, 1), (3, 1), (1, 1), (3, 0)]:
            m[true, pred] += 1
        s = recipe.class_stats(m)
        self.assertEqual((s["V"]["tp"], s["V"]["fp"], s["V"]["fn"]), (1, 2, 0))
        self.assertEqual((s["S"]["tp"], s["S"]["fp"], s["S"]["fn"]), (1, 1, 1))
        self.assertEqual((s["F"]["fp"], s["F"]["fn"]), (0, 3))
        self.assertEqual((s["N"]["fp"], s["N"]["fn"]), (1, 1))


class MorphologyFamilies(unittest.TestCase):
    F = {"channel": 0, "min_correlation": 0.9, "templates": 16, "min_beats": 8, "majority": 2 / 3}

    def test_a_family_outvotes_its_odd_calls_once_it_holds_enough_beats(self):
        t = np.linspace(0, 1, 128)
        normal = np.exp(-((t - 0.42) / 0.03) ** 2)
        wide = -np.exp(-((t - 0.45) / 0.1) ** 2)
        rng = np.random.default_rng(1)
        shapes = [normal if i % 3 else wide for i in range(60)]
        windows = np.stack([s + 0.01 * rng.standard_normal(128) for s in shapes]).astype(np.float32)
        calls = np.array([0 if i % 3 else 2 for i in range(60)])
        calls[[4, 40]] = 2   # normal beats called V: the first too early for a verdict, the second outvoted
        calls[[6, 45]] = 0   # wide beats called N: likewise
        out = recipe.morphology_families(windows, np.array(["a"] * 60), calls, self.F)
        self.assertEqual(out[4], 2)
        self.assertEqual(out[40], 0)
        self.assertEqual(out[6], 0)
        self.assertEqual(out[45], 2)
        self.assertEqual(int((out != calls).sum()), 2)

    def test_the_decision_runs_the_v_in_af_rule_and_the_families_before_the_premature_rule(self):
        names = synth.RR_FEATURES_V2
        n = 12
        t = np.linspace(0, 1, 128)
        beat = np.exp(-((t - 0.42) / 0.03) ** 2).astype(np.float32)
        data = {"x": np.tile(beat, (n, 4, 1)), "record": np.array(["a"] * n), "af": np.zeros(n, np.int64),
                "rr": np.ones((n, len(names)), np.float32)}  # on time: the premature rule calls N-like beats N
        sidecar = {"spec": {"rr_features": names}}
        probs = np.zeros((n, 5), np.float32)
        probs[:, 2] = 0.9
        probs[-1, 2] = 0.6  # the last beat: V at 0.6, in AF
        data["af"][-1] = 1
        y_pred = np.full(n, 2)
        y_pred[3] = 0  # one N call among V calls of one shape, too early for a verdict
        rule = recipe.decision_rule(recipe.Config(), sidecar, data)
        out = recipe.apply_decision(rule, y_pred, data, sidecar, probs)
        self.assertEqual(out[3], 0)   # its family had 4 beats
        self.assertEqual(out[-1], 2)  # the V-in-AF rule made it N, then its V family (11 of 12 V) made it V again
        no_families = recipe.apply_decision(dict(rule, families=None), y_pred, data, sidecar, probs)
        self.assertEqual(no_families[-1], 0)  # without the families it stays N

    def test_streams_keep_their_own_families(self):
        t = np.linspace(0, 1, 128)
        beat = np.exp(-((t - 0.42) / 0.03) ** 2).astype(np.float32)
        windows = np.stack([beat] * 20)
        calls = np.array([2] * 10 + [0] * 10)  # stream a all V, stream b all N: one shape, two patients
        out = recipe.morphology_families(windows, np.array(["a"] * 10 + ["b"] * 10), calls, self.F)
        np.testing.assert_array_equal(out, calls)


class NormalisationText(unittest.TestCase):
    def test_each_spec_version_states_what_it_adds(self):
        v1 = recipe.normalisation_text({"version": 1})
        v2 = recipe.normalisation_text({"version": 2, "long_template_beats": 128})
        v3 = recipe.normalisation_text({"version": 3, "long_template_beats": 128,
                                        "polarity": {"rule": "dominant QRS up", "search_ms": 50, "hysteresis": 1.2}})
        self.assertNotIn("channel 3", v1)
        self.assertTrue(v2.startswith(v1) and "channel 3" in v2 and "polarity" not in v2)
        self.assertTrue(v3.startswith(v2))
        self.assertIn("polarity sign", v3)
        self.assertIn("+-50 ms", v3)
        self.assertIn("1.2 times", v3)


class RecipeOnSpec2SyntheticData(unittest.TestCase):
    """The recipe takes the channel and RR counts from the data: a spec v2 dataset gives a [batch,4,128] + [batch,9] model."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.data = os.path.join(cls.tmp.name, "synth2.npz")
        records = synth.DS1 + synth.PACED
        arrays = synth.to_spec2(synth.make_dataset(seed=4, beats_per_record=80, records=records))
        synth.save_npz(cls.data, arrays, records)
        cls.out = os.path.join(cls.tmp.name, "models")
        cls.card = recipe.run(recipe.main_args(["--data", cls.data, "--out", cls.out, "--quick"]), log=lambda *_: None)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_onnx_takes_four_channels_and_nine_rr_features(self):
        info = onnx_check.describe(os.path.join(self.out, "beat-cnn.onnx"))
        self.assertEqual(info["inputs"], {"beat": ["batch", 4, 128], "rr": ["batch", 9]})

    def test_card_states_spec_version_2(self):
        self.assertEqual(self.card["version"], "2.4.0")  # .4: the premature-S decision over N, S and F calls, with the pause test, after the V-in-AF rule and the families
        self.assertEqual(self.card["input"]["spec_version"], 2)
        self.assertEqual(self.card["input"]["channels"], 4)
        self.assertEqual(len(self.card["input"]["rr_features"]), 9)
        self.assertEqual(len(self.card["test_vectors"][0]["beat"]), 4)
        self.assertIn("channel 3", self.card["input"]["normalisation"])

    def test_card_carries_the_premature_s_decision_and_its_cross_validation(self):
        self.assertEqual(self.card["decision"], {
            "premature_supraventricular": {
                "rr_feature": "pre_long_ratio", "max_ratio": 0.8, "normal_in_af": True, "v_min_probability": 0.1,
                "from_labels": ["N", "S", "F"],
                "early_with_pause": {"max_ratio": 0.9, "rr_feature": "post_pre_ratio", "min_ratio": 1.2}},
            "ventricular_in_af": {"min_probability": 0.7},
            "families": {"channel": 0, "min_correlation": 0.9, "templates": 16, "min_beats": 8, "majority": 2 / 3}})
        self.assertEqual(self.card["version"], "2.4.0")
        after = self.card["cross_validation"]["after_decision"]
        before = np.array(self.card["cross_validation"]["confusion"]["matrix"])
        m = np.array(after["confusion"]["matrix"])
        np.testing.assert_array_equal(m[:, 3], 0)  # nothing is left called F
        # the decision moves beats between columns only: what the card's two matrices say must be the same out-of-fold calls
        self.assertEqual(m.sum(), before.sum())
        self.assertFalse(np.array_equal(m, before))

    def test_decision_calls_premature_beats_s_and_never_in_af(self):
        d = np.load(self.data)
        data = {k: d[k] for k in d.files}
        sidecar = {"spec": {"rr_features": synth.RR_FEATURES_V2}}
        rule = recipe.decision_rule(recipe.Config(ventricular_in_af=None, families=None), sidecar, data)
        y_pred = np.where(np.isin(data["y"], [0, 1]), 0, data["y"])  # a network that calls every S beat N
        y_pred[::7] = 3  # and some beats F, which the decision re-decides as it does N and S
        probs = np.zeros((len(y_pred), 5), np.float32)
        probs[:, 2] = np.where(np.arange(len(y_pred)) % 2 == 0, 0.05, 0.5)  # every other beat has V probability 0.5
        out = recipe.apply_decision(rule, y_pred, data, sidecar, probs)
        premature = (data["rr"][:, 7] < 0.8) | ((data["rr"][:, 7] < 0.9) & (data["rr"][:, 5] >= 1.2))
        self.assertGreater(((data["rr"][:, 7] >= 0.8) & premature).sum(), 0)  # the pause test decides some beats
        vetoed = np.isin(y_pred, [0, 1, 3]) & premature & (data["af"] == 0) & (probs[:, 2] >= 0.1)
        np.testing.assert_array_equal(out[vetoed], 2)
        out[vetoed] = 1  # the rest as without the veto
        sv = np.isin(y_pred, [0, 1, 3])
        self.assertFalse((out == 3).any())
        np.testing.assert_array_equal(out[sv & premature & (data["af"] == 0)], 1)
        np.testing.assert_array_equal(out[sv & (data["af"] == 1)], 0)
        np.testing.assert_array_equal(out[~sv], y_pred[~sv])
        self.assertGreater(((out == 1) & (data["y"] == 1)).sum(), 0.5 * ((data["y"] == 1) & (data["af"] == 0)).sum())

    def test_no_decision_without_af_flags_or_a_long_rr_baseline(self):
        d = np.load(self.data)
        data = {k: d[k] for k in d.files if k != "af"}
        self.assertIsNone(recipe.decision_rule(recipe.Config(), {"spec": {"rr_features": synth.RR_FEATURES_V2}}, data))
        data["af"] = d["af"]
        self.assertIsNone(recipe.decision_rule(recipe.Config(), {"spec": {"rr_features": synth.RR_FEATURES}}, data))

    def test_onnx_computes_what_pytorch_computed(self):
        tv = self.card["test_vectors"]
        got = onnx_check.run_onnx(os.path.join(self.out, "beat-cnn.onnx"), np.array([t["beat"] for t in tv], np.float32),
                                  np.array([t["rr"] for t in tv], np.float32))
        np.testing.assert_allclose(got, np.array([t["probabilities"] for t in tv], np.float32), atol=1e-5)

    def test_a_dataset_whose_sidecar_disagrees_is_refused(self):
        d = np.load(self.data)
        path = os.path.join(self.tmp.name, "bad.npz")
        arrays = {k: d[k] for k in d.files}
        arrays["x"] = arrays["x"][:, :3]  # 3 channels, sidecar says 4
        synth.save_npz(path, arrays, synth.DS1 + synth.PACED)
        with open(os.path.splitext(path)[0] + ".json") as f:
            sidecar = json.load(f)
        sidecar["spec"]["channels"] = 4
        with open(os.path.splitext(path)[0] + ".json", "w") as f:
            json.dump(sidecar, f)
        with self.assertRaises(AssertionError):
            recipe.load_dataset(path)


class Augmentation(unittest.TestCase):
    def test_keeps_the_template_and_the_rr_ratios(self):
        rng = np.random.default_rng(0)
        tpl = torch.from_numpy(rng.standard_normal((4, 128)).astype(np.float32))
        x0 = tpl + 0.1
        x = torch.stack([x0, x0 - tpl], 1)
        rr = torch.rand(4, 6) + 0.5
        xa, rra = recipe.augment(x, rr, torch.Generator().manual_seed(1))
        self.assertEqual(xa.shape, x.shape)
        # ch0 - ch1 is the template times the shared amplitude-reference error, a scalar per beat
        ratio = (xa[:, 0] - xa[:, 1]) / tpl
        torch.testing.assert_close(ratio, ratio[:, :1].expand_as(ratio), rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(rra[:, 3:], rr[:, 3:])

    def test_keeps_every_reference_of_a_spec_2_window(self):
        rng = np.random.default_rng(1)
        refs = torch.from_numpy(rng.standard_normal((4, 3, 128)).astype(np.float32))
        x0 = refs[:, 0] + 0.1
        x = torch.cat([x0.unsqueeze(1), x0.unsqueeze(1) - refs], 1)
        rr = torch.rand(4, 9) + 0.5
        xa, rra = recipe.augment(x, rr, torch.Generator().manual_seed(1))
        self.assertEqual(xa.shape, (4, 4, 128))
        for k in range(1, 4):
            ratio = (xa[:, 0] - xa[:, k]) / refs[:, k - 1]
            torch.testing.assert_close(ratio, ratio[:, :1].expand_as(ratio), rtol=1e-3, atol=1e-3)
        # intervals in seconds (pre, post, local, long) scale together; the ratios do not move
        k = rra[:, [0, 1, 2, 6]] / rr[:, [0, 1, 2, 6]]
        torch.testing.assert_close(k, k[:, :1].expand_as(k))
        torch.testing.assert_close(rra[:, [3, 4, 5, 7, 8]], rr[:, [3, 4, 5, 7, 8]])

    def test_polarity_flip_inverts_whole_beats_and_leaves_the_rest_alone(self):
        rng = np.random.default_rng(2)
        x = torch.from_numpy(rng.standard_normal((400, 4, 128)).astype(np.float32))
        rr = torch.rand(400, 9) + 0.5
        plain, rr_plain = recipe.augment(x, rr, torch.Generator().manual_seed(3))
        # p = 1: every beat is the plain augmentation inverted, all four channels, with the same RR features
        flipped, rr_flipped = recipe.augment(x, rr, torch.Generator().manual_seed(3), polarity_flip=1.0)
        torch.testing.assert_close(flipped, -plain)
        torch.testing.assert_close(rr_flipped, rr_plain)
        # p = 0.5: about half the beats, each one whole
        half, _ = recipe.augment(x, rr, torch.Generator().manual_seed(3), polarity_flip=0.5)
        inverted = (half == -plain).flatten(1).all(1)
        kept = (half == plain).flatten(1).all(1)
        self.assertTrue(bool((inverted | kept).all()))
        self.assertTrue(150 < int(inverted.sum()) < 250, int(inverted.sum()))

    def test_no_polarity_flip_draws_nothing(self):
        # The models trained before polarity_flip existed must reproduce: p = 0 draws nothing, p > 0 draws one value per beat.
        x = torch.randn(8, 4, 128)
        rr = torch.rand(8, 9) + 0.5
        off, on = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
        recipe.augment(x, rr, off, polarity_flip=0.0)
        recipe.augment(x, rr, on, polarity_flip=1e-9)
        torch.rand(8, generator=off)  # what the flip draws
        self.assertEqual(torch.rand(1, generator=off).item(), torch.rand(1, generator=on).item())

    def test_stretch_widens_a_pulse_about_the_fiducial_and_keeps_it_there(self):
        # A triangle 10 samples wide each side of the fiducial: stretched by 1.5 it is 15 wide, with its peak in place.
        i = torch.arange(128, dtype=torch.float32)
        pulse = torch.clamp(1 - (i - recipe.FIDUCIAL).abs() / 10, min=0).expand(1, 2, 128)
        wide = recipe.stretch(pulse, torch.tensor([[[1.5]]]))
        expected = torch.clamp(1 - (i - recipe.FIDUCIAL).abs() / 15, min=0)
        torch.testing.assert_close(wide[0, 0], expected, rtol=0, atol=1e-6)
        torch.testing.assert_close(wide[0, 1], expected, rtol=0, atol=1e-6)
        # a factor of 1 is the identity; a ramp keeps its edge values outside the span it reads
        ramp = i.expand(1, 1, 128)
        torch.testing.assert_close(recipe.stretch(ramp, torch.tensor([[[1.0]]])), ramp)
        narrow = recipe.stretch(ramp, torch.tensor([[[0.5]]]))
        self.assertEqual(float(narrow[0, 0, 0]), 0.0)
        self.assertEqual(float(narrow[0, 0, 127]), 127.0)

    def test_time_scale_stretches_every_channel_by_one_factor_and_draws_nothing_when_off(self):
        x = torch.randn(6, 4, 128)
        rr = torch.rand(6, 9) + 0.5
        plain, rr_plain = recipe.augment(x, rr, torch.Generator().manual_seed(7))
        g = torch.Generator().manual_seed(7)
        scaled, rr_scaled = recipe.augment(x, rr, g, time_scale=[1.2, 1.2])
        torch.testing.assert_close(scaled, recipe.stretch(plain, torch.full((6, 1, 1), 1.2)))
        torch.testing.assert_close(rr_scaled, rr_plain)  # intervals are heart rate, not QRS width
        # None draws nothing, so the models trained before it reproduce
        off = torch.Generator().manual_seed(7)
        recipe.augment(x, rr, off)
        torch.empty(6, 1, 1).uniform_(1.2, 1.2, generator=off)  # what the time scale draws
        self.assertEqual(torch.rand(1, generator=off).item(), torch.rand(1, generator=g).item())

class InvertedLeadScoring(unittest.TestCase):
    def test_polarity_normalised_windows_score_an_inverted_lead_as_recorded(self):
        # Spec v3's extractor turns an inverted lead back, so the inverted-lead figures are the recorded ones; for other
        # specs every held-out window is read x -1.
        rng = np.random.default_rng(4)
        n = 120
        data = {"x": rng.standard_normal((n, 4, 128)).astype(np.float32), "rr": (rng.random((n, 9)) + 0.5).astype(np.float32),
                "y": rng.integers(0, 3, n), "record": np.array(["a"] * 60 + ["b"] * 60)}
        cfg = recipe.Config(quick=True, epochs=1, ensemble=1, verbose=False)
        folds = [["a"], ["b"]]
        _, _, _, probs, inverted = recipe.cross_validate(data, folds, cfg, 1, lambda *_: None, polarity_normalised=True)
        np.testing.assert_array_equal(inverted, probs)
        _, _, _, probs, inverted = recipe.cross_validate(data, folds, cfg, 1, lambda *_: None)
        self.assertGreater(float(np.abs(inverted - probs).max()), 1e-3)


class OnnxCheckerAgreesWithPyTorch(unittest.TestCase):
    def test_random_model(self):
        torch.manual_seed(0)
        model = recipe.BeatCnn()
        model.eval()
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "m.onnx")
            recipe.export_onnx(model, path)
            x = torch.randn(7, 2, 128)
            rr = torch.rand(7, 6) + 0.3
            with torch.no_grad():
                want = model(x, rr).numpy()
            got = onnx_check.run_onnx(path, x.numpy(), rr.numpy())
        np.testing.assert_allclose(got, want, atol=1e-5)


if __name__ == "__main__":
    unittest.main()
