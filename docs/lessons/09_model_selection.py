# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 9 - Model selection
#
# Training sets the *parameters* of a network, its weights, by minimizing the loss on
# the training data. Everything else is a *hyperparameter*: the learning rate, the
# strength of a penalty, the number of units, the number of epochs. The training loss
# cannot choose them, because it always prefers the most flexible model and the
# longest training (lesson 8). They are chosen on data the model was not trained on,
# and this lesson is about doing that honestly and cheaply: how to hold data out, how
# to search a space of hyperparameters, how to find a learning rate in one pass, and
# how to check that a network can learn at all before spending an afternoon on it.
#
# ## Three sets, and why the third one
#
# Split the data three ways. The *training set* fits the weights. The *validation set*
# compares the candidate settings, and the best one is picked on it. The *test set* is
# used once, at the end, to report how well the chosen model does. The third set is
# needed because choosing the best of many candidates on the validation set is itself
# a kind of fitting: the winner's validation score is optimistic, and the more
# candidates, the more so. The estimate of the error on new data is an average over
# the held-out samples,
#
# $$
# \hat R_{\text{val}} = \frac{1}{|V|} \sum_{i \in V} \ell\big(f(x_i), y_i\big),
# $$
#
# and it is noisy. For the accuracy $\hat p$ measured on $n$ held-out samples, each one
# right or wrong independently, the standard error is
#
# $$
# \operatorname{se}(\hat p) = \sqrt{\frac{\hat p\,(1 - \hat p)}{n}} ,
# $$
#
# about 0.07 for an accuracy of 0.6 on 50 samples: two settings whose validation
# accuracies differ by 0.05 on such a set cannot be told apart (exercise 1).
#
# ## k-fold cross-validation
#
# When data are scarce, holding out a validation set wastes a part of them and makes
# the estimate noisy. Cross-validation (Stone 1974) splits the data into $k$ folds
# $V_1, \dots, V_k$, trains $k$ times, each time on all folds but one, and averages the
# errors on the fold left out:
#
# $$
# \text{CV}_k = \frac{1}{k} \sum_{j=1}^{k} \hat R_{V_j}\big(f_{-j}\big) ,
# $$
#
# where $f_{-j}$ is the model trained without fold $j$. Every sample is used for
# validation exactly once and for training $k - 1$ times; the price is $k$ trainings per
# setting. For networks, which are expensive to train, a single validation split is
# more common; for the small models of the early lessons, 5- or 10-fold
# cross-validation is cheap (`model_selection.cross_val_score`, `KFold`,
# `StratifiedKFold`, which keeps the class proportions in every fold).
#
# ## Searching the space: random beats grid
#
# A grid search tries every combination of a few values per hyperparameter. Bergstra &
# Bengio (2012) showed why random search, which draws each combination at random, is
# usually better with the same budget: typically only one or two hyperparameters matter
# much, and a $5 \times 5$ grid tries only five distinct values of each, while 25 random
# draws try 25 distinct values of each. If a fraction $q$ of the important
# hyperparameter's range is good, $n$ independent draws miss it with probability $(1 -
# q)^n$; 60 draws find the best 5% with probability $1 - 0.95^{60} \approx 0.95$
# (exercise 3).
#
# Scales matter as much as the search. A learning rate of $10^{-4}$ and one of $10^{-3}$
# differ as much as $10^{-1}$ and $1$, so rates and penalty strengths are drawn
# uniformly in their logarithm: $\log_{10} \alpha \sim U(a, b)$ (`log_uniform`). A
# uniform draw on $[10^{-4}, 1]$ would put 90% of the samples above 0.1. Finally,
# search *coarse to fine*: a first round over wide ranges with few epochs, then a second
# round in the box spanned by the best trials of the first (Karpathy's CS231n notes).
#
# A small random search of your own first: a 2-16-2 network with an L2 penalty on the
# two-spirals data, six settings, each trained for 20 epochs and scored on a
# validation split.

# %%
import numpy as np

import nnlearn as nl
from nnlearn import datasets, experiments
from nnlearn import model_selection as ms
from nnlearn.layers import Dense, Input


def build(learning_rate, l2):
    model = nl.Sequential([Input(2), Dense(16, activation="relu",
                                           kernel_regularizer=nl.regularizers.L2(l2)),
                           Dense(2, activation="softmax")], seed=0)
    model.compile(optimizer=nl.optimizers.Adam(learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


X, y = datasets.make_spiral(200, noise=0.1, random_state=0)
X_train, X_val, y_train, y_val = ms.train_test_split(X, y, stratify=y, random_state=0)
trial = ms.ModelTrial(build, X_train, y_train, validation_data=(X_val, y_val), epochs=20)
results = ms.RandomSearch(trial, {"learning_rate": ms.log_uniform(1e-4, 1.0),
                                  "l2": ms.log_uniform(1e-5, 1e-1)},
                          n_iter=6, random_state=0).run()
for r in results:
    print(f"learning rate {r['params']['learning_rate']:.2e}, L2 {r['params']['l2']:.1e}:"
          f" validation accuracy {r['score']:.3f}")
print(f"{len(X_val)} validation samples: standard error about "
      f"{np.sqrt(0.6 * 0.4 / len(X_val)):.3f}")
best_rate = results[0]["params"]["learning_rate"]
assert 1e-2 <= best_rate <= 5e-2 and results[0]["score"] > 0.5    # checked on every CI run

# %% [markdown]
# The results are sorted best first. The best settings have rates of one to a few
# hundredths; the tiny rate ($1.5 \times 10^{-4}$) is still at chance (0.5) after 20
# epochs, and the two rates near 0.2 do worse than chance: too large for Adam on this
# problem. With 50 validation samples the standard error is about 0.07, so the first
# two or three settings are statistically tied; the search has found a *range*, not a
# winner, which is all it can do on this much data.
#
# The experiment does the same thing on a larger scale: two probes that show a rate
# that is too low and one that is too high, then a coarse and a fine stage.

# %%
result = experiments.run("learning-rate-search", quick=True)
print(result.summary())
print("\nWhat to notice:", experiments.get("learning-rate-search").notice)
result.figures["search"]

# %% [markdown]
# Each marker is one trial: circles from the coarse stage, triangles from the fine
# stage, coloured by the L2 strength. The red vertical lines are trials whose loss
# diverged, all at rates above 0.5. The coarse stage spread its trials over $10^{-4}$
# to $10$; the fine stage put all of its trials between about 0.05 and 1, the band
# where the coarse stage's best trials were. Yellow (strong L2) markers sit low: with a
# penalty near 1 the network cannot fit the spiral. This quick run trains each trial
# for 5 epochs only, so accuracies stay near 0.6; the comparison between settings is
# what counts.
#
# ## The learning-rate range test
#
# The learning rate is the one hyperparameter that can be found without a search.
# Smith (2017) proposed the *range test*: train for a short while, one mini-batch per
# step, while the learning rate grows geometrically from tiny to huge,
#
# $$
# \alpha_i = \alpha_{\min} \left( \frac{\alpha_{\max}}{\alpha_{\min}} \right)^{i/(N-1)},
# \qquad i = 0, \dots, N - 1,
# $$
#
# and plot the loss against $\alpha_i$. While the rate is too small nothing happens;
# then the loss starts to fall, fastest at some rate; past the largest stable rate it
# turns up and explodes. A good rate is one where the loss falls fastest, well before
# the explosion. `nl.lr_find` runs the test, stops when the loss has clearly diverged,
# restores the weights it started from, and suggests the rate of steepest fall (read on
# a centred moving average of the noisy mini-batch losses).
#
# Here on a 784-128-10 network with plain SGD, on 3,200 MNIST images: 100 steps of 32
# images are exactly one pass.

# %%
from nnlearn.demo import load_mnist_vectors

(x_train, y_train), (x_test, y_test) = load_mnist_vectors()
x_train, y_train, x_test, y_test = x_train[:3200], y_train[:3200], x_test[:2000], y_test[:2000]


def mnist_net(learning_rate=0.01):
    model = nl.Sequential([Input(784), Dense(128, activation="relu"),
                           Dense(10, activation="softmax")], seed=0)
    model.compile(nl.optimizers.SGD(learning_rate), "categorical_crossentropy", ["accuracy"])
    return model


found = nl.lr_find(mnist_net(), x_train, y_train, start_lr=1e-5, end_lr=100, steps=100)
print(f"suggested rate {found.suggestion:.3g}; minimum of the curve at "
      f"{found.min_loss_rate:.3g}; stopped early (diverged): {found.diverged}")
flat = found.smoothed_losses[found.learning_rates < 1e-2]
assert found.diverged and np.all(np.abs(flat - np.log(10)) < 0.2)
assert 0.01 < found.suggestion < found.min_loss_rate < 1.0
found.plot()

# %% [markdown]
# The grey line is each mini-batch's loss and the blue line its centred average. From
# $10^{-5}$ to about $10^{-2}$ the loss stays near $\ln 10 \approx 2.3$, the loss of
# guessing among ten digits: the steps are too small to matter in 100 updates. From
# about 0.01 the loss falls, steepest around the red dot, and reaches its minimum near
# 0.5 (green triangle). Beyond it the loss shoots up and the test stops: a
# rate of a few units throws the weights away. Does the suggestion work? Train three
# fresh networks for three epochs, at a rate from the flat part, at the suggestion,
# and at a rate from the exploding part:

# %%
outcome = {}
for rate in (1e-3, found.suggestion, 10.0):
    net = mnist_net(rate)
    with np.errstate(all="ignore"):
        net.fit(x_train, y_train, epochs=3, batch_size=32, verbose=0, seed=0)
    outcome[rate] = net.evaluate(x_test, y_test, return_dict=True)["accuracy"]
    print(f"learning rate {rate:.3g}: test accuracy after 3 epochs {outcome[rate]:.3f}")
assert outcome[found.suggestion] > outcome[1e-3] + 0.3      # checked on every CI run
assert outcome[found.suggestion] > outcome[10.0] + 0.3

# %% [markdown]
# The rate from the flat part has hardly started learning after three epochs, the rate
# from the exploding part never learns, and the suggested rate gives a network that
# gets most test digits right. One pass of the range test (100 mini-batches) replaced
# a search over rates. It does not replace the search for the other hyperparameters,
# and it answers for the first steps of training: rates that work at the start can be
# too large later on, which is what the schedules of lesson 6 are for (Smith's own use
# of the test was to set the bounds of a cyclical schedule).
#
# ## Before a long run: overfit a tiny subset
#
# A network that cannot drive the training loss on 20 examples to nearly zero, with
# regularization switched off, has a bug: in the data pipeline (labels shuffled
# separately from the images), in the model (an activation missing), or in the loss.
# Twenty examples train in a second; finding the same bug after a night of training
# costs a night (Karpathy's CS231n notes).

# %%
result = experiments.run("overfit-small", quick=True)
print(result.summary())
print("\nWhat to notice:", experiments.get("overfit-small").notice)
result.figures["loss"]

# %% [markdown]
# The loss on the 20 images falls steadily over the 200 full-batch epochs to about 0.01,
# and every image is classified correctly: the model and the training loop can learn.
# Passing this check says nothing about generalization; failing it says something is
# broken.
#
# ## Where model selection fails
#
# Every decision taken by looking at the validation set leaks a little information
# from it into the model: after many rounds of "try, look, adjust", the validation
# score overstates the performance on new data, which is why the test set is touched
# once. Small validation sets make every comparison noisy (exercise 1), and a search
# that stops at the first good-looking setting has often found luck. And all these
# methods assume the future data come from the same distribution as the held-out data;
# a validation set drawn from the training distribution cannot warn about a change in
# the world.
#
# ## Exercises
#
# **Exercise 1 (how noisy is a validation score?).** A classifier has a true accuracy
# of 0.6. Simulate 2,000 validation sets of 50 samples each and compare the spread of
# the measured accuracy with $\sqrt{p(1-p)/n}$. How many validation samples are needed
# to tell 0.60 from 0.65 at two standard errors?

# %% [markdown] tags=["solution"]
# *Solution.* Each sample is right with probability 0.6, so the measured accuracy is a
# binomial count divided by $n$, with standard deviation $\sqrt{0.24/50} \approx 0.069$.
# To separate a difference of 0.05 at two standard errors (of the difference, roughly
# $\sqrt 2$ times one score's), we need $2 \sqrt{2 \times 0.24 / n} \le 0.05$, that is $n
# \ge 768$.

# %% tags=["solution"]
rng = np.random.default_rng(0)
scores = rng.binomial(50, 0.6, size=2000) / 50
print(f"spread of the measured accuracy: {scores.std():.4f}; formula: {np.sqrt(0.24 / 50):.4f}")
needed = int(np.ceil(8 * 0.24 / 0.05 ** 2))
print("samples needed:", needed)
assert abs(scores.std() - np.sqrt(0.24 / 50)) < 0.005 and needed == 768

# %% [markdown]
# **Exercise 2 (the folds of k-fold).** Split 23 samples into 5 folds with
# `ms.KFold(5, shuffle=True, random_state=0)`. Check that the validation folds are
# disjoint, cover every sample once, differ in size by at most one, and that each
# training set is the complement of its fold.

# %% [markdown] tags=["solution"]
# *Solution.* With 23 samples and 5 folds, three folds hold 5 samples and two hold 4.
# The checks below are the definition of a partition.

# %% tags=["solution"]
folds = list(ms.KFold(5, shuffle=True, random_state=0).split(np.zeros((23, 1))))
validation = [set(v.tolist()) for _, v in folds]
print("fold sizes:", [len(v) for v in validation])
assert set().union(*validation) == set(range(23))
assert sum(len(v) for v in validation) == 23                    # disjoint
assert max(len(v) for v in validation) - min(len(v) for v in validation) <= 1
for (train, val) in folds:
    assert set(train.tolist()) == set(range(23)) - set(val.tolist())

# %% [markdown]
# **Exercise 3 (random against grid).** Suppose only the learning rate matters and the
# best 5% of its (log) range are good. With a budget of 25 trainings, what is the
# chance that a $5 \times 5$ grid over (rate, L2) tries a good rate, against 25 random
# draws? Compute it, then simulate with the good band placed at random.

# %% [markdown] tags=["solution"]
# *Solution.* The grid tries 5 distinct rates, evenly spaced; a band of width 0.05
# contains one of them with probability about $5 \times 0.05 = 0.25$. Random draws give
# 25 distinct rates: $1 - 0.95^{25} \approx 0.72$.

# %% tags=["solution"]
rng = np.random.default_rng(1)
grid_rates = (np.arange(5) + 0.5) / 5                   # 5 values, in the log range [0, 1]
hits = {"grid": 0, "random": 0}
for _ in range(20000):
    start = rng.uniform(0, 0.95)                         # the good band [start, start+0.05]
    hits["grid"] += np.any((grid_rates >= start) & (grid_rates <= start + 0.05))
    draws = rng.uniform(0, 1, 25)
    hits["random"] += np.any((draws >= start) & (draws <= start + 0.05))
for name, count in hits.items():
    print(f"{name}: finds a good rate in {count / 20000:.2f} of the searches")
print(f"formula for random: {1 - 0.95 ** 25:.2f}")
assert abs(hits["random"] / 20000 - (1 - 0.95 ** 25)) < 0.02
assert hits["grid"] / 20000 < 0.3

# %% [markdown]
# **Exercise 4 (why log-uniform).** Draw 10,000 learning rates from `ms.log_uniform(1e-4,
# 1)` and from a uniform distribution on the same interval. What fraction of each lands
# in each decade $[10^{-4}, 10^{-3}]$, ..., $[10^{-1}, 1]$?

# %% [markdown] tags=["solution"]
# *Solution.* Log-uniform draws split evenly, a quarter per decade, because $\log_{10}
# \alpha$ is uniform on $[-4, 0]$. Uniform draws put about 90% in the last decade and
# only 0.09% in the first: a uniform search would almost never try a small rate.

# %% tags=["solution"]
rng = np.random.default_rng(0)
space = ms.log_uniform(1e-4, 1.0)
log_draws = np.array([space.sample(rng) for _ in range(10000)])
flat_draws = rng.uniform(1e-4, 1.0, 10000)
edges = [1e-4, 1e-3, 1e-2, 1e-1, 1.0]
log_share = np.histogram(log_draws, edges)[0] / 10000
flat_share = np.histogram(flat_draws, edges)[0] / 10000
print("log-uniform, per decade:", log_share.round(3))
print("uniform, per decade:    ", flat_share.round(4))
assert np.all(np.abs(log_share - 0.25) < 0.02) and flat_share[-1] > 0.88

# %% [markdown]
# ## Sources
#
# - M. Stone, "Cross-validatory choice and assessment of statistical predictions",
#   *Journal of the Royal Statistical Society B* 36, 1974.
# - J. Bergstra & Y. Bengio, "Random search for hyper-parameter optimization", *JMLR*
#   13, 2012.
# - L. N. Smith, "Cyclical learning rates for training neural networks", WACV 2017
#   (the learning-rate range test).
# - A. Karpathy, *CS231n: Convolutional Neural Networks for Visual Recognition*, course
#   notes, Stanford (coarse-to-fine search, overfitting a tiny subset).
