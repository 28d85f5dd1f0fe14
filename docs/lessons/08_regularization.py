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
# # Lesson 8 - Regularization
#
# A model with many parameters can fit its training data in many ways, and the loss on
# the training data cannot tell a fit that captures the pattern from one that also
# memorizes the noise. The second kind does well on the training set and badly on new
# data: it *overfits*. Regularization is everything we do to prefer the first kind:
# penalties that keep the weights small (ridge, lasso, weight decay), noise injected
# during training (dropout), and stopping before the network has had time to memorize
# (early stopping). This lesson writes each as an equation, shows what it does to a
# polynomial and to a network, and checks the claims on the numbers.
#
# ## Penalties: ridge and lasso
#
# Add to the training loss $J(w)$ a term that grows with the size of the weights:
#
# $$
# J_{\text{ridge}}(w) = J(w) + \lambda \lVert w \rVert_2^2 = J(w) + \lambda \sum_i w_i^2,
# \qquad
# J_{\text{lasso}}(w) = J(w) + \lambda \lVert w \rVert_1 = J(w) + \lambda \sum_i |w_i| .
# $$
#
# The strength $\lambda$ trades the fit against the size of the weights; it is a
# hyperparameter, chosen on validation data (lesson 9). For least squares the ridge
# solution has a closed form (Hoerl & Kennard 1970),
#
# $$
# w_{\text{ridge}} = \big(X^\top X + \lambda I\big)^{-1} X^\top y ,
# $$
#
# which also shows a second benefit: adding $\lambda I$ makes the matrix invertible even
# when $X^\top X$ is not (more features than samples, or nearly collinear features, as
# the powers of $x$ in a polynomial are). The L2 penalty shrinks every weight in
# proportion to its size. The L1 penalty of the lasso (Tibshirani 1996) pushes every
# weight towards zero by the same amount, $\lambda$ per unit of gradient, whatever its
# size, so small weights reach zero and stay there: the lasso *selects* features.
#
# The experiment fits a polynomial of degree 20 to 50 noisy samples of $\sin(\pi x)$,
# with no penalty, with ridge and with lasso:

# %%
import numpy as np

import nnlearn as nl
from nnlearn import datasets, experiments, plot
from nnlearn.layers import Dense, Dropout, Input

result = experiments.run("polynomial-regularization", quick=True)
poly = result.numbers
print(result.summary())
print("\nWhat to notice:", experiments.get("polynomial-regularization").notice)
result.figures["fits"]

# %% [markdown]
# The top row shows the fits, the bottom row the 20 coefficients on a symmetric log
# scale. Without a penalty the coefficients reach $4 \times 10^4$ in size, with
# alternating signs: huge terms that cancel each other between the data points. The
# curve still passes near the points here, but it bends where the data do not ask for
# it, and a point moved a little would swing the coefficients by thousands. Ridge keeps
# every coefficient below about 3 in size, all of them nonzero. Lasso keeps only a few
# and sets the other 15 exactly to zero; the sine is explained by a handful of odd
# powers, as its Taylor series suggests.

# %%
print({name: (f"max |coef| {v['max_abs_coef']:.3g}", f"{v['zero_coefs']} zeros")
       for name, v in poly.items() if isinstance(v, dict) and "zero_coefs" in v})
assert poly["none"]["max_abs_coef"] > 1e3 > 5 > poly["L2 (Ridge 0.1)"]["max_abs_coef"]
assert poly["L1 (Lasso 0.001)"]["zero_coefs"] >= 10 and poly["none"]["zero_coefs"] == 0

# %% [markdown]
# ## Weight decay
#
# In a network the penalty is added to the loss and differentiated with the rest. The
# gradient of $\lambda \lVert w \rVert^2$ is $2 \lambda w$, so one step of gradient descent
# on the penalized loss is
#
# $$
# w \leftarrow w - \alpha \big(\nabla J(w) + 2\lambda w\big)
#   = (1 - 2\alpha\lambda)\, w - \alpha \nabla J(w) :
# $$
#
# shrink every weight by a constant factor, then take the ordinary step. That is why
# the L2 penalty is also called *weight decay*. In nnlearn the penalty belongs to the
# layer (`kernel_regularizer=nl.regularizers.L2(1e-3)`, Keras's convention: the penalty
# is $\lambda \sum w^2$ with no factor $\tfrac12$); biases are usually not penalized,
# since they do not make the function any wigglier (exercise 2 checks the equation).
#
# ## Dropout
#
# Dropout (Srivastava et al. 2014) regularizes differently: during training, every
# hidden unit is switched off at random, a new random set at every step. With
# "inverted dropout", the units kept are scaled up so that the expected output is
# unchanged,
#
# $$
# \tilde h_j = \frac{m_j}{1 - p}\, h_j, \qquad m_j \sim \text{Bernoulli}(1 - p), \qquad
# E[\tilde h_j] = h_j ,
# $$
#
# and at inference the layer does nothing. No unit can rely on any particular other
# unit being present, so the network cannot build the fragile co-adaptations that
# memorizing noise requires; the trained network behaves like an average of the
# exponentially many thinned networks it trained.
#
# ## Early stopping
#
# The simplest regularizer is time. A network that starts from small random weights
# computes a nearly linear, simple function, and becomes more complex as training goes
# on. Watch the loss on validation data after every epoch, and keep the weights from
# the epoch where it was lowest. In nnlearn: `callbacks.EarlyStopping(patience=k,
# restore_best_weights=True)` stops after $k$ epochs without improvement and puts the
# best weights back.

# %%
X, y = datasets.make_circle(200, noise=0.3, random_state=0)  # shuffled
model = nl.Sequential([Input(2), Dense(64, activation="relu"), Dropout(0.3),
                       Dense(2, activation="softmax")], seed=0)
model.compile(optimizer=nl.optimizers.Adam(0.01),
              loss="sparse_categorical_crossentropy", metrics=["accuracy"])
stop = nl.callbacks.EarlyStopping(patience=10, restore_best_weights=True)
history = model.fit(X, y, epochs=200, batch_size=32, validation_split=0.25,
                    verbose=0, seed=0, callbacks=[stop])
best = int(np.argmin(history.history["val_loss"]))
print(f"stopped after {len(history.epoch)} epochs; best epoch {stop.best_epoch + 1} "
      f"(validation loss {history.history['val_loss'][best]:.3f})")
assert len(history.epoch) == stop.best_epoch + 1 + 10    # ten epochs of patience
plot.plot_history(history)

# %% [markdown]
# The validation loss (dashed) falls quickly and flattens after about 15 epochs; it
# improves only slightly until epoch 34, and ten epochs of patience later training stops
# and the weights of the best epoch are restored. The validation loss stays *below* the
# training loss: the training loss is measured with dropout switching units off, and
# the 50 validation points happen to be easy ones. This small network is not
# overfitting much. The experiment below makes overfitting happen on
# purpose: a 2-128-128-2 network, far too large, on only 100 noisy points, with 1,000
# new points to validate on. It trains four copies from the same initial weights: no
# regularization, dropout 0.5 after each hidden layer, an L2 penalty of $10^{-3}$, and
# early stopping.

# %%
result = experiments.run("dropout-early-stopping", quick=True)
reg = result.numbers
print(result.summary())
print("\nWhat to notice:", experiments.get("dropout-early-stopping").notice)
result.figures["losses"]

# %% [markdown]
# The two panels share their loss axis. On the left the training loss of every variant
# falls, most for the network without regularization (blue), least for dropout
# (orange), whose training loss is measured with units switched off. On the right, the
# validation loss of the unregularized network reaches its minimum near epoch 10 and
# then climbs back while its training loss keeps falling: from there on it is learning
# the noise of its 100 points. Dropout's validation loss rises much less and stays the
# lowest at the end; L2's rises least, but from a higher minimum. Early stopping (red)
# stopped 20 epochs after its best epoch, marked by the dotted line, and restored
# those weights.

# %%
rise = {name: v["final_val_loss"] - v["best_val_loss"] for name, v in reg.items()}
print({name: round(value, 3) for name, value in rise.items()})
assert reg["none"]["final_val_loss"] > 1.3 * reg["none"]["best_val_loss"]
assert rise["dropout 0.5"] < rise["none"] and rise["L2 1e-3"] < rise["none"]
assert rise["early stopping"] < 1e-4

# %% [markdown]
# The decision boundaries after training, on the 100 training points:

# %%
result.figures["decision_boundaries"]

# %% [markdown]
# Without regularization the boundary reaches out in corners towards isolated points of
# the wrong colour near the edge (on the right, around $(3, \pm 2.6)$): memorized noise.
# Dropout's boundary is rounder. L2 at this strength is still angular, much like no
# regularization. Early stopping's network, stopped at epoch 9, has the roundest
# boundary and the palest colours (the least confident probabilities), because it
# never had the time to bend.
#
# ## Where regularization fails
#
# Each method has a knob, $\lambda$, the dropout rate, the patience, and each can be set
# too strong: a large penalty or a high dropout rate *underfits*, drawing a boundary
# simpler than the truth. The knob is chosen on validation data, which costs trainings
# and data (lesson 9). Penalties act on the scale of the weights, so their effect
# depends on the scale of the inputs (standardize first, lesson 7). And none of these
# methods replaces more data: with 100 points, the best that regularization can do is
# to not make things worse than a simpler model would.
#
# ## Exercises
#
# **Exercise 1 (ridge in closed form).** Fit `nl.classic.Ridge(alpha=0.1)` to the
# degree-5 polynomial features of 30 noisy points, and check its coefficients against
# $(X_c^\top X_c + \lambda I)^{-1} X_c^\top y_c$ computed on centred data (the intercept is
# not penalized).

# %% [markdown] tags=["solution"]
# *Solution.* Centre $X$ and $y$ so that the intercept drops out, solve the penalized
# normal equations, and recover the intercept as $\bar y - \bar x \cdot w$. The library
# solves the same problem as a least-squares system, so the two agree to rounding.

# %% tags=["solution"]
rng = np.random.default_rng(0)
x = rng.uniform(-1, 1, 30)
Xp = np.stack([x ** k for k in range(1, 6)], axis=1)
t = np.sin(np.pi * x) + rng.normal(0, 0.1, 30)
ridge = nl.classic.Ridge(alpha=0.1).fit(Xp, t)
Xc, tc = Xp - Xp.mean(axis=0), t - t.mean()
w = np.linalg.solve(Xc.T @ Xc + 0.1 * np.eye(5), Xc.T @ tc)
print("library:", ridge.coef_.round(6))
print("formula:", w.round(6))
assert np.allclose(ridge.coef_, w, atol=1e-10)
assert np.isclose(ridge.intercept_, t.mean() - Xp.mean(axis=0) @ w)

# %% [markdown]
# **Exercise 2 (weight decay is a shrink).** Take a one-layer network with an L2 penalty
# of $\lambda = 0.01$ and plain SGD with $\alpha = 0.1$. After one training step on a
# batch, check that the new kernel equals $(1 - 2\alpha\lambda) W - \alpha \nabla J(W)$, with
# $\nabla J$ the gradient of the unpenalized loss.

# %% [markdown] tags=["solution"]
# *Solution.* Compute the unpenalized gradient with autograd on the same batch and
# weights, apply the formula, and compare with what `train_step` produced. The factor
# $1 - 2 \times 0.1 \times 0.01 = 0.998$ shrinks every weight by 0.2% per step.

# %% tags=["solution"]
xb = rng.normal(size=(16, 3))
yb = rng.normal(size=(16, 1))
net = nl.Sequential([Input(3), Dense(1, kernel_regularizer=nl.regularizers.L2(0.01))],
                    seed=0, dtype="float64")
net.compile(nl.optimizers.SGD(0.1), "mse")
net.build((3,))
W0 = net.layers[1].kernel.data.copy()
plain_loss = nl.losses.get("mse")(yb, net(xb, training=True))
(grad_W,) = nl.grad(plain_loss, [net.layers[1].kernel])
net.train_step(xb, yb)
expected = (1 - 2 * 0.1 * 0.01) * W0 - 0.1 * grad_W
print("after one step:", net.layers[1].kernel.data.ravel().round(8))
print("formula:       ", expected.ravel().round(8))
assert np.allclose(net.layers[1].kernel.data, expected, atol=1e-12)

# %% [markdown]
# **Exercise 3 (dropout keeps the mean).** Apply `Dropout(0.5)` in training mode to an
# array of ones of shape $(2000, 100)$. What fraction of the outputs is zero, what are
# the others, and what is the mean? And in inference mode?

# %% [markdown] tags=["solution"]
# *Solution.* About half the entries are zero and the rest are $1 / (1 - 0.5) = 2$, so
# the mean stays 1, the equation's $E[\tilde h] = h$. At inference the layer is the
# identity.

# %% tags=["solution"]
drop = Dropout(0.5, seed=0)
ones = nl.Tensor(np.ones((2000, 100)))
out = drop(ones, training=True).data
print(f"zeros: {np.mean(out == 0):.3f}, other values: {np.unique(out[out != 0])}, "
      f"mean: {out.mean():.3f}")
assert abs(np.mean(out == 0) - 0.5) < 0.01 and abs(out.mean() - 1) < 0.02
assert np.array_equal(drop(ones, training=False).data, ones.data)

# %% [markdown]
# **Exercise 4 (the lasso's zeros).** Fit `nl.classic.Lasso` with increasing $\alpha$ to
# the degree-5 features of exercise 1 and count the zero coefficients. Why does the
# count grow with $\alpha$, while ridge never produces an exact zero?

# %% [markdown] tags=["solution"]
# *Solution.* The lasso's coordinate-descent update is a soft threshold: a coefficient
# whose correlation with the residual is smaller than $\alpha$ (in the problem's
# scaling) is set exactly to zero. A larger $\alpha$ zeroes more of them. Ridge's update
# only multiplies by a factor below one, which makes coefficients small but never
# exactly zero.

# %% tags=["solution"]
zeros = {}
for alpha in (1e-4, 1e-3, 1e-2, 1e-1):
    lasso = nl.classic.Lasso(alpha=alpha, max_iter=10000).fit(Xp, t)
    zeros[alpha] = int(np.sum(lasso.coef_ == 0))
ridge_zeros = int(np.sum(nl.classic.Ridge(alpha=10.0).fit(Xp, t).coef_ == 0))
print("lasso zeros per alpha:", zeros, " ridge (alpha 10) zeros:", ridge_zeros)
counts = list(zeros.values())
assert counts == sorted(counts) and counts[-1] > counts[0] and ridge_zeros == 0

# %% [markdown]
# ## Sources
#
# - A. E. Hoerl & R. W. Kennard, "Ridge regression: biased estimation for nonorthogonal
#   problems", *Technometrics* 12, 1970.
# - R. Tibshirani, "Regression shrinkage and selection via the lasso", *Journal of the
#   Royal Statistical Society B* 58, 1996.
# - A. Krogh & J. Hertz, "A simple weight decay can improve generalization", NeurIPS
#   1991.
# - N. Srivastava, G. Hinton, A. Krizhevsky, I. Sutskever & R. Salakhutdinov, "Dropout:
#   a simple way to prevent neural networks from overfitting", *JMLR* 15, 2014.
# - L. Prechelt, "Early stopping - but when?", in *Neural Networks: Tricks of the
#   Trade*, 1998.
