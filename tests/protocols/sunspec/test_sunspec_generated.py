"""The generated model definitions match the SunSpec JSON that pysunspec2 ships."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from bidicharge.protocols.sunspec import MODELS, ModelImage

sunspec2_device = pytest.importorskip("sunspec2.device", reason="pysunspec2: requirements/test-sunspec.txt")
ROOT = Path(__file__).resolve().parents[3]


def test_generated_module_is_up_to_date() -> None:
    spec = importlib.util.spec_from_file_location("gen_sunspec", ROOT / "tools/gen_sunspec.py")
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    assert (ROOT / "src/bidicharge/protocols/sunspec/_generated/models.py").read_text() == gen.render()


@pytest.mark.parametrize("model_id", sorted(MODELS))
def test_point_offsets_and_length_match_pysunspec2(model_id: int) -> None:
    definition = sunspec2_device.get_model_def(model_id)
    image = ModelImage(MODELS[model_id])
    offsets = {}
    offset = 0
    for point in definition["group"]["points"]:
        offsets[point["name"]] = offset
        offset += point["size"]
    ours = {slot.path: slot.offset for slot in image.layout.slots if "." not in slot.path}
    assert ours == offsets
    counted = any(g.get("count") not in (None, 1) for g in definition["group"].get("groups", []))
    if not counted:  # with repeating groups the length depends on the counts: see the interop scans
        assert image.layout.length + 2 == sunspec2_device.Model(model_id).len
