"""benchmarks.probes: the demo's probe share and, over its 5% target, the reason printed beside
it. Nothing is timed here: the timed parts are stand-ins."""

from __future__ import annotations

import pytest

from benchmarks import probes, throughput


@pytest.mark.parametrize(("call_s", "over"), [(0.2, True), (0.05, False)])
def test_a_share_over_the_target_comes_with_its_reason(
    monkeypatch: pytest.MonkeyPatch, call_s: float, over: bool
) -> None:
    monkeypatch.setattr(probes, "probe_call", lambda env_id: {"call_s": call_s,
                                                              "first_call_s": call_s})  # fmt: skip
    monkeypatch.setattr(probes, "workloads", lambda: {})
    monkeypatch.setattr(throughput, "wsdiag_steps_per_s", lambda *args: 200.0)
    out = probes.run(threads=(1,))
    interval = probes.DEMO_EVERY / 200.0  # 2.5 s of training between calls
    assert out["demo_probe_share_1t"] == pytest.approx(call_s / (interval + call_s))
    assert ("demo_probe_share_1t_over_target" in out) is over
    if over:
        assert out["demo_probe_share_1t_over_target"].startswith("over 5%: over half of a call")
