"""The domain never imports Textual: proven in a clean interpreter."""

import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "octotui"
LOWER_LAYERS = ("domain", "storage", "services", "comms")
CORE_MODULES = sorted(f"octotui.{layer}.{path.stem}" for layer in LOWER_LAYERS
                      for path in (PACKAGE / layer).glob("*.py") if path.stem != "__init__") + ["octotui.cli"]


def test_every_lower_layer_module_is_checked():
    assert {"octotui.domain.inputs", "octotui.storage.base", "octotui.storage.fs", "octotui.storage.file_store",
            "octotui.services.workspace", "octotui.comms.exports"} <= set(CORE_MODULES)


def test_core_and_cli_import_without_textual():
    code = ("import sys\n" + "".join(f"import {module}\n" for module in CORE_MODULES)
            + "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
            + "print(','.join(bad))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "", f"core pulled in Textual: {result.stdout}"


def test_the_ui_does_import_textual():
    """The check above can fail: the UI package does bring Textual in."""
    code = "import sys, octotui.ui.app; print('textual' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "True"


def test_screens_not_shown_are_not_imported_at_start():
    """Start-up pays for the first screen only: the others are imported when first shown."""
    import subprocess
    import sys

    code = ("import sys; import octotui.ui.app; "
            "print(sorted(m for m in sys.modules if m.startswith('octotui.ui.screens.')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[]"


def test_forms_and_psycopg_load_only_when_needed():
    """The board opens without the forms (TextArea, Select) and a file database without the PostgreSQL driver."""
    import subprocess
    import sys

    code = ("import sys; import octotui.cli, octotui.ui.app, octotui.ui.screens.board; "
            "print(sorted(m for m in sys.modules if m in ('octotui.ui.forms', 'octotui.ui.flows', 'psycopg')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[]"
