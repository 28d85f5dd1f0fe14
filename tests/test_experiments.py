"""nnlearn.experiments: every experiment runs headless on reduced sizes, saves its
figures and strict JSON, and its numbers show the effect it demonstrates."""

import json

import matplotlib
import numpy as np
import pytest

from nnlearn import experiments

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Run each experiment once (quick) and save it; shared by the tests below."""
    out = tmp_path_factory.mktemp("experiments")
    cache = {}

    def get(name):
        if name not in cache:
            result = experiments.run(name, seed=0, quick=True)
            cache[name] = (result, result.save(out / name))
        return cache[name][0]
    return get


def test_every_experiment_saves_its_figures_and_strict_json(results, tmp_path):
    for name in experiments.EXPERIMENTS:
        result = results(name)
        assert result.figures, name
        written = result.save(tmp_path / name)
        assert {p.name for p in written} == {"numbers.json",
                                             *(f"{f}.png" for f in result.figures)}
        for path in written:
            if path.suffix == ".png":
                assert path.stat().st_size > 5000, path
                assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        json.loads((tmp_path / name / "numbers.json").read_text())  # strict JSON
        assert result.summary().startswith(f"{name}:")


def test_numbers_are_deterministic_given_a_seed():
    a = experiments.run("perceptron", seed=3, quick=True, plots=False)
    b = experiments.run("perceptron", seed=3, quick=True, plots=False)
    assert a.numbers == b.numbers and not a.figures


def test_unknown_experiment_suggests_close_names():
    with pytest.raises(ValueError, match="Did you mean 'linear-regression'"):
        experiments.get("linear-regresion")


def test_initialization_figures_share_their_axes(results):
    figures = results("initialization").figures
    assert "comparison" in figures
    std_limits = {figures[name].axes[1].get_ylim() for name in figures if name != "comparison"}
    assert len(std_limits) == 1                  # the same std scale for every scheme


def test_initialization_tables_follow_glorot_and_he(results):
    n = results("initialization").numbers
    small, big = n["0.01 tanh"]["std"], n["1.0 tanh"]["std"]
    assert len(small) == 10 and small[-1] < 1e-3 and small == sorted(small, reverse=True)
    assert min(big) > 0.9                                 # saturated at -1/+1
    assert all(0.2 <= s <= 0.7 for s in n["xavier tanh"]["std"])
    assert n["xavier relu"]["std"][-1] < 0.1               # "fails for ReLU"
    assert all(0.7 <= s <= 1.1 for s in n["he relu"]["std"])  # He: near 0.8
    assert abs(n["input"]["std"] - 1.0) < 0.05


def test_linear_models_match_the_course_examples(results):
    line = results("linear-regression").numbers
    assert line["cost_monotone"] and abs(line["a"] - 0.5) < 0.05
    assert line["snapshots"]["0"] == {"a": -0.5, "b": 1.0}
    logistic = results("logistic-regression").numbers
    assert logistic["accuracy"] > 0.85 and 25 < logistic["hours_at_p_half"] < 40
    assert logistic["p_at_20h"] < 0.5 < logistic["p_at_45h"]
    assert results("softmax-regression").numbers["test_accuracy"] > 0.75
    poly = results("polynomial-regularization").numbers
    assert poly["none"]["max_abs_coef"] > 1e3            # seed: up to 4e4
    assert poly["L2 (Ridge 0.1)"]["max_abs_coef"] < 5     # seed: 2.3
    assert poly["L1 (Lasso 0.001)"]["zero_coefs"] >= 10   # seed: 14 of 19 are 0
    assert poly["none"]["zero_coefs"] == 0


def test_neurons_match_the_classic_results(results):
    mcp = results("mcp-gates").numbers
    assert mcp["truth_tables"]["XOR"] == [0, 1, 1, 0]
    assert mcp["blueberry_bird"] == {"blueberry": 1, "golf ball": 0, "violet": 0,
                                     "hot dog": 0}
    hebb = results("hebb-and").numbers
    assert [r["weights"] for r in hebb["history"]] == [[1, 1, 1], [0, 2, 0], [1, 1, -1],
                                                       [2, 2, -2]]
    perceptron = results("perceptron").numbers
    assert perceptron["AND"]["converged"] and perceptron["OR"]["converged"]
    assert not perceptron["XOR"]["converged"] and perceptron["XOR"]["accuracy"] < 1
    assert perceptron["AND"]["updates_per_epoch"][-1] == 0            # a clean last epoch
    assert min(perceptron["XOR"]["updates_per_epoch"]) > 0            # XOR: never clean
    assert sum(perceptron["OR"]["updates_per_epoch"]) == perceptron["OR"]["updates"]
    gates = results("logic-gates").numbers
    np.testing.assert_allclose(gates["neuron_XOR"], 0.5, atol=1e-3)
    assert np.round(gates["neuron_AND"]).tolist() == [0, 0, 0, 1]
    assert np.round(gates["network_XOR"]).tolist() == [0, 1, 1, 0]
    sin = results("sin-regression").numbers
    assert sin["train_mse"] < 0.1 and sin["rmse_vs_truth"] < 0.2


def test_training_experiments_show_their_effects(results):
    opt = results("optimizers").numbers
    start = 0.5 * (16 + 50)
    assert all(v["final_loss"] < 0.01 * start for v in opt["bowl"].values())
    net = opt["network"]
    assert net["momentum"]["final_loss"] < net["SGD"]["final_loss"]
    assert net["Adam"]["final_loss"] < net["SGD"]["final_loss"]
    reg = results("dropout-early-stopping").numbers
    assert reg["none"]["final_val_loss"] > reg["none"]["best_val_loss"]  # it overfits
    assert reg["none"]["train_loss"] < reg["none"]["final_val_loss"]
    assert reg["early stopping"]["epochs_run"] < reg["none"]["epochs_run"]
    assert reg["early stopping"]["final_val_loss"] == pytest.approx(
        reg["early stopping"]["best_val_loss"], rel=1e-4)      # best weights restored
    search = results("learning-rate-search").numbers
    low = search["probes"]["too low (1e-6)"]["losses"]
    assert abs(low[-1] - low[0]) < 0.01 * low[0]               # "loss not going down"
    assert "diverged" in search["probes"]["too high (30)"]["stop_reason"]
    assert search["best_val_accuracy"] > 0.5 and search["diverged_trials"] >= 1
    low, high = search["fine_space"]["learning_rate"]          # the fine stage zooms in
    assert high / low < 1e-2 * (10.0 / 1e-4)
    coarse = sorted((r for r in search["trials"] if r["stage"] == "coarse"
                     and r["status"] == "ok"), key=lambda r: -r["score"])
    assert low <= coarse[0]["learning_rate"] <= high            # around the best coarse trial
    assert results("overfit-small").numbers["passed"]


def test_the_optimizer_bowl_and_network_show_what_the_notice_says(results):
    """Each claim of the optimizers experiment's "what to notice", on its quick run."""
    from nnlearn.experiments.training import BOWL_OPTIMIZERS, optimizer_path

    paths = {name: optimizer_path(make(), steps=100) for name, make in BOWL_OPTIMIZERS.items()}
    y = paths["SGD"][:, 1]
    assert (np.diff(np.sign(y[:21])) != 0).sum() == 20              # across at every step
    assert abs(paths["SGD"][-1, 0]) > 0.1                            # still creeping along x
    assert np.abs(paths["momentum"][10:31, 1]).max() > 0.3           # still swinging
    assert np.abs(paths["Nesterov"][10:, 1]).max() < 0.05            # damped within ten
    for name in ("Adagrad", "RMSprop", "Adam"):
        step = np.abs(paths[name][1] - paths[name][0])
        assert step[1] == pytest.approx(step[0], rel=0.01), name     # same move in x and y
    step = np.abs(paths["SGD"][1] - paths["SGD"][0])
    assert step[1] > 10 * step[0]
    net = results("optimizers").numbers["network"]
    assert net["SGD"]["final_loss"] > 0.8 * net["SGD"]["first_loss"]   # barely moved
    for name in ("momentum", "Adam"):
        assert net[name]["final_loss"] < 0.15 * net[name]["first_loss"]   # done


def test_mnist_experiments_on_a_subset(results):
    assert results("mnist-softmax").numbers["test_accuracy"] > 0.8
    assert results("mnist-mlp").numbers["test_accuracy"] > 0.75


def test_the_other_notices_on_the_quick_runs(results):
    """Claims of the notices not checked elsewhere."""
    history = results("hebb-and").numbers["history"]
    X = np.array([[1, 1], [1, -1], [-1, 1], [-1, -1]])
    t = np.array([1, -1, -1, -1])
    right = [bool(np.all(np.sign(X @ np.array(r["weights"][:2]) + r["weights"][2]) == t))
             for r in history]
    assert right == [False, False, True, True]                # right after the third pair
    assert history[3]["weights"] == [2 * w for w in history[2]["weights"]]  # still changes
    sin = results("sin-regression").numbers                   # MSE near the noise variance
    assert abs(sin["train_mse"] - sin["noise_std"] ** 2) < 0.2 * sin["noise_std"] ** 2
    grades = results("softmax-regression").numbers            # a linear model barely overfits
    assert abs(grades["train_accuracy"] - grades["test_accuracy"]) < 0.05
    small = results("overfit-small").numbers
    assert small["passed"] and small["train_accuracy"] == 1.0 and small["final_loss"] < 0.05


def test_regularization_figure_and_notice(results):
    """dropout-early-stopping: the figure draws training and validation loss; without
    regularization the validation loss turns up while the training loss keeps falling;
    dropout and L2 make the rise smaller; early stopping stops at the best epoch."""
    result = results("dropout-early-stopping")
    n = result.numbers
    train, val = n["none"]["loss_history"], n["none"]["val_loss_history"]
    assert n["none"]["final_val_loss"] > 1.3 * n["none"]["best_val_loss"]
    assert np.mean(train[-10:]) < np.mean(train[10:20])
    rise = {k: v["final_val_loss"] - v["best_val_loss"] for k, v in n.items()}
    assert rise["dropout 0.5"] < rise["none"] and rise["L2 1e-3"] < rise["none"]
    assert n["early stopping"]["epochs_run"] < n["none"]["epochs_run"]
    training_panel, validation_panel = result.figures["losses"].axes
    assert "training" in training_panel.get_title()
    assert "validation" in validation_panel.get_title()
    np.testing.assert_allclose(training_panel.lines[0].get_ydata(), train)
    np.testing.assert_allclose(validation_panel.lines[0].get_ydata(), val)


def test_mcp_gates_figure_draws_every_gate_it_names_with_a_legend(results):
    fig = results("mcp-gates").figures["gates"]
    titles = " ".join(ax.get_title() for ax in fig.axes)
    for gate in ("AND", "OR", "NAND", "NOT", "XOR"):
        assert f"{gate}:" in titles or f"{gate} =" in titles, gate
    assert any(ax.get_legend() is not None for ax in fig.axes)


def test_lesson_10_quick_runs_show_what_their_notices_say(results):
    """On the same 3,000 images and 3 epochs: softmax < MLP < CNN on the test set, the CNN
    with a seventh of the MLP's weights; the digit-0 template has a negative centre; the
    MLP's hidden weights move little; augmentation keeps training accuracy low."""
    softmax = results("mnist-softmax")
    mlp, cnn = results("mnist-mlp").numbers, results("mnist-cnn").numbers
    assert softmax.numbers["epochs"] == mlp["epochs"] == cnn["epochs"]
    assert cnn["train_images"] == 3000 and cnn["test_images"] == 2000
    assert softmax.numbers["test_accuracy"] < mlp["test_accuracy"] < cnn["test_accuracy"]
    assert cnn["parameters"] * 6 < mlp["parameters"] < cnn["parameters"] * 7
    zero = softmax.figures["weights"].axes[0].images[0].get_array()
    assert zero[11:17, 11:17].mean() < 0 < zero[4:24, 4:24].max()     # the blue hole
    assert mlp["hidden_weights_relative_change"] < 0.5
    plain, augmented = cnn["history"], cnn["history_augmented"]
    assert all(a < v for a, v in zip(augmented["accuracy"], augmented["val_accuracy"]))
    assert all(a < p for a, p in zip(augmented["accuracy"], plain["accuracy"]))


def test_vanishing_gradients_lstm_bridges_delay_50_and_simple_rnn_does_not(results):
    """The issue's claim, on the quick run (the same training as the full one at delay
    50): LSTM below 0.01 MSE, SimpleRNN near the 0.167 of always answering 1; the
    trained SimpleRNN's answer no longer depends on the first steps; clipping keeps the
    exploding run finite."""
    numbers = results("vanishing-gradients").numbers
    mse = numbers["adding_problem_test_mse"]
    assert numbers["delays"] == [10, 25, 50]                   # the figure has a trend
    assert mse["SimpleRNN"]["10"] < 0.01                       # short delays: fine
    assert mse["SimpleRNN"]["25"] > 0.1 and mse["SimpleRNN"]["50"] > 0.1
    for kind in ("LSTM", "GRU"):
        assert all(mse[kind][str(d)] < 0.01 for d in (10, 25, 50)), kind
    at_init = numbers["gradient_norm_50_steps_back"]          # the gates are no head start
    assert at_init["SimpleRNN"] > at_init["LSTM"] > at_init["GRU"]
    ratio = numbers["trained_gradient_first_over_last_step"]
    assert ratio["SimpleRNN"] < 1e-3 < 0.1 < ratio["LSTM"]
    clipped, unclipped = (numbers["clipping"][k] for k in ("clipped to norm 1.0",
                                                            "no clipping"))
    assert unclipped["max_gradient_norm"] > 1e4
    assert not np.isfinite(unclipped["final_loss"])  # the weights blew up
    assert clipped["steps"] == 150 and clipped["final_loss"] < 0.3


def test_rnn_sine_beats_repeating_the_last_value(results):
    numbers = results("rnn-sine").numbers
    assert numbers["test_mse"] < 0.25 * numbers["last_value_mse"]
    assert numbers["free_running_std_second_half"] > 0.5       # still oscillating
    assert numbers["free_running_mse"] > 10 * numbers["one_step_mse_long_wave"]  # drifted
