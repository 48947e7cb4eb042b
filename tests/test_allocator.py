"""wsdiag.allocator: the opt-in heap padding is applied on glibc, a no-op elsewhere, and checked."""

from __future__ import annotations

import subprocess
import sys

import pytest

from wsdiag import allocator


@pytest.mark.parametrize("nbytes", [-1, 1 << 31])
def test_a_padding_outside_a_c_int_is_refused(nbytes: int) -> None:
    with pytest.raises(ValueError, match="between 0 and"):
        allocator.pad_heap(nbytes)


def test_elsewhere_than_glibc_nothing_is_applied(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(allocator.sys, "platform", "darwin")
    assert allocator.pad_heap() is False


@pytest.mark.skipif(allocator._glibc() is None, reason="the C library is not glibc")
def test_on_glibc_the_padding_is_applied_in_the_calling_process_only() -> None:
    """Run in a child, so that the test process keeps glibc's defaults."""
    code = "from wsdiag.allocator import pad_heap; print(pad_heap(1 << 20), pad_heap(0))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True"]


def test_a_run_s_process_pads_its_heap_unless_the_environment_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int] = []
    monkeypatch.delenv("MALLOC_TOP_PAD_", raising=False)

    def pad_heap(nbytes: int = allocator.TOP_PAD) -> bool:
        calls.append(nbytes)
        return True

    monkeypatch.setattr(allocator, "pad_heap", pad_heap)
    assert allocator.pad_heap_unless_set() is True and calls == [allocator.TOP_PAD]
    monkeypatch.setenv("MALLOC_TOP_PAD_", "0")  # the user's own setting wins
    assert allocator.pad_heap_unless_set() is False and len(calls) == 1
