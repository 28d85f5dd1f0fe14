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
# # Lesson 3 - Linear models and gradient descent
#
# The perceptron of lesson 2 learns from its mistakes, one sample at a time, and stops
# when it makes none. That rule has no notion of *how wrong* an answer is, so it cannot
# handle data that no line separates perfectly, or targets that are numbers rather than
# classes. The idea that replaced it, and that every later lesson builds on, is to
# write down a *cost*: a single number that measures how badly the model fits all the
# data, and to change the parameters in the direction that makes the cost smaller.
# This lesson does it for the simplest model there is, a straight line, where the best
# answer can also be computed exactly, so that we can watch gradient descent approach
# it.
#
# ## The model and its cost
#
# A linear model predicts $\hat y = a x + b$ (with several inputs, $\hat y = w \cdot x +
# b$). Given $N$ pairs $(x_i, y_i)$ we measure the fit by the mean squared error, with a
# factor $\tfrac12$ that makes the derivative tidy:
#
# $$
# J(a, b) = \frac{1}{2N} \sum_{i=1}^{N} \big(a x_i + b - y_i\big)^2 .
# $$
#
# Why squares? Because if the targets are the line plus Gaussian noise, $y_i = a x_i + b
# + \varepsilon_i$ with $\varepsilon_i \sim N(0, \sigma^2)$, then maximizing the
# likelihood of the data is the same as minimizing the sum of squared errors (Gauss
# 1809); it is also the cost whose minimum has a closed form. As a function of $(a, b)$
# it is a bowl, a convex quadratic with a single lowest point.
#
# ## Gradient descent
#
# The gradient of $J$ points uphill. Its components are
#
# $$
# \frac{\partial J}{\partial a} = \frac1N \sum_i (a x_i + b - y_i)\, x_i, \qquad
# \frac{\partial J}{\partial b} = \frac1N \sum_i (a x_i + b - y_i) ,
# $$
#
# the average error, weighted by the input for the slope. Gradient descent (Cauchy
# 1847) repeats a small step downhill,
#
# $$
# a \leftarrow a - \alpha \frac{\partial J}{\partial a}, \qquad
# b \leftarrow b - \alpha \frac{\partial J}{\partial b} ,
# $$
#
# with a learning rate $\alpha$. Taking the step after each single sample instead of the
# average is Widrow & Hoff's (1960) LMS rule, the training rule of their Adaline, which
# is stochastic gradient descent on the same cost.
#
# ## The exact answer: the normal equations
#
# At the bottom of the bowl both derivatives are zero. Stacking the inputs as the rows
# of a matrix $X$ with a column of ones for the bias, the conditions read $X^\top (X w -
# y) = 0$, the *normal equations*,
#
# $$
# X^\top X\, w = X^\top y \qquad\Longrightarrow\qquad w = (X^\top X)^{-1} X^\top y ,
# $$
#
# least squares as Legendre (1805) and Gauss published it. In practice the system is
# solved by a factorization of $X$ (nnlearn uses `numpy.linalg.lstsq`), never by
# inverting $X^\top X$, which squares the condition number.
#
# ## A worked example
#
# One hundred points around the line $y = 0.5x + 0.5$ with noise of standard deviation
# 0.25, $x$ in $[0, 10)$. First the exact answer, then gradient descent from the poor
# start $a = -0.5$, $b = 1$ with $\alpha = 0.01$. We also compute the first step by
# hand:

# %%
import numpy as np

import nnlearn as nl
from nnlearn import classic, datasets, experiments, plot

X, y = datasets.make_line(100, random_state=0)
x = X[:, 0]
exact = classic.LinearRegression(solver="normal").fit(X, y)
A = np.column_stack([x, np.ones_like(x)])
by_hand = np.linalg.solve(A.T @ A, A.T @ y)
print(f"normal equations by hand: a = {by_hand[0]:.6f}, b = {by_hand[1]:.6f}")
print(f"LinearRegression('normal'): a = {exact.coef_[0]:.6f}, b = {exact.intercept_:.6f}")
assert np.allclose(by_hand, [exact.coef_[0], exact.intercept_])

a, b = -0.5, 1.0
error = a * x + b - y
grad_a, grad_b = np.mean(error * x), np.mean(error)
print(f"J at the start: {np.mean(error ** 2) / 2:.3f}; gradient ({grad_a:.3f}, {grad_b:.3f})")
print(f"after one step: a = {a - 0.01 * grad_a:.4f}, b = {b - 0.01 * grad_b:.4f}")
one_step = classic.LinearRegression(solver="gd", learning_rate=0.01, n_epochs=1,
                                    initial_weights=[1.0, -0.5]).fit(X, y)
print(f"the library after one epoch: a = {one_step.coef_[0]:.4f}, b = {one_step.intercept_:.4f}")
assert np.isclose(one_step.coef_[0], a - 0.01 * grad_a)
assert np.isclose(one_step.intercept_, b - 0.01 * grad_b)

# %% [markdown]
# The normal equations give $a \approx 0.497$, $b \approx 0.498$, close to the true 0.5
# and 0.5; the difference is the noise. From the start $(-0.5, 1)$ every prediction is
# far too low, so the average error is negative and its $x$-weighted version seven
# times more so: the first step raises the slope from $-0.5$ to $-0.14$, and the
# intercept only from 1 to 1.05. The library's first epoch gives the same numbers (its
# `initial_weights` lists the bias first). Now 1,000 steps:

# %%
gd = classic.LinearRegression(solver="gd", learning_rate=0.01, n_epochs=1000,
                              initial_weights=[1.0, -0.5]).fit(X, y)
print(f"gradient descent: a = {gd.coef_[0]:.4f}, b = {gd.intercept_:.4f}")
cost = np.array(gd.cost_history_)
print("cost before epochs 1, 2, 10, 100, 1000:", cost[[0, 1, 9, 99, 999]].round(4))
plot.plot_history({"cost J(a, b), log scale": np.log10(cost)},
                  title="gradient descent: log10 of the cost per epoch")

# %% [markdown]
# On a log scale the cost curve has two phases: a plunge in the first ten epochs, from
# 17 to below 0.1, then a slow decline. The first phase brings the slope most of the
# way (from $-0.5$ to about 0.40 in ten epochs, the least-squares slope being 0.50),
# which the data pin down strongly (the $x$ values reach 10, so the slope's gradient is
# large). The second phase is the intercept crawling towards its value, the slope
# following it from 0.40 to 0.49: the intercept's gradient is the unweighted mean
# error, small once the slope is nearly right, and the bowl is long and narrow in the
# intercept's direction. After 1,000 epochs $b$ is still about 0.06 away from
# the least-squares value. This is lesson 6's ill-conditioned valley in its smallest
# form; standardizing $x$ (lesson 7) would make the bowl round.
#
# The experiment draws the line at several epochs and the cost:

# %%
result = experiments.run("linear-regression", quick=True)
line = result.numbers
print(result.summary())
print("\nWhat to notice:", experiments.get("linear-regression").notice)
result.figures["fits"]

# %% [markdown]
# The green line is the start, sloping down through the data. After 10 epochs the line
# already lies along the data; the lines of epochs 100, 500 and 1000 are nearly on top
# of it, turning very slowly about the middle of the data: the intercept falls (1.11
# after 10 epochs, 0.56 after 1000, towards the least-squares 0.50) while the slope
# rises to meet it (0.40 to 0.49).

# %%
steps = [line["snapshots"][str(e)] for e in (10, 100, 500, 1000)]
assert all(p["b"] > q["b"] and p["a"] < q["a"] for p, q in zip(steps, steps[1:]))
assert steps[-1]["b"] > line["least_squares"]["b"] and steps[-1]["a"] < line["least_squares"]["a"]

# %%
result.figures["cost"]

# %% [markdown]
# On the experiment's linear scale the cost drops to almost nothing within a few epochs
# and the slow phase is invisible; the log scale above is the more honest picture.

# %%
gap = abs(line["b"] - line["least_squares"]["b"])
print(f"after 1000 epochs: b is {gap:.3f} from least squares; cost decreased at every "
      f"epoch: {line['cost_monotone']}")
assert line["cost_monotone"] and 0.01 < gap < 0.2                # checked on every CI run

# %% [markdown]
# ## Where it fails
#
# With a learning rate too large the steps overshoot the bottom and grow: for this bowl
# the largest stable rate is set by the curvature along the slope, $2 / \lambda_{\max}$
# with $\lambda_{\max}$ the largest eigenvalue of $X^\top X / N$ (about 40 here), so
# $\alpha = 0.06$ already diverges (exercise 1). The normal equations fail in a
# different way: when features are nearly collinear, $X^\top X$ is nearly singular and
# the solution swings wildly with the noise, which is the situation ridge regression
# (lesson 8) repairs. And a line is a line: no choice of $a$ and $b$ fits a curve, which
# is where hidden layers come in (lesson 5).
#
# ## Exercises
#
# **Exercise 1 (the largest stable learning rate).** Compute the eigenvalues of the
# cost's Hessian $H = A^\top A / N$ for the data above, predict the largest stable
# learning rate $2 / \lambda_{\max}$, and check that gradient descent converges just
# below it and diverges just above it.

# %% [markdown] tags=["solution"]
# *Solution.* The cost is quadratic, so each step multiplies the distance to the
# minimum, along each eigenvector of $H$, by $1 - \alpha \lambda$. Convergence needs
# $|1 - \alpha \lambda| < 1$ for every eigenvalue, that is $\alpha < 2 / \lambda_{\max}$.
# With $\lambda_{\max} \approx 40$ the limit is about 0.05. The other eigenvalue, 0.23,
# is 170 times smaller: that is the slow direction of the second phase above.

# %% tags=["solution"]
H = A.T @ A / len(x)
eigenvalues = np.linalg.eigvalsh(H)
limit = 2 / eigenvalues.max()
print("eigenvalues of H:", eigenvalues.round(3), f" limit 2/lambda_max = {limit:.4f}")
final = {}
for rate in (0.95 * limit, 1.05 * limit):
    with np.errstate(all="ignore"):
        run = classic.LinearRegression(solver="gd", learning_rate=rate, n_epochs=300,
                                       initial_weights=[1.0, -0.5]).fit(X, y)
    final[rate] = run.cost_history_[-1]
    print(f"rate {rate:.4f}: cost after 300 epochs {final[rate]:.3g}")
assert final[0.95 * limit] < 1 and not final[1.05 * limit] < 1e3

# %% [markdown]
# **Exercise 2 (the LMS rule).** Widrow and Hoff's rule updates after each sample:
# $w \leftarrow w - \alpha (w \cdot x_i - y_i) x_i$. Run it for one pass over the data
# with $\alpha = 0.01$ and compare with `LinearRegression(solver="sgd")`.

# %% [markdown] tags=["solution"]
# *Solution.* One pass of the rule is 100 small steps, each using one sample's error.
# The library's "sgd" solver visits the samples in a random order drawn from its
# `random_state`; drawing the same permutation, the hand-written loop takes exactly the
# same steps.

# %% tags=["solution"]
w = np.array([-0.5, 1.0])                   # (a, b)
for i in np.random.default_rng(0).permutation(len(x)):
    w = w - 0.01 * (w @ A[i] - y[i]) * A[i]
sgd = classic.LinearRegression(solver="sgd", learning_rate=0.01, n_epochs=1,
                               initial_weights=[1.0, -0.5], random_state=0).fit(X, y)
print(f"by hand: a = {w[0]:.6f}, b = {w[1]:.6f}")
print(f"library: a = {sgd.coef_[0]:.6f}, b = {sgd.intercept_:.6f}")
assert np.allclose(w, [sgd.coef_[0], sgd.intercept_])

# %% [markdown]
# **Exercise 3 (the same fit with the network library).** Fit the line with a one-unit
# `Dense` layer, the mean squared error and SGD, and compare with the normal equations.
# Why does it need standardized inputs to converge in a few epochs?

# %% [markdown] tags=["solution"]
# *Solution.* A `Dense(1)` layer with no activation is exactly $\hat y = a x + b$. With
# raw $x$ up to 10 the bowl is narrow (exercise 1); standardizing $x$ makes the Hessian
# nearly the identity, so a rate of 0.1 converges fast. The slope found on standardized
# inputs is then divided by the standard deviation of $x$ to compare.

# %% tags=["solution"]
mean, std = x.mean(), x.std()
xs = ((x - mean) / std)[:, None]
net = nl.Sequential([nl.layers.Input(1), nl.layers.Dense(1)], seed=0, dtype="float64")
net.compile(nl.optimizers.SGD(0.1), "mse")
net.fit(xs, y, epochs=50, batch_size=100, verbose=0)
k, c = net.layers[1].kernel.data[0, 0], net.layers[1].bias.data[0]
slope, intercept = k / std, c - k * mean / std
print(f"network: a = {slope:.5f}, b = {intercept:.5f};  normal equations: a = "
      f"{by_hand[0]:.5f}, b = {by_hand[1]:.5f}")
assert np.allclose([slope, intercept], by_hand, atol=1e-4)

# %% [markdown]
# **Exercise 4 (maximum likelihood).** Show numerically that the $(a, b)$ minimizing the
# squared error also maximizes the Gaussian log-likelihood $\sum_i \log N(y_i; a x_i + b,
# \sigma^2)$ for a fixed $\sigma$: evaluate both on a grid around the least-squares
# answer.

# %% [markdown] tags=["solution"]
# *Solution.* $\log N(y; \mu, \sigma^2) = -\tfrac12 \log(2\pi\sigma^2) - (y - \mu)^2 /
# (2\sigma^2)$: up to a constant and a negative factor, the log-likelihood *is* the sum
# of squared errors, so their best points coincide.

# %% tags=["solution"]
grid_a = by_hand[0] + np.linspace(-0.01, 0.01, 41)
grid_b = by_hand[1] + np.linspace(-0.05, 0.05, 41)
ga, gb = np.meshgrid(grid_a, grid_b)
residuals = ga[..., None] * x + gb[..., None] - y
sse = (residuals ** 2).sum(axis=-1)
sigma = 0.25
log_likelihood = (-0.5 * np.log(2 * np.pi * sigma ** 2) - residuals ** 2 / (2 * sigma ** 2)).sum(-1)
best_sse = np.unravel_index(sse.argmin(), sse.shape)
best_ll = np.unravel_index(log_likelihood.argmax(), log_likelihood.shape)
print("grid point of least squares:", best_sse, " of maximum likelihood:", best_ll)
assert best_sse == best_ll == (20, 20)

# %% [markdown]
# ## Sources
#
# - A.-M. Legendre, *Nouvelles méthodes pour la détermination des orbites des comètes*,
#   1805; C. F. Gauss, *Theoria motus corporum coelestium*, 1809 (least squares).
# - A. Cauchy, "Méthode générale pour la résolution des systèmes d'équations
#   simultanées", *Comptes rendus* 25, 1847 (gradient descent).
# - B. Widrow & M. E. Hoff, "Adaptive switching circuits", IRE WESCON Convention Record,
#   1960 (Adaline and the LMS rule).
