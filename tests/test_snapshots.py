"""Snapshot tests of every screen and the main modals, from the fixed scenes (tests/scenes.py).

Update after an intended UI change with `pytest tests/test_snapshots.py --snapshot-update`, then look at
the report, and regenerate screenshots/ with `python tests/screenshots.py`.
"""

import pytest
from scenes import SCENES, build_app, scene_runner


@pytest.mark.parametrize("scene", SCENES, ids=[scene.name for scene in SCENES])
def test_scene(scene, snap_compare, tmp_path):
    assert snap_compare(build_app(tmp_path), terminal_size=scene.size, run_before=scene_runner(scene))
