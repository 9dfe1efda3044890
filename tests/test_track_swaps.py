"""Size jumps: a track's box that suddenly changes size is taken for another object."""

from __future__ import annotations

import pytest

from pipeline.stages.track_swaps import SizeJumps


def test_a_jump_either_way_is_found_and_the_new_size_becomes_the_usual_one():
    swaps = SizeJumps(ratio=1.8)
    found = [swaps.update([1], [h]) for h in (300.0, 310.0, 290.0, 120.0, 125.0, 118.0, 400.0)]
    # 120 is 2.5 times smaller than the usual 300; then 125 and 118 are the new usual.
    assert found == [set(), set(), set(), {1}, set(), set(), {1}]


def test_one_odd_box_among_several_tracks_concerns_only_its_own():
    swaps = SizeJumps(ratio=1.8)
    for _ in range(3):
        assert swaps.update([1, 2], [100.0, 50.0]) == set()
    assert swaps.update([1, 2], [100.0, 95.0]) == {2}


def test_steady_growth_is_no_jump():
    swaps = SizeJumps(ratio=1.8)
    assert not any(swaps.update([5], [50.0 * 1.1**k]) for k in range(30))


def test_a_ratio_of_one_or_less_is_refused():
    with pytest.raises(ValueError, match="greater than 1"):
        SizeJumps(ratio=1.0)
