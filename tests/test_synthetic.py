"""nnlearn.datasets.synthetic: the playground's data sets (seeded, shaped, labelled by
their rules) and the small data sets of the worked examples (a line, study hours, grades,
a sine, logic gates)."""

import numpy as np
import pytest

from nnlearn import datasets


CLASSIFICATION = [datasets.make_circle, datasets.make_xor, datasets.make_gaussian,
                  datasets.make_spiral]


REGRESSION = [datasets.make_plane, datasets.make_gaussian_regression]


@pytest.mark.parametrize("make", CLASSIFICATION + REGRESSION, ids=lambda f: f.__name__)
def test_playground_sets_are_seeded_and_shaped(make):
    X, y = make(n_samples=300, noise=0.2, random_state=3)
    X2, y2 = make(n_samples=300, noise=0.2, random_state=3)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    assert X.shape == (300, 2) and y.shape == (300,)
    assert np.abs(X).max() <= 6 + 5 * 0.2 + 1e-9 or make is datasets.make_gaussian
    if make in CLASSIFICATION:
        assert set(np.unique(y)) == {0, 1}
        assert abs(np.mean(y) - 0.5) < 0.15
    else:
        assert np.all(np.abs(y) <= 1.2 * (1 + 0.2))  # (x1 + x2) / 10, noise moves x
    with pytest.raises(ValueError, match="n_samples"):
        make(n_samples=0)
    with pytest.raises(ValueError, match="noise"):
        make(noise=-0.1)


def test_noise_free_playground_labels_follow_their_rules():
    X, y = datasets.make_circle(500, random_state=0)
    np.testing.assert_array_equal(y, (np.hypot(X[:, 0], X[:, 1]) < 2.5).astype(int))
    X, y = datasets.make_xor(500, random_state=0)
    np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] >= 0).astype(int))
    X, y = datasets.make_plane(50, random_state=0)
    np.testing.assert_allclose(y, X.sum(axis=1) / 10)


def test_course_data_sets():
    X, y = datasets.make_line(100, random_state=0)
    slope, intercept = np.polyfit(X[:, 0], y, 1)
    assert abs(slope - 0.5) < 0.05 and abs(intercept - 0.5) < 0.2
    X, y = datasets.make_study_hours(100, random_state=0)
    assert X[y == 0].max() <= 35 and X[y == 1].min() >= 30
    X, y = datasets.make_grades(1000, noise=0, random_state=0)
    score = X[:, 0] + 2 * X[:, 1]
    assert np.all(y[score > 90] == 3) and np.all(y[score <= 50] == 0)
    X, y = datasets.make_sin(50, noise=0, random_state=0)
    np.testing.assert_allclose(y, np.sin(np.pi * X[:, 0]))
    X, y = datasets.make_logic_gate("xor")
    np.testing.assert_array_equal(y, [0, 1, 1, 0])


@pytest.mark.parametrize("make", [datasets.make_circle, datasets.make_gaussian,
                                  datasets.make_spiral, datasets.make_study_hours],
                         ids=lambda f: f.__name__)
def test_class_by_class_generators_shuffle_by_default(make):
    """validation_split holds out the last samples: with shuffle=True (the default, as in
    scikit-learn) that tail has both classes; shuffle=False keeps the class-sorted order
    and the same points."""
    X, y = make(n_samples=200, random_state=0)
    tail = y[-40:]                                       # validation_split=0.2
    assert set(np.unique(tail)) == {0, 1}
    Xs, ys = make(n_samples=200, random_state=0, shuffle=False)
    assert np.all(np.diff(ys) <= 0) or np.all(np.diff(ys) >= 0)   # one class, then the other
    assert sorted(map(tuple, np.column_stack([X, y]))) == \
        sorted(map(tuple, np.column_stack([Xs, ys])))
