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
# # Lesson 7 - Initialization and normalization
#
# Gradient descent has to start somewhere. For a linear model any start will do: the
# loss is a bowl and every path leads to the bottom. For a network the starting weights
# decide whether training can begin at all. Start every weight at zero and every hidden
# unit computes the same thing and receives the same gradient, forever: the symmetry is
# never broken, so the weights must be random. Start them too small and the signal
# fades a little at every layer, until the top of a deep network sees nothing of its
# input and the bottom receives no gradient. Start them too large and the units
# saturate, where their slope, and with it the gradient, is zero. This lesson derives
# the right scale, measures what happens with the wrong ones in a ten-layer network, and
# ends with the two normalizations that keep the scale under control during training:
# standardizing the inputs and batch normalization.
#
# ## How the variance travels through a layer
#
# Take one layer $z_j = \sum_{i=1}^{n} w_{ij} x_i$ with $n$ inputs (the *fan-in*). Assume
# the weights are independent of the inputs and of each other, with mean 0 and
# variance $\operatorname{Var}(w)$, and the inputs have mean 0 and variance
# $\operatorname{Var}(x)$. The variance of a sum of independent terms is the sum of
# their variances, and the variance of a product of independent zero-mean factors is
# the product of their variances, so
#
# $$
# \operatorname{Var}(z_j) = n \operatorname{Var}(w) \operatorname{Var}(x) .
# $$
#
# Each layer multiplies the variance by $n \operatorname{Var}(w)$, and $L$ layers by its
# $L$-th power. Unless that factor is 1, the signal shrinks or grows exponentially with
# depth. Glorot & Bengio (2010) chose $\operatorname{Var}(w) = 1/n_{\text{in}}$ to keep
# the forward signal's variance, noticed that the backward pass multiplies the
# gradient's variance by $n_{\text{out}} \operatorname{Var}(w)$ instead, and proposed
# the compromise
#
# $$
# \operatorname{Var}(w) = \frac{2}{n_{\text{in}} + n_{\text{out}}} \qquad
# \text{(Glorot, or Xavier, initialization)},
# $$
#
# valid for units that are linear near zero, like tanh. (For a square layer, as in the
# experiment below, this is $1/n$: the experiment's "xavier" scales by
# $1/\sqrt{n_{\text{in}}}$, as Karpathy's CS231n notes do.) A ReLU sets half of its inputs
# to zero, which halves the second moment it passes on: $E[\operatorname{relu}(z)^2] =
# \tfrac12 \operatorname{Var}(z)$ for a symmetric $z$. He et al. (2015) compensated with
# twice the variance:
#
# $$
# \operatorname{Var}(w) = \frac{2}{n_{\text{in}}} \qquad \text{(He initialization, for
# ReLU)} .
# $$
#
# ## A worked example: ten layers of 100 units
#
# Feed 200 samples of unit-Gaussian noise through ten layers of 100 units, without
# biases, and measure the standard deviation of each layer's output (after Karpathy's
# CS231n lecture). With weights drawn with standard deviation 0.01, the factor per
# layer is $\sqrt{n} \times 0.01 = \sqrt{100} \times 0.01 = 0.1$ (tanh is nearly the
# identity at such small inputs), so we predict $0.1, 0.01, 0.001, \dots$; with standard
# deviation 1 the factor is 10, and tanh saturates at $\pm 1$ from the first layer:

# %%
import numpy as np

import nnlearn as nl
from nnlearn import diagnostics, experiments, plot
from nnlearn.layers import Dense, Input

result = experiments.run("initialization", quick=True)
numbers = result.numbers
print(result.summary())
print("\nWhat to notice:", experiments.get("initialization").notice)
predicted = 0.1 ** np.arange(1, 11)
measured = np.array(numbers["0.01 tanh"]["std"])
print("\nx0.01 tanh, measured / predicted per layer:", (measured / predicted).round(2))
assert np.all(np.abs(measured / predicted - 1) < 0.1)     # checked on every CI run

# %% [markdown]
# The measured standard deviations of the x0.01 network are within a few percent of the
# prediction $0.1^\ell$: after ten layers the signal is $10^{-10}$ of its input. The
# figure shows all five schemes on shared axes:

# %%
result.figures["comparison"]

# %% [markdown]
# On the left (linear scale) x0.01 (blue) is at zero from the second layer, and x1.0
# (orange) sits at 0.96, the standard deviation of a unit that is almost always at
# $-1$ or $+1$: saturated, so its slope $1 - \tanh^2$ and every gradient through it
# nearly vanish. Xavier with tanh (green) decays slowly, from 0.62 to about 0.2 after
# ten layers: tanh shrinks everything that is not near zero, so the factor per layer
# is a little below 1. Xavier with ReLU (red) decays faster, because ReLU halves the
# second moment, exactly the factor $1/2$ He's rule compensates: He with ReLU (purple)
# stays between 0.8 and 1.0 through all ten layers. The right panel, on a log scale,
# shows the x0.01 network's straight line, one decade per layer.
#
# Each scheme also has its own figure with the per-layer histograms of the
# activations, on the same axes for every scheme:

# %%
result.figures["0.01_tanh"]

# %% [markdown]
# For x0.01 every histogram after the first is a spike at zero: the network's output is
# nearly the same for every input. Compare He's:

# %%
result.figures["he_relu"]

# %% [markdown]
# With He's scale each ReLU layer has the same shape of histogram: a spike at zero (the
# half of the units that are off) and a tail of positive values of the same spread from
# layer to layer. The signal is as strong at layer ten as at layer one.
#
# ## Standardizing the inputs
#
# The derivation assumed inputs of mean 0 and variance 1. Raw features rarely are: a
# feature measured in thousands next to one measured in fractions gives the first layer
# a variance set by the largest feature, and makes the loss surface an elongated valley
# (lesson 6). Standardizing each feature with the training set's mean and standard
# deviation,
#
# $$
# x'_{ni} = \frac{x_{ni} - \mu_i}{\sigma_i}, \qquad \mu_i = \frac1N \sum_n x_{ni}, \quad
# \sigma_i^2 = \frac1N \sum_n (x_{ni} - \mu_i)^2 ,
# $$
#
# gives the first layer the input the initialization was designed for
# (`nl.preprocessing.StandardScaler`). The same measurement on a network of your own,
# six ReLU layers with He's initialization, fed features of mean 5 and standard
# deviation 3 after standardizing:

# %%
he = [Dense(50, activation="relu", kernel_initializer="he_normal") for _ in range(6)]
model = nl.Sequential([Input(50)] + he, seed=0)
x = nl.preprocessing.StandardScaler().fit_transform(
    np.random.default_rng(0).normal(5.0, 3.0, (200, 50)))
stats = diagnostics.activation_statistics(model, x)
print("layer std:", [round(s["std"], 2) for s in stats])
assert all(0.5 < s["std"] < 1.5 for s in stats)
plot.plot_activation_stats(stats, title="6 relu layers, He, standardized inputs",
                           ylim={"mean": (0.0, 1.5), "std": (0.0, 1.5)})

# %% [markdown]
# The standard deviation stays between 0.8 and 1.4 over the six layers: no exponential
# decay or growth, only the random wander of 50-unit layers (wider layers wander less,
# as the 100-unit network above did). Note the fixed scales (`ylim=`): on its own
# automatic scale that wander would look like an explosion.
#
# ## Batch normalization
#
# Initialization sets the scale at the start; training changes the weights, and with
# them the distribution each layer receives. Batch normalization (Ioffe & Szegedy 2015)
# standardizes each unit's input over the current mini-batch $B$, then lets the network
# choose the scale and shift it wants:
#
# $$
# \hat x_i = \frac{x_i - \mu_B}{\sqrt{\sigma_B^2 + \epsilon}}, \qquad
# y_i = \gamma\, \hat x_i + \beta ,
# $$
#
# with $\mu_B$, $\sigma_B^2$ the batch's mean and (biased) variance per unit, and
# $\gamma$, $\beta$ learned. At inference there is no batch, so the layer uses running
# averages of $\mu_B$ and $\sigma_B^2$ collected during training. It lets deep networks
# train with larger learning rates and makes them much less sensitive to the
# initialization; the price is that a sample's output depends on the other samples of
# its batch during training (exercise 3 checks the formula against nnlearn's
# `BatchNormalization`).
#
# ## Where it fails
#
# The variance argument is about the start of training and about averages: it assumes
# independent weights and inputs of mean zero, which ReLU outputs are not (their mean
# is positive), and it says nothing about what the weights become after a thousand
# updates. Recurrent networks multiply by the same matrix at every step, so the right
# variance is not enough and orthogonal initialization is often used (lesson 11). And
# batch normalization behaves badly with tiny batches, where $\mu_B$ and $\sigma_B^2$ are
# noisy estimates; layer normalization, which standardizes over the units of one
# sample instead, was introduced for that case.
#
# ## Exercises
#
# **Exercise 1 (predict the decay).** Draw the weights of a ten-layer, 100-unit tanh
# network with standard deviation 0.05, feed it unit-Gaussian inputs, and predict the
# standard deviation of layer 3 before measuring it.

# %% [markdown] tags=["solution"]
# *Solution.* The factor per layer is $\sqrt{100} \times 0.05 = 0.5$ while the units are
# near their linear range, so layer 3 should have about $0.5^3 = 0.125$. Each layer's
# pre-activations have a standard deviation of about 0.5, where tanh already bends
# (it squeezes large inputs), and one random draw of $100 \times 100$ weights is not
# exactly average, so the measurement comes out about 20% lower, near 0.1: the
# prediction gives the order of magnitude, and the decay of about half per layer.

# %% tags=["solution"]
from functools import partial

init = partial(nl.initializers.random_normal, stddev=0.05)
net = nl.Sequential([Input(100)] + [Dense(100, activation="tanh", use_bias=False,
                                          kernel_initializer=init) for _ in range(10)],
                    seed=0, dtype="float64")
inputs = np.random.default_rng(0).standard_normal((500, 100))
layer_std = [s["std"] for s in diagnostics.activation_statistics(net, inputs)]
print("predicted 0.5^l:", (0.5 ** np.arange(1, 4)).round(3), " measured:",
      np.round(layer_std[:3], 3))
assert 0.08 < layer_std[2] < 0.13
assert all(0.35 < b / a < 0.55 for a, b in zip([1.0] + layer_std[:9], layer_std))

# %% [markdown]
# **Exercise 2 (where He's factor 2 comes from).** For $z \sim N(0, 1)$, estimate
# $E[\operatorname{relu}(z)^2]$ by simulation and explain the result.

# %% [markdown] tags=["solution"]
# *Solution.* $\operatorname{relu}(z)^2$ equals $z^2$ when $z > 0$ and 0 otherwise; by
# symmetry the positive half carries half of $E[z^2] = 1$, so the answer is $1/2$. A
# ReLU layer passes on half the second moment it receives, and doubling the weight
# variance puts it back.

# %% tags=["solution"]
z = np.random.default_rng(0).standard_normal(1_000_000)
second_moment = np.mean(np.maximum(z, 0) ** 2)
print(f"E[relu(z)^2] = {second_moment:.4f}")
assert abs(second_moment - 0.5) < 0.005

# %% [markdown]
# **Exercise 3 (batch normalization by hand).** Put a batch of 8 samples with 3
# features through `BatchNormalization()` in training mode (its $\gamma = 1$, $\beta = 0$
# at the start) and compare with the formula, with Keras's $\epsilon = 10^{-3}$.

# %% [markdown] tags=["solution"]
# *Solution.* Per feature, subtract the batch mean and divide by $\sqrt{\sigma_B^2 +
# \epsilon}$ with the biased variance (divided by 8, not 7). Each output column then
# has mean 0 and a standard deviation just under 1 (the $\epsilon$).

# %% tags=["solution"]
batch = np.random.default_rng(1).normal(3.0, 2.0, (8, 3))
layer = nl.layers.BatchNormalization()
bn_net = nl.Sequential([Input(3), layer], seed=0, dtype="float64")
bn_net.build((3,))
library = layer(nl.Tensor(batch, dtype="float64"), training=True).data
by_hand = (batch - batch.mean(axis=0)) / np.sqrt(batch.var(axis=0) + 1e-3)
print("largest difference:", np.abs(library - by_hand).max())
print("column means:", library.mean(axis=0).round(12), " stds:", library.std(axis=0).round(4))
assert np.allclose(library, by_hand, atol=1e-12)

# %% [markdown]
# **Exercise 4 (zero initialization).** Initialize a 2-8-1 network's weights to zero,
# train it on XOR for 200 epochs, and look at the hidden layer's kernel. Why is it what
# it is?

# %% [markdown] tags=["solution"]
# *Solution.* Nothing moves. Every hidden unit outputs $\tanh(0) = 0$, so the output
# weights get zero gradient (a weight's gradient is its input times the delta of the
# unit it enters, lesson 5). The hidden weights get zero gradient because the output
# weights, which carry the delta back, are zero. Only the output bias could move, and
# with XOR's balanced targets its gradient is zero too: the network answers 0.5 for
# every input, for ever. Even with a nonzero constant instead of zero, all hidden units
# would compute the same output and receive the same gradient: they would move, but as
# identical copies, and eight identical units are one unit. Random initial weights break
# that symmetry.

# %% tags=["solution"]
X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype="float64")
Y = np.array([0, 1, 1, 0])
zero_net = nl.Sequential([Input(2), Dense(8, activation="tanh", kernel_initializer="zeros"),
                          Dense(1, activation="sigmoid", kernel_initializer="zeros")],
                         seed=0, dtype="float64")
zero_net.compile(nl.optimizers.SGD(0.5), "binary_crossentropy")
zero_net.fit(X, Y, epochs=200, batch_size=4, verbose=0)
kernel = zero_net.layers[1].kernel.data
print("hidden kernel:\n", kernel.round(4))
print("outputs:", zero_net.predict(X).ravel().round(3))
assert np.all(kernel == 0) and np.allclose(zero_net.predict(X), 0.5)

# %% [markdown]
# ## Sources
#
# - X. Glorot & Y. Bengio, "Understanding the difficulty of training deep feedforward
#   neural networks", AISTATS 2010.
# - K. He, X. Zhang, S. Ren & J. Sun, "Delving deep into rectifiers: surpassing
#   human-level performance on ImageNet classification", ICCV 2015.
# - S. Ioffe & C. Szegedy, "Batch normalization: accelerating deep network training by
#   reducing internal covariate shift", ICML 2015.
# - J. L. Ba, J. R. Kiros & G. E. Hinton, "Layer normalization", arXiv:1607.06450, 2016.
# - A. Karpathy, *CS231n*, lecture on training neural networks (the ten-layer
#   activation statistics).
# - Y. LeCun, L. Bottou, G. Orr & K.-R. Müller, "Efficient backprop", in *Neural
#   Networks: Tricks of the Trade*, 1998 (standardized inputs, fan-in scaling).
