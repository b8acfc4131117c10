"""Regenerate screenshots/*.svg: `python tests/screenshots.py [SCENE ...]` (same scenes as the snapshot tests)."""

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from scenes import SCENES, save_scene  # noqa: E402

TARGET = Path(__file__).resolve().parent.parent / "screenshots"


async def main() -> None:
    TARGET.mkdir(exist_ok=True)
    chosen = set(sys.argv[1:])  # scene names: only those (default: all)
    for scene in SCENES:
        if chosen and scene.name not in chosen:
            continue
        path = TARGET / f"{scene.name}.svg"
        await save_scene(scene, path)
        print(f"wrote {path.relative_to(TARGET.parent)} ({scene.size[0]}x{scene.size[1]})")


if __name__ == "__main__":
    asyncio.run(main())
