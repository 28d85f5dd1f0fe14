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
# # Lesson 11 - Recurrent networks
#
# The networks so far map one fixed-size input to one output. Much data comes as
# sequences of varying length, where what matters is the order: a sentence, a sound, a
# sensor's readings. A recurrent network reads a sequence one step at a time and carries
# a *state* from each step to the next, so its answer at step $t$ can depend on
# everything it has read (Elman 1990). It is trained by backpropagation through time
# (Werbos 1990), which is lesson 5's algorithm applied to the network unrolled over the
# steps. And it is hard to train over long delays, for a reason the delta equations
# predict: the gradient through $T$ steps is a product of $T$ factors, which shrinks or
# grows exponentially (Hochreiter 1991; Bengio, Simard & Frasconi 1994). The LSTM
# (Hochreiter & Schmidhuber 1997) and the GRU (Cho et al. 2014) were designed around
# that product.
#
# ## The Elman network
#
# A simple recurrent network (`SimpleRNN`) with input $x_t$ and state $h_t$ computes
#
# $$
# h_t = \tanh\big(x_t W + h_{t-1} U + b\big), \qquad h_0 = 0 ,
# $$
#
# with the *same* weights $W$, $U$, $b$ at every step; a dense layer reads the last state
# $h_T$ (or every state) to produce the answer. Unrolled over $T$ steps it is a
# $T$-layer network whose layers share their weights, and backpropagation through it
# works as in lesson 5: the gradient of a shared weight is the sum of its gradients at
# every step.
#
# Here it forecasts a noisy sine wave one step ahead from windows of 40 values:

# %%
import numpy as np

import nnlearn as nl
from nnlearn import experiments

result = experiments.run("rnn-sine", quick=True)
sine = result.numbers
print(result.summary())
print("\nWhat to notice:", experiments.get("rnn-sine").notice)
assert sine["test_mse"] < 0.25 * sine["last_value_mse"]   # checked on every CI run
result.figures["forecast"]

# %% [markdown]
# Grey dots are the noisy observations and the black line the clean wave. The blue
# line is the one-step forecast, made from the 40 observed values before each point:
# it follows the clean wave and ignores most of the noise, and its test error is a
# fraction of the error of simply repeating the last value (printed above). The red
# dashed line is harder: after the first 40 steps the network is fed its own forecasts,
# never an observation. It keeps oscillating to the end, so the state has captured the
# wave's dynamics, not just its last values; but its period is a little short and its
# amplitude wanders, and since nothing corrects it, the phase drifts away from the truth
# within a few periods.
#
# ## Why gradients vanish (or explode) through time
#
# How much does the last state depend on an early one? By the chain rule through the
# unrolled network,
#
# $$
# \frac{\partial h_T}{\partial h_t} = \prod_{k=t+1}^{T} \frac{\partial h_k}{\partial
# h_{k-1}} = \prod_{k=t+1}^{T} U^\top \operatorname{diag}\big(1 - h_k^2\big) ,
# $$
#
# a product of $T - t$ matrices. Each factor has norm at most $\|U\|$ (the tanh slope
# $1 - h_k^2$ is at most 1), so if $\|U\| < 1$ the product shrinks at least like
# $\|U\|^{T-t}$: the error signal from the answer never reaches the early inputs, and
# the network cannot learn that they matter. If the largest singular value of $U$ is
# well above 1 and the units are not saturated, the product can instead grow
# exponentially: the gradient explodes. Neither depends on the data; it is the
# arithmetic of long products. The same happens in a deep feed-forward network (lesson
# 5's factor of $\sigma' \le 1/4$ per layer), but a recurrent network is as deep as its
# sequences are long.
#
# A worked example with a one-unit network, $h_t = \tanh(u\, h_{t-1} + w\, x_t)$ with
# $u = 0.9$, $w = 1$: the derivative of $h_T$ with respect to $h_0$ is $\prod_k u (1 -
# h_k^2)$. Computed by hand and by autograd on the same 30 inputs:

# %%
rng = np.random.default_rng(0)
xs, u, w = rng.uniform(-1, 1, 30), 0.9, 1.0
h, factors = 0.3, []
for x_t in xs:
    h = np.tanh(u * h + w * x_t)
    factors.append(u * (1 - h ** 2))
by_hand = np.cumprod(factors)                       # d h_t / d h_0 for t = 1..30

h0 = nl.Tensor(np.array(0.3), requires_grad=True, dtype="float64")
state, states = h0, []
for x_t in xs:
    state = nl.tanh(u * state + w * x_t)
    states.append(state)
for t in (1, 10, 20, 30):
    (by_autograd,) = nl.grad(states[t - 1], [h0])
    print(f"d h_{t:<2} / d h_0: by hand {by_hand[t - 1]:.3e}, autograd {float(by_autograd):.3e}")
    assert abs(by_hand[t - 1] - float(by_autograd)) < 1e-14

# %% [markdown]
# Even with $u = 0.9$, close to 1, the sensitivity of the state to where it started
# falls by more than half per step on average: about $3 \times 10^{-4}$ after 10 steps
# and $10^{-9}$ after 30. The factor $u(1 - h_k^2)$ is below 0.9 at every step, and
# much smaller whenever an input pushes the unit towards $\pm 1$.
#
# ## The LSTM and the GRU
#
# The LSTM (Hochreiter & Schmidhuber 1997, with the forget gate of Gers, Schmidhuber &
# Cummins 2000) adds a *cell state* $c_t$ next to $h_t$ and changes it only by gated
# addition:
#
# $$
# f_t, i_t, o_t = \sigma(\ldots), \qquad \tilde c_t = \tanh(\ldots), \qquad
# c_t = f_t \odot c_{t-1} + i_t \odot \tilde c_t, \qquad h_t = o_t \odot \tanh(c_t),
# $$
#
# where each gate is a sigmoid of $x_t W_\cdot + h_{t-1} U_\cdot + b_\cdot$ with its own
# weights. The forget gate $f_t$ decides how much of the old cell to keep, the input gate
# $i_t$ how much of the candidate $\tilde c_t$ to write, the output gate $o_t$ how much of
# the cell to show. Along the cell the derivative is
#
# $$
# \frac{\partial c_T}{\partial c_t} = \prod_{k=t+1}^{T} \operatorname{diag}(f_k)
# \quad (\text{along the direct path}),
# $$
#
# with no weight matrix and no tanh slope in it. When the network learns to hold the
# forget gate near 1, the product stays near 1 for as long as needed: the "constant
# error carousel" of the original paper. The GRU (Cho et al. 2014) merges the cell and
# the state and uses an update gate $z_t$ to interpolate, $h_t = z_t \odot h_{t-1} + (1
# - z_t) \odot \tilde h_t$, with the same effect when $z_t$ is near 1.
#
# The gates start where their initialization puts them. nnlearn's forget-gate bias
# starts at 1 (Jozefowicz, Zaremba & Sutskever 2015), so $f \approx \sigma(1) \approx
# 0.73$, and the GRU's update gate near $\sigma(0) = 0.5$. The experiment measures
# $\|\partial h_T / \partial x_t\|$ at initialization, then trains each network on
# Hochreiter & Schmidhuber's *adding problem*: a sequence of random numbers in $[0, 1]$,
# two of them marked, and the target is the sum of the two marked numbers. One mark is
# in the first half of the sequence, so the answer depends on an input up to $T$ steps
# back.

# %%
result = experiments.run("vanishing-gradients", quick=True)
vg = result.numbers
print(result.summary())
print("\nWhat to notice:", experiments.get("vanishing-gradients").notice)
result.figures["gradient_through_time"]

# %% [markdown]
# The left panel is at initialization, on a log scale: every curve falls in a straight
# line, an exponential decay with the steps back. Notice the order: the SimpleRNN's
# gradient reaches *further* back than the LSTM's, and the GRU's dies fastest. The
# gates are no head start: a forget gate of 0.73 alone multiplies the cell by 0.73 per step,
# $0.73^{50} \approx 10^{-7}$. What the gates provide is a path that training can
# open, and the right panel, after training on the adding problem with delay 50, shows
# it: the LSTM's answer now depends on inputs 50 steps back about as much as on the
# last ones (its curve is flat), the GRU's nearly so, while the SimpleRNN's gradient
# still drops by six orders of magnitude over the sequence.

# %%
at_init = vg["gradient_norm_50_steps_back"]
trained = vg["trained_gradient_first_over_last_step"]
print("at initialization, 50 steps back:", {k: f"{v:.1e}" for k, v in at_init.items()})
print("trained, first step / last step: ", {k: f"{v:.1e}" for k, v in trained.items()})
assert at_init["SimpleRNN"] > at_init["LSTM"] > at_init["GRU"]
assert trained["LSTM"] > 0.1 > 1e-3 > trained["SimpleRNN"]

# %% [markdown]
# The test error as the delay grows:

# %%
result.figures["adding_problem"]

# %% [markdown]
# Each point is one network trained from scratch on sequences of that length (16
# units, Adam, 8 epochs of 3,000 sequences). The dashed line is the error of always
# answering 1, the mean of the target: $1/6 \approx 0.167$ (exercise 3). At a delay of
# 10 all three networks solve the problem, the SimpleRNN with an error ten times the
# others'. At 25 and 50 the SimpleRNN is on the dashed line: it has learned nothing
# but the mean. The LSTM and GRU stay below 0.01 at every delay. The gap opens with the
# delay, as the product of factors predicts.

# %%
mse = vg["adding_problem_test_mse"]
for kind, row in mse.items():
    print(f"{kind:>9}: " + ", ".join(f"delay {d}: {v:.4f}" for d, v in row.items()))
assert mse["SimpleRNN"]["10"] < 0.01 < 0.1 < mse["SimpleRNN"]["25"]
assert all(v < 0.01 for kind in ("LSTM", "GRU") for v in mse[kind].values())

# %% [markdown]
# ## Exploding gradients and clipping
#
# The opposite failure is easier to fix. When the recurrent weights make the state grow
# (here a ReLU SimpleRNN whose recurrent matrix is 1.6 times an orthogonal one, so
# every direction is stretched by 1.6 per step), the gradient can jump by orders of
# magnitude from one batch to the next, and a single step of gradient descent throws
# the weights far away. Pascanu, Mikolov & Bengio (2013) proposed to rescale the
# gradient whenever its norm passes a threshold $\tau$:
#
# $$
# g \leftarrow g \cdot \frac{\tau}{\|g\|} \quad \text{if } \|g\| > \tau .
# $$
#
# The direction is kept and only the length is capped, so a step never goes further
# than $\alpha \tau$. In nnlearn every optimizer takes `clipnorm=` (and `clipvalue=`).

# %%
result.figures["clipping"]

# %% [markdown]
# Both runs start from the same weights and see the same batches. Left: the gradient
# norm before clipping, far above the threshold of 1 (dotted) from the first step.
# Without clipping (red) the first update multiplies the weights out of range and the
# next loss is not a number: the run is over after a step or two. With clipping (blue)
# the same gradients, cut to length 1, give a loss that falls steadily over 150 steps.
#
# ## Exercises
#
# **Exercise 1 (counting the weights of the three cells).** A recurrent layer with $n$
# inputs and $m$ units has, per gate, an $n \times m$ input matrix, an $m \times m$
# recurrent matrix and a bias. How many weights do `SimpleRNN(16)`, `LSTM(16)` and
# `GRU(16)` have on 2 inputs? Check with `count_params`.

# %% [markdown] tags=["solution"]
# *Solution.* SimpleRNN: one "gate", $16(2 + 16 + 1) = 304$. LSTM: four (forget,
# input, output, candidate), $4 \times 304 = 1{,}216$. GRU: three (update, reset,
# candidate), $3 \times 304 = 912$, plus $48$ because with `reset_after=True`
# (Keras's default) it keeps a second bias for the recurrent part: 960.

# %% tags=["solution"]
by_hand = {"SimpleRNN": 16 * (2 + 16 + 1), "LSTM": 4 * 16 * (2 + 16 + 1),
           "GRU": 3 * 16 * (2 + 16 + 1) + 3 * 16}
for kind, expected in by_hand.items():
    net = nl.Sequential([nl.layers.Input((50, 2)), getattr(nl.layers, kind)(16)])
    net.build((50, 2))
    print(f"{kind:>9}: by hand {expected}, count_params {net.count_params()}")
    assert net.count_params() == expected

# %% [markdown]
# **Exercise 2 (clipping by hand).** Take the gradient $g = (3, -4)$ and the threshold
# $\tau = 1$. Compute the clipped gradient, then check with an SGD optimizer built with
# `clipnorm=1.0` and learning rate 1 applied to a parameter at zero.

# %% [markdown] tags=["solution"]
# *Solution.* $\|g\| = 5 > 1$, so $g \leftarrow g / 5 = (0.6, -0.8)$: same direction,
# length 1. With learning rate 1 the parameter moves to $-(0.6, -0.8) = (-0.6, 0.8)$.

# %% tags=["solution"]
p = nl.Tensor(np.zeros(2), requires_grad=True, dtype="float64")
p.grad = np.array([3.0, -4.0])
nl.optimizers.SGD(1.0, clipnorm=1.0).apply([p])
print("parameter after one clipped step:", p.data)
assert np.allclose(p.data, [-0.6, 0.8])

# %% [markdown]
# **Exercise 3 (the baseline of the adding problem).** Show that always answering 1
# gives a mean squared error of $1/6$, and check on 100,000 generated sequences.

# %% [markdown] tags=["solution"]
# *Solution.* The target is $a + b$ with $a, b$ independent and uniform on $[0, 1]$.
# Its mean is 1 and its variance is $2 \times \tfrac{1}{12} = \tfrac16$. The error of
# the constant answer 1 is $E[(a + b - 1)^2] = \operatorname{Var}(a + b) = 1/6$, and no
# constant does better, because the mean minimises the expected squared error. A
# network at 0.167 has learned the mean and nothing about the marked numbers.

# %% tags=["solution"]
from nnlearn.datasets import make_adding_problem

_, targets = make_adding_problem(100_000, 10, random_state=0)
baseline = float(np.mean((targets - 1.0) ** 2))
print(f"MSE of always answering 1: {baseline:.4f} (1/6 = {1 / 6:.4f})")
assert abs(baseline - 1 / 6) < 0.005

# %% [markdown]
# **Exercise 4 (where the one-unit network forgets).** In the worked example, the
# factor per step was $u(1 - h_k^2)$. Show that with $u = 1.2$ and inputs scaled down to
# $0.1 x_t$ the product grows at first, and explain why it cannot grow for ever with a
# tanh unit.

# %% [markdown] tags=["solution"]
# *Solution.* With small inputs and $u > 1$ the state is pushed away from 0 step after
# step, and while $|h|$ is small the factor $u(1 - h^2)$ is above 1, so the product
# grows. But a growing state saturates the tanh: $h$ approaches the fixed point of $h =
# \tanh(1.2 h)$, about $\pm 0.66$, where the factor is $1.2 (1 - 0.66^2) \approx 0.68 <
# 1$, and the product decays again. A saturating unit cannot explode for long, which is
# why the clipping experiment uses ReLU units.

# %% tags=["solution"]
h, product, products = 0.01, 1.0, []
for x_t in xs:
    h = np.tanh(1.2 * h + 0.1 * x_t)
    product *= 1.2 * (1 - h ** 2)
    products.append(product)
print("d h_t / d h_0 at t = 1, 5, 10, 30:", np.array(products)[[0, 4, 9, 29]].round(4))
print(f"|h_30| = {abs(h):.3f}, fixed point of tanh(1.2 h): 0.658")
assert products[4] > 1 and products[29] < products[np.argmax(products)]

# %% [markdown]
# ## Sources
#
# - J. L. Elman, "Finding structure in time", *Cognitive Science* 14, 1990.
# - P. Werbos, "Backpropagation through time: what it does and how to do it",
#   *Proceedings of the IEEE* 78, 1990.
# - S. Hochreiter, *Untersuchungen zu dynamischen neuronalen Netzen*, diploma thesis,
#   TU Munich, 1991; Y. Bengio, P. Simard & P. Frasconi, "Learning long-term
#   dependencies with gradient descent is difficult", *IEEE Transactions on Neural
#   Networks* 5, 1994.
# - S. Hochreiter & J. Schmidhuber, "Long short-term memory", *Neural Computation* 9,
#   1997; F. Gers, J. Schmidhuber & F. Cummins, "Learning to forget: continual
#   prediction with LSTM", *Neural Computation* 12, 2000.
# - K. Cho et al., "Learning phrase representations using RNN encoder-decoder for
#   statistical machine translation", EMNLP 2014.
# - R. Jozefowicz, W. Zaremba & I. Sutskever, "An empirical exploration of recurrent
#   network architectures", ICML 2015.
# - R. Pascanu, T. Mikolov & Y. Bengio, "On the difficulty of training recurrent neural
#   networks", ICML 2013.
