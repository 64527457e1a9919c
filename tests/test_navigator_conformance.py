"""The debrief's ATT&CK Navigator layer as mitreattack-python (MITRE's own library for layers) reads it:
every shipped scenario's layer, ended, aborted and running, loads without a warning at the layer format
version it declares, keeps every technique and sub-technique as written (T1071.004 stays itself), and
lists each sub-technique's parent expanded so the Navigator shows the sub-technique.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
from test_debrief_formats import debrief as scored_debrief
from test_junit_conformance import SCENARIOS, WAYS, run

from bot.debrief.render import NAVIGATOR_VERSIONS, render_debrief


def read_by_mitre(layer: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """What mitreattack-python makes of the layer, and what it printed (its warnings go to stdout).
    Imported here: the library takes 0.4 s to import, and every test worker imports each test module."""
    from mitreattack.navlayers import Layer

    said = io.StringIO()
    with contextlib.redirect_stdout(said):
        loaded = Layer()
        loaded.from_dict(layer)
        back = loaded.to_dict()
    return back, said.getvalue()


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_every_shipped_scenarios_layer_reads_cleanly_in_mitreattack_python(path: Path) -> None:
    for way in WAYS:
        d = run(path, way)
        layer = json.loads(render_debrief(d, "navigator"))
        back, said = read_by_mitre(layer)
        assert back is not None and not said.strip(), f"{path.stem} ({way}): {said}"
        assert back["versions"]["layer"] == NAVIGATOR_VERSIONS["layer"]
        ids = [t["techniqueID"] for t in back.get("techniques", [])]
        simulated = [t.id for t in d.coverage.techniques]
        assert ids[: len(simulated)] == simulated  # each as written: no sub-technique folded into a parent
        parents = {s.split(".")[0] for s in simulated if "." in s}
        expanded = {t["techniqueID"] for t in back.get("techniques", []) if t.get("showSubtechniques")}
        assert expanded == parents


def test_a_scored_layer_reads_cleanly_and_one_mitreattack_python_refuses_is_told_apart() -> None:
    """Alerts detected the drill's techniques: the scored layer reads cleanly; the check can fail too,
    on a score that is not a number and on an unknown layer version."""
    layer = json.loads(render_debrief(scored_debrief(), "navigator"))
    back, said = read_by_mitre(layer)
    assert back is not None and not said.strip(), said
    assert [(t["techniqueID"], t.get("score")) for t in back["techniques"]] == [
        ("T1078", 100),
        ("T1071.004", 100),
        ("T1071", None),
    ]
    scored = [t for t in layer["techniques"] if "score" in t]
    broken = {**layer, "techniques": [{**scored[0], "score": "high"}]}
    assert read_by_mitre(broken)[0] is None
    _, said = read_by_mitre({**layer, "versions": {**layer["versions"], "layer": "9.9"}})
    assert "9.9" in said
