"""Partitioned profiles: eight parts profiled apart and merged equal the profile of the whole."""

from __future__ import annotations

import itertools

import polars as pl
import pytest

from aims.core.profile import NumericProfile, dumps, loads, merge
from aims.core.profile.partitioned import finish, profile_part, profile_parts, template
from aims.errors import InvalidInput
from tests.engines.equality import assert_same_profile, partitions


@pytest.fixture(scope="module")
def parts() -> list[pl.DataFrame]:
    return partitions()


def test_eight_parts_merged_equal_the_whole(parts: list[pl.DataFrame]) -> None:
    whole = pl.concat(parts)
    plan = template(parts[0])
    merged = finish(merge(*(profile_part(plan, p) for p in parts)))
    expected = finish(profile_part(plan, whole))
    assert_same_profile(merged, expected)
    x = merged["x"]
    assert isinstance(x, NumericProfile)
    assert x.nans > 0 and x.pos_inf > 0 and x.neg_inf > 0
    assert x.below and x.above  # the far values went to tail buckets
    assert merged["colour"].frequencies()["violet"] == 3  # seen in one partition only
    assert merged["y"].nulls == sum(p.get_column("y").null_count() for p in parts)


def test_merge_order_does_not_change_counts(parts: list[pl.DataFrame]) -> None:
    plan = template(parts[2])
    profiles = [profile_part(plan, p) for p in parts]
    forward = finish(merge(*profiles))
    for order in itertools.islice(itertools.permutations(range(8)), 0, 40_000, 9_973):
        assert_same_profile(finish(merge(*(profiles[i] for i in order))), forward)
    # a tree of merges, as a cluster reduces
    pairs = [profiles[i].merge(profiles[i + 1]) for i in range(0, 8, 2)]
    tree = finish(pairs[0].merge(pairs[1]).merge(pairs[2].merge(pairs[3])))
    assert_same_profile(tree, forward)


def test_same_parts_in_same_order_are_bit_for_bit(parts: list[pl.DataFrame]) -> None:
    plan = loads(dumps(template(parts[0])))  # the plan as a worker receives it
    one = profile_parts(plan, parts)
    two = merge(*(loads(dumps(profile_part(plan, p))) for p in parts))
    assert dumps(one) == dumps(two)


def test_empty_parts_and_missing_columns_merge_as_nothing(parts: list[pl.DataFrame]) -> None:
    plan = template(parts[0])
    base = profile_part(plan, parts[0])
    empty = profile_part(plan, parts[0].head(0))
    narrow = profile_part(plan, parts[0].head(0).select("x"))
    assert empty.rows == 0 and narrow.rows == 0
    assert_same_profile(base.merge(empty).merge(narrow), base, exact=True)
    assert profile_parts(plan, []).rows == 0


def test_the_template_counts_nothing_and_needs_rows(parts: list[pl.DataFrame]) -> None:
    plan = template(parts[0])
    assert plan.rows == 0 and all(c.rows == 0 for c in plan.columns.values())
    with pytest.raises(InvalidInput, match="sample that fixes the layouts is empty"):
        template(parts[1])


def test_parts_on_different_plans_do_not_merge(parts: list[pl.DataFrame]) -> None:
    a = profile_part(template(parts[0]), parts[2])
    b = profile_part(template(parts[3]), parts[2])
    with pytest.raises(InvalidInput, match="different bin layouts"):
        a.merge(b)


def test_finish_closes_categories_to_the_most_frequent(parts: list[pl.DataFrame]) -> None:
    plan = template(parts[0])
    merged = finish(merge(*(profile_part(plan, p) for p in parts)))
    colour = merged["colour"]
    assert set(colour.layout.categories) == {"red", "green", "blue", "violet"}
    assert colour.extra == {} and colour.layout.max_extra == 50


def test_no_parts_on_a_reference_count_nothing(parts: list[pl.DataFrame]) -> None:
    reference = finish(profile_part(template(parts[0]), parts[0]))
    nothing = profile_parts(reference, [])
    assert nothing.rows == 0 and all(c.rows == 0 for c in nothing.columns.values())
    assert nothing["x"].layout == reference["x"].layout
