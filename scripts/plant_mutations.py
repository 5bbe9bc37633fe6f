"""Plant one bug at a time, run the test meant to catch it, restore the file; one line per mutation.

    python scripts/plant_mutations.py            # every mutation (a few minutes)
    python scripts/plant_mutations.py resume     # those whose name contains "resume"

Each row names a bug a weak test once let through (house review, #19) and the test that must now fail.
CAUGHT: the test failed with the bug planted; MISSED: it passed (the test does not bite). Files are
restored even when interrupted; run it on a clean checkout.
"""
import subprocess, sys
from pathlib import Path
ROOT = Path(__file__).resolve().parents[1]
MUTATIONS = [
 ("progress over halves drops the first half's chunks", "spotting/infer.py", "progress(offset + done, grand)", "progress(done, grand)",
  "tests/test_infer.py::test_score_game_reports_progress_over_both_halves_and_equals_infer_game"),
 ("split inference never draws its bar", "spotting/infer.py", "disable=None if show_progress and rank.is_main else True", "disable=True",
  "tests/test_infer.py::test_split_inference_shows_a_progress_bar_per_game"),
 ("resume forgets Adam's moments", "spotting/train.py", "        optimizer.load_state_dict(info[\"optimizer\"])\n", "",
  "tests/test_train.py::test_resume_continues_from_last_epoch_exactly"),
 ("renderer draws any unknown class as a Yellow->red card", "spotting/synth/scenes.py",
  '    elif cls == "Yellow->red card":  # second yellow, then red, one in each hand, on the pitch\n        crowd(img, 0, 60, rng, dark=0.7)\n        grass(img, 60, 90, slant=0.5)\n        _referee_close_up(img, 199)\n        player(img, 60, 224, 150, kit)\n    else:  # a class without a scene would silently look like another one: the features would lie\n        raise ValueError(f"no synthetic scene for class {cls!r}")',
  '    else:  # Yellow->red card\n        crowd(img, 0, 60, rng, dark=0.7)\n        grass(img, 60, 90, slant=0.5)\n        _referee_close_up(img, 199)\n        player(img, 60, 224, 150, kit)',
  "tests/test_synth.py::test_every_class_has_its_own_scene_and_an_unknown_class_has_none"),
 ("suppression kind: the worst one wins", "spotting/calibration.py", "if chosen.sum() > best_total + 1e-12:", "if best is None or chosen.sum() < best_total:",
  "tests/test_calibration.py::test_suppression_kind_is_the_one_whose_classes_score_highest"),
 ("per-class NMS windows: the task's default kept for every class", "spotting/calibration.py", "overrides = {c: windows[i] for c, i in enumerate(choice) if windows[i] != base}", "overrides = {}",
  "tests/test_calibration.py::test_suppression_calibration_finds_each_class_window"),
 ("checkpoint settings not saved whole", "spotting/calibration.py", '    info["postprocessing"] = settings.to_dict()\n', "",
  "tests/test_calibration.py::test_calibrate_keeps_or_beats_the_defaults_and_stores_one_settings_object"),
 ("game page ignores the model's own windows", "spotting/ui/scoring.py", "    if nms_window_s is not None:\n        settings = replace(settings, nms_window_s=nms_window_s, class_nms_windows_s=())",
  "    settings = replace(settings, nms_window_s=nms_window_s or 20.0, class_nms_windows_s=())",
  "tests/test_app.py::test_the_model_s_own_nms_windows_are_the_default_and_a_number_overrides_them"),
 ("score_game lets NaN outputs through", "spotting/infer.py", "        if not (np.isfinite(half_scores.segmentation).all() and np.isfinite(half_scores.detection).all()):",
  "        if False:", "tests/test_security.py"),
 ("an import cycle (stitching imports infer)", "spotting/stitching.py", "import numpy as np\n", "import numpy as np\n\nimport spotting.infer  # noqa\n",
  "tests/test_architecture.py::test_no_import_cycles"),
 ("the library imports the app", "spotting/metrics.py", "import numpy as np\n", "import numpy as np\n\nimport spotting.ui.state  # noqa\n",
  "tests/test_architecture.py::test_the_library_never_imports_the_app"),
]
only = sys.argv[1:]
for name, file, old, new, test in MUTATIONS:
    if only and not any(o in name for o in only):
        continue
    path = ROOT / file
    text = path.read_text()
    if old not in text:
        print(f"NOT APPLIED  {name}: pattern missing in {file}", flush=True); continue
    path.write_text(text.replace(old, new, 1))
    try:
        r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", test], cwd=ROOT,
                           capture_output=True, text=True, timeout=1200)
        tail = [l for l in r.stdout.splitlines() if "passed" in l or "failed" in l][-1:] 
        verdict = "CAUGHT" if r.returncode != 0 else "MISSED"
        print(f"{verdict:7} {name} — {test} ({tail[0] if tail else r.returncode})", flush=True)
    finally:
        path.write_text(text)
