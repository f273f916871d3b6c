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
