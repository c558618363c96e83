"""Every LP solves whatever thread count an earlier LP of the process used (HiGHS's global
scheduler keeps the first count; `new_highs` resets it when a different one is asked for)."""

from __future__ import annotations

import highspy
import numpy as np
import pytest

from bidicharge.control.highs_solver import new_highs


def solve_tiny(threads: int) -> float:
    """min x0 + 2·x1 subject to x0 + x1 >= 1, 0 <= x <= 10: optimum 1 at x0 = 1."""
    h = new_highs(threads=threads)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = 2, 1
    lp.col_cost_ = np.array([1.0, 2.0])
    lp.col_lower_, lp.col_upper_ = np.zeros(2), np.full(2, 10.0)
    lp.row_lower_, lp.row_upper_ = np.array([1.0]), np.array([highspy.kHighsInf])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.array([0, 1, 2], dtype=np.int32)
    lp.a_matrix_.index_ = np.array([0, 0], dtype=np.int32)
    lp.a_matrix_.value_ = np.array([1.0, 1.0])
    h.passModel(lp)
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal, h.modelStatusToString(h.getModelStatus())
    return float(h.getInfo().objective_function_value)


def test_alternating_thread_counts_all_solve() -> None:
    for threads in (2, 1, 2, 1):
        assert solve_tiny(threads) == pytest.approx(1.0)


def test_a_thread_count_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="threads must be >= 1"):
        new_highs(threads=0)
