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
# # Lesson 4 - Logistic and softmax regression
#
# Lesson 3 fitted numbers. Many questions have a yes-or-no answer instead: will this
# student pass, is this e-mail spam, is this digit a 7. A line can still do the work,
# if we stop asking it for the answer and ask it for the *odds* of the answer. Logistic
# regression (Cox 1958) turns a linear score into a probability with the sigmoid and
# fits the weights by maximum likelihood; softmax regression extends it to any number
# of classes. Both are one layer of a neural network with the right output function
# and loss, and the gradient they lead to, "prediction minus target, times input", is
# the one that every classifier in the later lessons starts its backward pass with.
#
# ## From a score to a probability
#
# Let $z = w \cdot x + b$ be a linear score. The logistic sigmoid
#
# $$
# \sigma(z) = \frac{1}{1 + e^{-z}}
# $$
#
# maps it to $(0, 1)$, and we read $p = \sigma(z)$ as $P(y = 1 \mid x)$. Solving for $z$
# shows what the score means: $z = \ln \frac{p}{1 - p}$, the *log-odds*. The model says
# that the log-odds of the answer are linear in the inputs, so each unit of input
# multiplies the odds by the same factor $e^{w}$. The decision boundary $p = \tfrac12$ is
# $z = 0$: a line, as for the perceptron, but now with a probability that grows
# smoothly with the distance from it.
#
# ## The cost: cross-entropy
#
# The probability the model gives to the observed answer is $p$ if $y = 1$ and $1 - p$
# if $y = 0$, that is $p^y (1-p)^{1-y}$. Maximizing the product of these over the data,
# or minimizing minus its logarithm averaged over the samples, gives the
# *cross-entropy*:
#
# $$
# J(w, b) = -\frac1N \sum_{i=1}^{N} \Big[ y_i \ln p_i + (1 - y_i) \ln (1 - p_i) \Big],
# \qquad p_i = \sigma(w \cdot x_i + b) .
# $$
#
# Unlike the squared error of a sigmoid output, this cost is convex in $(w, b)$, and
# its gradient is remarkably simple. Since $\sigma'(z) = \sigma(z)(1 - \sigma(z))$, the
# derivative of one sample's cost with respect to its score is $p_i - y_i$ (exercise 1),
# and so
#
# $$
# \frac{\partial J}{\partial w_j} = \frac1N \sum_{i=1}^{N} (p_i - y_i)\, x_{ij},
# \qquad \frac{\partial J}{\partial b} = \frac1N \sum_{i=1}^{N} (p_i - y_i) :
# $$
#
# the same form as linear regression's gradient, with the probability in place of the
# prediction. There is no closed form for the minimum; gradient descent it is.
#
# ## A worked example: hours of study
#
# A hundred students, their hours of study and whether they passed. We fit logistic
# regression with hours measured in tens (so the input is of order 1) and read off the
# probabilities:

# %%
import numpy as np

import nnlearn as nl
from nnlearn import classic, datasets, experiments, plot

hours, passed = datasets.make_study_hours(100, random_state=0)
model = classic.LogisticRegression(learning_rate=0.1, n_epochs=1000)
model.fit(hours / 10, passed)                      # hours in tens
w, b = model.coef_[0, 0] if np.ndim(model.coef_) == 2 else model.coef_[0], model.intercept_
w, b = float(np.ravel(w)[0]), float(np.ravel(b)[0])
p = model.predict_proba([[2.0], [3.5], [5.0]])[:, 1]
print(f"w = {w:.3f} per 10 hours, b = {b:.3f}")
print("P(pass) after 20, 35, 50 hours:", p.round(3))
by_hand = 1 / (1 + np.exp(-(w * np.array([2.0, 3.5, 5.0]) + b)))
print("by hand, sigmoid(w x + b):       ", by_hand.round(3))
print(f"P = 0.5 at {-b / w * 10:.1f} hours; each extra 10 hours multiplies the odds by "
      f"{np.exp(w):.2f}")
assert np.allclose(p, by_hand)

# %% [markdown]
# The model found a positive weight: more study, better odds. The decision boundary is
# where $w x + b = 0$, at $-b/w$, about 31 hours. The odds factor $e^w$ says that ten
# more hours of study multiply the odds of passing by about 5.4. The experiment fits
# its own sample of students and plots the curve:

# %%
result = experiments.run("logistic-regression", quick=True)
logistic = result.numbers
print(result.summary())
print("\nWhat to notice:", experiments.get("logistic-regression").notice)
result.figures["probability"]

# %% [markdown]
# Red dots are the students who passed (drawn at 1), blue ones those who failed (at 0).
# Below about 20 hours nobody passed and above about 35 everybody did; in between the
# two groups overlap, and that is where the curve rises and where the dotted line
# $P = 0.5$ falls, at about 32 hours. The steepness of the rise is the model's
# confidence: a sharper overlap would give a steeper curve. The accuracy, 0.92, counts
# the students on the wrong side of 32 hours.

# %%
assert logistic["p_at_20h"] < 0.5 < logistic["p_at_45h"] and 25 < logistic["hours_at_p_half"] < 40

# %% [markdown]
# ## More than two classes: softmax regression
#
# With $K$ classes, give each class its own weight vector $w_k$ and score $z_k = w_k \cdot
# x + b_k$, and turn the scores into probabilities with the softmax,
#
# $$
# P(y = k \mid x) = \frac{e^{z_k}}{\sum_{j=1}^{K} e^{z_j}} ,
# $$
#
# which is positive, sums to one, and preserves the order of the scores. With $K = 2$ it
# is the sigmoid of $z_1 - z_0$ (exercise 2). The cost is again the average of $-\ln$ of
# the probability of the true class, and its gradient has the same shape as before:
#
# $$
# \frac{\partial J}{\partial w_{kj}} = \frac1N \sum_{i=1}^{N} \big(P(y = k \mid x_i) -
# [y_i = k]\big)\, x_{ij} ,
# $$
#
# predicted probability minus the one-hot target, times the input. Computing the
# softmax needs care: $e^{z}$ overflows for scores above about 700 in float64, so every
# implementation subtracts the largest score first, which leaves the probabilities
# unchanged (exercise 3).
#
# Here four grades from two features, initial knowledge (0-100) and study time (0-50
# hours), both scaled to $[0, 1]$:

# %%
X, grade = datasets.make_grades(400, random_state=0)
X = X / [100, 50]                                  # both features in [0, 1]
fig, axes = plot.new_figure(ncols=2, size=(12, 5))
fits = {}
for ax, epochs in zip(axes, (300, 5000)):
    fits[epochs] = classic.SoftmaxRegression(learning_rate=0.5, n_epochs=epochs).fit(X, grade)
    counts = np.bincount(fits[epochs].predict(X), minlength=4)
    print(f"{epochs} epochs: training accuracy {fits[epochs].score(X, grade):.3f}, "
          f"predictions per grade {counts.tolist()}")
    plot.plot_decision_boundary(fits[epochs], X, grade, margin=0.05, ax=ax,
                                title=f"softmax regression, {epochs} epochs")
assert np.bincount(fits[300].predict(X), minlength=4)[1] == 0
assert np.all(np.bincount(fits[5000].predict(X), minlength=4) > 0)
fig

# %% [markdown]
# The boundaries are straight: between two classes the boundary is where their scores
# are equal, $w_k \cdot x + b_k = w_j \cdot x + b_j$, a line. The regions are ordered
# along the diagonal, because both more knowledge and more study raise the grade. The
# colour fades near the boundaries, where two grades have similar probabilities.
#
# After 300 epochs (left) there are only *three* regions: grade 1 (orange) never wins
# anywhere. Its students sit in a band between grades 0 and 2, and to win there its
# score must beat both neighbours at once; starting from zero weights, its weight vector
# has to grow in a direction the others leave free, which gradient descent finds slowly.
# After 5,000 epochs (right) grade 1 has its thin band and training accuracy rises from
# 0.72 to about 0.89. A middle class squeezed between two others is the hard case for
# softmax regression. The experiment fits the same model (1,000 epochs) on training
# data and checks it on test data:

# %%
result = experiments.run("softmax-regression", quick=True)
grades = result.numbers
print(result.summary())
print("\nWhat to notice:", experiments.get("softmax-regression").notice)
assert abs(grades["train_accuracy"] - grades["test_accuracy"]) < 0.05
result.figures["probabilities"]

# %% [markdown]
# On the left, the predicted grade with the data; on the right, the probability of the
# best grade, 3, which rises steadily towards the upper right and is exactly $\tfrac12$
# on the black line. Training and test accuracy differ by about two points: a linear
# model with 12 parameters has little room to overfit 400 points.
#
# ## Where it fails
#
# The boundaries are straight, so a class that sits inside a ring of another, or XOR,
# defeats logistic regression exactly as it defeats the perceptron (lesson 5 adds the
# hidden layer that fixes it). When the classes are perfectly separable the likelihood
# keeps growing as the weights grow, and gradient descent never stops increasing them:
# the probabilities become 0 and 1 and the weights drift to infinity unless a penalty
# (lesson 8) or early stopping holds them. And the probabilities are only as good as
# the model: a linear model fitted to curved data is confidently wrong in places.
#
# ## Exercises
#
# **Exercise 1 (the gradient).** Derive $\partial J_i / \partial z_i = p_i - y_i$ for one
# sample's cross-entropy with $p_i = \sigma(z_i)$, and check it against autograd on five
# random scores and labels.

# %% [markdown] tags=["solution"]
# *Solution.* $J_i = -y \ln \sigma(z) - (1 - y) \ln(1 - \sigma(z))$. With $\sigma' =
# \sigma(1 - \sigma)$: $\partial J_i / \partial z = -y (1 - \sigma) + (1 - y)\sigma =
# \sigma - y$. The sigmoid's slope cancels against the logarithm's $1/\sigma$, which is
# why the pair sigmoid + cross-entropy trains so much better than sigmoid + squared
# error, whose gradient keeps a factor $\sigma(1-\sigma)$ that vanishes when the output
# saturates.

# %% tags=["solution"]
rng = np.random.default_rng(0)
z = nl.Tensor(rng.normal(0, 2, 5), requires_grad=True, dtype="float64")
labels = rng.integers(0, 2, 5).astype(float)
p_t = nl.sigmoid(z)
loss = (-(labels * nl.log(p_t) + (1 - labels) * nl.log(1 - p_t))).sum()
(gz,) = nl.grad(loss, [z])
print("autograd:", gz.round(6))
print("p - y:   ", (p_t.data - labels).round(6))
assert np.allclose(gz, p_t.data - labels, atol=1e-12)

# %% [markdown]
# **Exercise 2 (two-class softmax is the sigmoid).** Show that the softmax of two scores
# $(z_0, z_1)$ gives $P(y = 1) = \sigma(z_1 - z_0)$, and check it numerically.

# %% [markdown] tags=["solution"]
# *Solution.* Divide numerator and denominator by $e^{z_1}$: $e^{z_1} / (e^{z_0} + e^{z_1})
# = 1 / (1 + e^{-(z_1 - z_0)})$. Only the difference of the scores matters, so a
# two-class softmax regression has one redundant weight vector; logistic regression
# keeps only the difference.

# %% tags=["solution"]
scores = rng.normal(0, 3, (6, 2))
softmax_p1 = nl.softmax(nl.Tensor(scores, dtype="float64")).data[:, 1]
sigmoid_p1 = 1 / (1 + np.exp(-(scores[:, 1] - scores[:, 0])))
print(softmax_p1.round(6), sigmoid_p1.round(6))
assert np.allclose(softmax_p1, sigmoid_p1, atol=1e-12)

# %% [markdown]
# **Exercise 3 (a stable softmax).** Compute the softmax of the scores $(1000, 1001,
# 1002)$ naively with `np.exp` and after subtracting the largest score. Why are the two
# mathematically equal, and why is only one of them computable?

# %% [markdown] tags=["solution"]
# *Solution.* Multiplying numerator and denominator by $e^{-m}$ leaves every ratio
# unchanged, so $\operatorname{softmax}(z) = \operatorname{softmax}(z - m)$ for any
# constant $m$. $e^{1000}$ overflows to infinity in float64 (the largest float is about
# $1.8 \times 10^{308} \approx e^{709.8}$), and $\infty / \infty$ is NaN. With $m = \max z$
# the largest exponent is $e^0 = 1$ and nothing overflows. nnlearn's softmax does this.

# %% tags=["solution"]
big = np.array([1000.0, 1001.0, 1002.0])
with np.errstate(over="ignore", invalid="ignore"):
    naive = np.exp(big) / np.exp(big).sum()
shifted = np.exp(big - big.max()) / np.exp(big - big.max()).sum()
library = nl.softmax(nl.Tensor(big, dtype="float64")).data
print("naive:", naive, " shifted:", shifted.round(6), " nnlearn:", library.round(6))
assert np.all(np.isnan(naive)) and np.allclose(shifted, library)

# %% [markdown]
# **Exercise 4 (separable data and growing weights).** Fit logistic regression to four
# points that a line separates perfectly, for 100, 1,000 and 10,000 epochs. What happens
# to the weight and to the cost?

# %% [markdown] tags=["solution"]
# *Solution.* The cost can always be lowered by scaling the weights up, because every
# point is already on the right side and a larger score makes its probability closer
# to 1. So the weight keeps growing (roughly like the logarithm of the number of
# epochs) and the cost keeps falling towards zero without reaching it: the maximum
# likelihood estimate does not exist. A penalty or early stopping is needed.

# %% tags=["solution"]
Xs = np.array([[-2.0], [-1.0], [1.0], [2.0]])
ys = np.array([0, 0, 1, 1])
weights, costs = [], []
for epochs in (100, 1000, 10000):
    fit = classic.LogisticRegression(learning_rate=0.5, n_epochs=epochs).fit(Xs, ys)
    weights.append(float(np.ravel(fit.coef_)[0]))
    costs.append(fit.cost_history_[-1])
print("weight:", np.round(weights, 3), " cost:", np.round(costs, 5))
assert weights[0] < weights[1] < weights[2] and costs[0] > costs[1] > costs[2] > 0

# %% [markdown]
# ## Sources
#
# - D. R. Cox, "The regression analysis of binary sequences", *Journal of the Royal
#   Statistical Society B* 20, 1958.
# - J. S. Bridle, "Probabilistic interpretation of feedforward classification network
#   outputs, with relationships to statistical pattern recognition", 1990 (the name
#   "softmax").
# - P. McCullagh & J. A. Nelder, *Generalized Linear Models*, 1989.
