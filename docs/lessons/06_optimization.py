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
# # Lesson 6 - Optimization
#
# Backpropagation (lesson 5) gives the gradient $g = \nabla_\theta J(\theta)$ of the
# loss with respect to every parameter. What to *do* with the gradient is a separate
# question, and the answer matters as much as the architecture: the same network, from
# the same initial weights, can be stuck near chance after a hundred epochs of one
# update rule and fit perfectly after a hundred epochs of another. This lesson writes
# each classic update rule as equations, runs them on a problem small enough to draw,
# an elongated quadratic bowl, and then on a network.
#
# Notation: $\theta_t$ are the parameters after $t$ updates, $g_t$ the gradient of the
# mini-batch loss at $\theta_{t-1}$, $\alpha$ the learning rate; squares, square roots
# and divisions of vectors are elementwise.
#
# ## Gradient descent and why it is slow
#
# Gradient descent (Cauchy 1847) steps against the gradient; computed on a random
# mini-batch instead of the whole training set it is *stochastic* gradient descent
# (Robbins & Monro 1951):
#
# $$
# \theta_t = \theta_{t-1} - \alpha\, g_t .
# $$
#
# Its weakness shows on a quadratic with different curvatures in different
# directions. Take $J(x, y) = \tfrac12 (x^2 + 50 y^2)$: curvature 1 along $x$ and 50
# along $y$, a long narrow valley. The gradient is $(x, 50y)$, so one step multiplies
# each coordinate by its own factor:
#
# $$
# x_t = (1 - \alpha)\, x_{t-1}, \qquad y_t = (1 - 50\alpha)\, y_{t-1} .
# $$
#
# The steep direction diverges unless $|1 - 50\alpha| < 1$, that is $\alpha < 2/50 =
# 0.04$. With the largest safe rate, say $\alpha = 0.035$, the factor along $y$ is
# $-0.75$: $y$ flips sign at every step (the zig-zag across the valley), while the
# factor along $x$ is $0.965$, so after 100 steps $x$ has only shrunk from $-4$ to
# $-4 \times 0.965^{100} \approx -0.11$. The ratio of the largest to the smallest
# curvature (the *condition number*, 50 here) sets how slow gradient descent is, and
# the loss surfaces of networks have condition numbers in the thousands. Every method
# below is a way around this.

# %%
import numpy as np

import nnlearn as nl
from nnlearn import datasets, experiments, plot
from nnlearn.experiments.training import BOWL_OPTIMIZERS, bowl, optimizer_path
from nnlearn.layers import Dense, Input

path = optimizer_path(BOWL_OPTIMIZERS["SGD"](), start=(-4.0, 1.0), steps=100)
print("SGD, lr 0.035: y after steps 1-6:", path[1:7, 1].round(4))
print(f"x after 100 steps: {path[-1, 0]:.4f}  (formula -4 x 0.965^100 = {-4 * 0.965**100:.4f})")

# %% [markdown]
# The library's SGD reproduces the formula: $y$ alternates in sign with shrinking
# magnitude ($-0.75$, $0.5625$, ...) and $x$ ends at $-0.1134$, as computed by hand.
#
# ## Momentum and Nesterov's accelerated gradient
#
# Momentum (Polyak 1964) keeps a velocity $v$, a decaying sum of past steps, and moves
# along it:
#
# $$
# v_t = \mu\, v_{t-1} - \alpha\, g_t, \qquad \theta_t = \theta_{t-1} + v_t .
# $$
#
# Along the valley floor the gradients point the same way step after step and the
# velocity builds up to $-\alpha g / (1 - \mu)$, ten times the plain step for the usual
# $\mu = 0.9$ (exercise 3). Across the valley the gradients alternate in sign and
# largely cancel in $v$. Nesterov's accelerated gradient (Nesterov 1983; used for
# networks by Sutskever et al. 2013) evaluates the gradient at the point the momentum
# is about to carry the parameters to, $\theta_{t-1} + \mu v_{t-1}$, which corrects an
# overshoot one step earlier. Rewritten in terms of the look-ahead point (Bengio et al.
# 2013), which is how nnlearn implements it, the rule uses the ordinary gradient:
#
# $$
# v_t = \mu\, v_{t-1} - \alpha\, g_t, \qquad
# \theta_t = \theta_{t-1} + \mu\, v_t - \alpha\, g_t .
# $$
#
# ## Adaptive learning rates: Adagrad, RMSprop, Adadelta
#
# The other route is to give each parameter its own learning rate, large where the
# gradients have been small and small where they have been large, which on the bowl
# means dividing the $y$ step by something like 50. Adagrad (Duchi, Hazan & Singer
# 2011) divides by the root of the sum of all past squared gradients:
#
# $$
# G_t = G_{t-1} + g_t^2, \qquad \theta_t = \theta_{t-1} - \frac{\alpha}{\sqrt{G_t +
# \epsilon}}\, g_t .
# $$
#
# Because $G$ only grows, Adagrad's effective rate shrinks like $1/\sqrt t$, and
# training can stop long before the minimum (exercise 2). RMSprop (Tieleman & Hinton,
# lecture 6e of their 2012 course) replaces the sum by an exponentially decaying
# average, so old gradients are forgotten:
#
# $$
# s_t = \rho\, s_{t-1} + (1 - \rho)\, g_t^2, \qquad
# \theta_t = \theta_{t-1} - \frac{\alpha}{\sqrt{s_t + \epsilon}}\, g_t .
# $$
#
# Adadelta (Zeiler 2012) goes one step further. Zeiler noticed that the units of the
# update $\alpha g$ are not the units of $\theta$ (they are the units of
# $1/\theta$ times those of the loss), and that Newton's step $H^{-1} g$ has the right
# units. Approximating the inverse curvature by the ratio of the recent update sizes
# to the recent gradient sizes gives a rule with no learning rate at all:
#
# $$
# \Delta\theta_t = -\frac{\sqrt{E[\Delta\theta^2]_{t-1} + \epsilon}}
#                       {\sqrt{E[g^2]_t + \epsilon}}\, g_t, \qquad
# \theta_t = \theta_{t-1} + \Delta\theta_t ,
# $$
#
# where $E[\cdot]$ are decaying averages like RMSprop's $s$, with decay $\rho = 0.95$.
#
# ## Adam
#
# Adam (Kingma & Ba 2015) combines a decaying average of the gradients (momentum's
# direction) with a decaying average of their squares (RMSprop's scale), and corrects
# both for starting at zero:
#
# $$
# m_t = \beta_1 m_{t-1} + (1-\beta_1)\, g_t, \qquad
# v_t = \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2,
# $$
#
# $$
# \hat m_t = \frac{m_t}{1 - \beta_1^t}, \qquad \hat v_t = \frac{v_t}{1 - \beta_2^t},
# \qquad \theta_t = \theta_{t-1} - \alpha\, \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon} .
# $$
#
# With the defaults $\beta_1 = 0.9$, $\beta_2 = 0.999$, the raw averages after one step
# are $0.1 g$ and $0.001 g^2$, far too small; the divisions by $1 - \beta^t$ undo exactly
# that. The ratio $\hat m / \sqrt{\hat v}$ is about $\pm 1$ when the gradient is
# consistent and near 0 when it is noise, so $\alpha$ is roughly the largest distance a
# parameter moves in one step, whatever the scale of its gradient. Nadam (Dozat 2016)
# puts Nesterov's look-ahead into Adam's momentum, and AMSGrad (Reddi, Kale & Kumar
# 2018) divides by the running maximum of $\hat v$ to repair a case where Adam does not
# converge; both are in `nl.optimizers`.
#
# ## One step by hand
#
# From the start $(-4, 1)$ the gradient of the bowl is $g_1 = (-4, 50)$. Here is the
# first step of each rule computed from the equations, next to the library's step,
# with the learning rates of the experiment below:

# %%
g1 = np.array([-4.0, 50.0])
start = np.array([-4.0, 1.0])
by_hand = {
    "SGD": start - 0.035 * g1,
    "momentum": start + (-0.01 * g1),                      # v_1 = -alpha g_1
    "Nesterov": start + 0.9 * (-0.01 * g1) - 0.01 * g1,
    "Adagrad": start - 1.0 / np.sqrt(0.1 + g1**2 + 1e-7) * g1,   # G_0 = 0.1 (Keras)
    "RMSprop": start - 0.05 / np.sqrt(0.1 * g1**2 + 1e-7) * g1,  # rho = 0.9
    "Adam": start - 0.2 * g1 / (np.sqrt(g1**2) + 1e-7),          # m_hat = g, v_hat = g^2
}
print(f"{'rule':>9} {'by hand':>24} {'nnlearn':>24}")
for name, expected in by_hand.items():
    step = optimizer_path(BOWL_OPTIMIZERS[name](), start=tuple(start), steps=1)[1]
    print(f"{name:>9} {str(expected.round(6)):>24} {str(step.round(6)):>24}")
    assert np.allclose(step, expected, rtol=1e-9, atol=1e-12)

# %% [markdown]
# Look at the sizes of the steps in each coordinate. Plain SGD moves $y$ by 1.75 and
# $x$ by 0.14, the ratio of the gradients: it overshoots the valley floor to $y = -0.75$.
# The adaptive methods move both coordinates by nearly the same amount: RMSprop by
# $0.05/\sqrt{0.1} \approx 0.158$, Adam by exactly its learning rate 0.2, because after
# one step $\hat m_1 / \sqrt{\hat v_1} = g_1/|g_1| = \pm 1$. Adagrad's first step is
# nearly 1 in each coordinate, since $G_1 \approx g_1^2$. Dividing by the gradient's own
# size is what "adapting the rate per parameter" means.
#
# ## On the bowl

# %%
result = experiments.run("optimizers", quick=True)
print(result.summary())
print("\nWhat to notice:", experiments.get("optimizers").notice)

# %%
on_bowl = result.numbers["bowl"]
assert on_bowl["RMSprop"]["final_loss"] == max(m["final_loss"] for m in on_bowl.values())
assert on_bowl["Adagrad"]["final_loss"] < 1e-10 < on_bowl["SGD"]["final_loss"]
result.figures["bowl_paths"]

# %% [markdown]
# All six paths start at the black square $(-4, 1)$ and should end at the star. SGD
# (blue) crosses the valley at every step, as the formula predicts, and creeps along
# it. Momentum (orange) swings wide: its velocity carries it past the floor, and the
# oscillation decays only slowly with $\mu = 0.9$; Nesterov's look-ahead (green) damps
# the same swings within a few steps. Adagrad, RMSprop and Adam first move diagonally,
# both coordinates at the same speed; Adagrad and RMSprop then follow the valley floor,
# while Adam's momentum carries it past the floor in a wide, slow arc. After 100
# steps SGD's loss is still about $6 \times 10^{-3}$, while Adagrad's, whose rate per
# coordinate happens to match this quadratic's curvatures, is $10^{-14}$. RMSprop ends
# worst of all, at $1.6 \times 10^{-2}$: its steps do not shrink as the gradient does
# (each is about $\alpha$ divided by the gradient's recent size, times the gradient), so
# with a fixed learning rate it keeps stepping back and forth across the minimum
# instead of settling into it (a learning rate that decays over the steps, one of
# `nnlearn.schedules`, lets it settle).
#
# ## On a network
#
# The bowl has two parameters and one valley. The second figure trains a 2-16-16-2
# network on XOR-like data with three of the rules, from the same initial weights:

# %%
result.figures["network_loss"]

# %% [markdown]
# With the same learning rate 0.01, SGD's loss has hardly moved after 15 epochs, while
# momentum and Adam have driven it close to zero. Your own comparison on a harder
# problem, two interleaved spirals, with a 2-32-32-2 tanh network (150 epochs, batches
# of 32, the same initial weights for every rule):

# %%
X, y = datasets.make_spiral(200, noise=0.05, random_state=0)


def spiral_net():
    return nl.Sequential([Input(2), Dense(32, activation="tanh"), Dense(32, activation="tanh"),
                          Dense(2, activation="softmax")], seed=0)


curves = nl.optimizers.compare(
    spiral_net, {"SGD": nl.optimizers.SGD(0.05),
                 "momentum": nl.optimizers.SGD(0.05, momentum=0.9),
                 "RMSprop": nl.optimizers.RMSprop(0.01),
                 "Adam": nl.optimizers.Adam(0.01)},
    X, y, epochs=150, batch_size=32, loss="sparse_categorical_crossentropy", seed=0)
for name, curve in curves.items():
    print(f"{name:>8}: loss in epoch 1 {curve[0]:.3f} -> in epoch 150 {curve[-1]:.3f}")
assert curves["Adam"][-1] < 0.5 * curves["SGD"][-1]      # checked on every CI run
assert curves["SGD"][-1] > 0.9 * curves["SGD"][0] - 0.1
plot.plot_history(curves, title="two spirals, 2-32-32-2 tanh: training loss per epoch")

# %% [markdown]
# The spiral is a hard problem for a small network: the loss stays near $\ln 2 \approx
# 0.69$ (guessing) for a long time whatever the rule, because the network first has to
# find features that unwind the spirals. Plain SGD is still on that plateau after 150
# epochs. Momentum, RMSprop and Adam leave it between epochs 40 and 70 (momentum with
# a few spikes, steps that overshot), and Adam ends lowest, at about a fifth of SGD's
# loss. The ordering on the bowl and on the network is not the
# same (Adagrad was best on the bowl), which is the practical lesson: no rule wins
# everywhere, and Adam's popularity comes from being rarely bad with its default
# settings, not from being always best (Wilson et al. 2017 show cases where plain SGD
# generalizes better).
#
# ## Beyond first-order methods
#
# The rules above use only gradients. Newton's method also uses the curvature, the
# Hessian $H$, and steps $\theta_t = \theta_{t-1} - H^{-1} g_t$, which on a quadratic
# reaches the minimum in one step whatever the condition number. For networks $H$ has
# $P^2$ entries, too many to store, so practical methods approximate it. Conjugate
# gradient (Fletcher & Reeves 1964) builds search directions that do not undo each
# other's progress; L-BFGS (Liu & Nocedal 1989) keeps a low-rank estimate of $H^{-1}$
# from the last few gradient differences; Levenberg-Marquardt (Levenberg 1944;
# Marquardt 1963) solves the least-squares case with the Gauss-Newton approximation
# $J^\top J + \lambda I$ of the Hessian. Rprop (Riedmiller & Braun 1993) ignores the
# gradient's size and uses only its sign, with a per-weight step that grows while the
# sign holds and shrinks when it flips; Quickprop (Fahlman 1988) fits a parabola
# through the last two gradients of each weight. These methods take full-batch
# steps and line searches, so they suit small networks and small data sets:

# %%
result = experiments.run("second-order", quick=True)
print("What to notice:", experiments.get("second-order").notice)
result.figures["sin_loss"]

# %% [markdown]
# On the 1-3-1 sine network the loss is plotted against iterations: L-BFGS, conjugate
# gradient and Levenberg-Marquardt reach the target loss in tens of iterations, where
# gradient descent does not get there in the thousand iterations shown. Each of their iterations is more
# expensive (a line search, a linear solve), so the comparison in seconds is closer.

# %%
result.figures["xor_loss"]

# %% [markdown]
# On the 2-2-1 XOR network the picture changes: Levenberg-Marquardt and both Rprops stop
# on a plateau of the error surface at 0.125, where the network answers 0.5 for two of
# the four inputs (each then adds $0.5^2 = 0.25$ to the squared errors, and the mean over
# four is 0.125): two inputs left undecided. Conjugate gradient stops higher, at 0.167.
# These are the kind of region we met in lesson 5. L-BFGS and Quickprop solve it
# fastest, and the three first-order methods get through, slowly. Fewer iterations is not the
# same as more reliable.
#
# ## Exercises
#
# **Exercise 1 (the stability limit).** For gradient descent on $J = \tfrac12(x^2 +
# 50y^2)$, predict what happens with $\alpha = 0.045$, then check with nnlearn's SGD
# for 30 steps from $(-4, 1)$.

# %% [markdown] tags=["solution"]
# *Solution.* The factor along $y$ is $1 - 50 \times 0.045 = -1.25$, of size greater
# than one: $y$ flips sign and grows by 25% at each step, $|y_{30}| = 1.25^{30} \approx
# 808$, while $x$ still converges (factor 0.955). A learning rate just above $2/\lambda_
# {\max}$ diverges, whatever happens in the other directions.

# %% tags=["solution"]
path = optimizer_path(nl.optimizers.SGD(0.045), start=(-4.0, 1.0), steps=30)
print("y at steps 28-30:", path[-3:, 1].round(2), " formula 1.25^30 =", round(1.25**30, 2))
assert np.isclose(abs(path[-1, 1]), 1.25**30, rtol=1e-9)
assert abs(path[-1, 0]) < 4

# %% [markdown]
# **Exercise 2 (Adagrad's vanishing rate).** Minimize $f(w) = 3w$ (constant gradient 3)
# with Adagrad, $\alpha = 1$ and $G_0 = 0.1$. What is the size of step $t$? How far has
# $w$ moved after 100 steps, and after 10,000?

# %% [markdown] tags=["solution"]
# *Solution.* $G_t = 0.1 + 9t$, so step $t$ has size $3 / \sqrt{0.1 + 9t} \approx
# 1/\sqrt t$. The distance after $T$ steps is $\sum_{t \le T} 1/\sqrt t \approx 2
# \sqrt T$: about 19 after 100 steps and about 200 after 10,000, although the gradient
# never changed. On a problem that needs a long walk, Adagrad slows down by itself;
# RMSprop's forgetting average keeps the step near $\alpha$.

# %% tags=["solution"]
w = nl.Tensor(np.array([0.0]), requires_grad=True, dtype="float64")
adagrad = nl.optimizers.Adagrad(1.0)
positions = []
for t in range(100):
    w.grad = np.array([3.0])
    adagrad.apply([w])
    positions.append(-w.data[0])
steps = np.diff([0.0] + positions)
expected = 3 / np.sqrt(0.1 + 9 * np.arange(1, 101) + 1e-7)
print("steps 1, 10, 100:", steps[[0, 9, 99]].round(4), " formula:", expected[[0, 9, 99]].round(4))
print(f"distance after 100 steps: {positions[-1]:.2f}")
assert np.allclose(steps, expected, rtol=1e-6)

# %% [markdown]
# **Exercise 3 (momentum's terminal velocity).** With a constant gradient $g$, show
# that momentum's velocity tends to $-\alpha g / (1 - \mu)$. Check it with $\mu = 0.9$,
# $\alpha = 0.01$, $g = 1$ after 200 steps.

# %% [markdown] tags=["solution"]
# *Solution.* $v_t = \mu v_{t-1} - \alpha g$ is a linear recursion with fixed point
# $v^* = -\alpha g / (1 - \mu)$, reached geometrically: $v_t - v^* = \mu^t (v_0 - v^*)$.
# With $\mu = 0.9$ the step becomes ten times the plain step, $-0.1$, after a few dozen
# steps ($0.9^{50} \approx 0.005$). That is the acceleration along the valley floor.

# %% tags=["solution"]
w = nl.Tensor(np.array([0.0]), requires_grad=True, dtype="float64")
momentum = nl.optimizers.SGD(0.01, momentum=0.9)
previous = 0.0
for t in range(200):
    w.grad = np.array([1.0])
    momentum.apply([w])
    step, previous = w.data[0] - previous, w.data[0]
print(f"step after 200 updates: {step:.6f}   formula -alpha g / (1 - mu) = {-0.01 / 0.1:.6f}")
assert np.isclose(step, -0.1, rtol=1e-6)

# %% [markdown]
# **Exercise 4 (Adam is invariant to the gradient's scale).** Multiply the loss by
# 1000. What happens to the path of SGD, and to the path of Adam? Check on the bowl.

# %% [markdown] tags=["solution"]
# *Solution.* SGD's steps are 1000 times larger (and diverge: the stability limit drops
# to $2/50000$). Adam's ratio $\hat m / \sqrt{\hat v}$ does not change when every
# gradient is multiplied by the same constant (up to the tiny $\epsilon$), so its path
# is the same. This is why Adam's default learning rate works across very different
# problems.

# %% tags=["solution"]
def scaled_path(optimizer, scale, steps=50):
    w = nl.Tensor(np.array([-4.0, 1.0]), requires_grad=True, dtype="float64")

    def closure():
        w.grad = None
        loss = scale * bowl(w[0], w[1])
        loss.backward()
        return loss.item()

    points = [w.data.copy()]
    for _ in range(steps):
        optimizer.minimize([w], closure)
        points.append(w.data.copy())
    return np.array(points)


adam_1, adam_1000 = scaled_path(nl.optimizers.Adam(0.2), 1), scaled_path(nl.optimizers.Adam(0.2), 1000)
print("largest difference between Adam's two paths:", np.abs(adam_1 - adam_1000).max())
with np.errstate(all="ignore"):
    sgd_1000 = scaled_path(nl.optimizers.SGD(0.035), 1000, steps=5)
print("SGD on 1000 x the loss, y after 5 steps:", sgd_1000[-1, 1])
assert np.abs(adam_1 - adam_1000).max() < 1e-6 and abs(sgd_1000[-1, 1]) > 1e6

# %% [markdown]
# ## Sources
#
# - H. Robbins & S. Monro, "A stochastic approximation method", *Annals of
#   Mathematical Statistics* 22, 1951.
# - B. T. Polyak, "Some methods of speeding up the convergence of iteration methods",
#   *USSR Computational Mathematics and Mathematical Physics* 4, 1964.
# - Y. Nesterov, "A method for solving the convex programming problem with convergence
#   rate O(1/k^2)", *Soviet Mathematics Doklady* 27, 1983; I. Sutskever, J. Martens,
#   G. Dahl & G. Hinton, "On the importance of initialization and momentum in deep
#   learning", ICML 2013; Y. Bengio, N. Boulanger-Lewandowski & R. Pascanu, "Advances in
#   optimizing recurrent networks", ICASSP 2013.
# - J. Duchi, E. Hazan & Y. Singer, "Adaptive subgradient methods for online learning
#   and stochastic optimization", *JMLR* 12, 2011.
# - T. Tieleman & G. Hinton, lecture 6e "rmsprop", *Neural Networks for Machine
#   Learning*, Coursera, 2012.
# - M. D. Zeiler, "ADADELTA: an adaptive learning rate method", arXiv:1212.5701, 2012.
# - D. P. Kingma & J. Ba, "Adam: a method for stochastic optimization", ICLR 2015;
#   T. Dozat, "Incorporating Nesterov momentum into Adam", ICLR workshop 2016;
#   S. Reddi, S. Kale & S. Kumar, "On the convergence of Adam and beyond", ICLR 2018.
# - A. Wilson, R. Roelofs, M. Stern, N. Srebro & B. Recht, "The marginal value of
#   adaptive gradient methods in machine learning", NeurIPS 2017.
# - R. Fletcher & C. Reeves, "Function minimization by conjugate gradients", 1964;
#   D. Liu & J. Nocedal, "On the limited memory BFGS method for large scale
#   optimization", 1989; K. Levenberg, 1944; D. Marquardt, 1963; M. Riedmiller &
#   H. Braun, "A direct adaptive method for faster backpropagation learning: the RPROP
#   algorithm", 1993; S. Fahlman, "An empirical study of learning speed in
#   back-propagation networks", 1988.
