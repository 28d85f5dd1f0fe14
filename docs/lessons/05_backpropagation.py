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
# # Lesson 5 - Multilayer networks and backpropagation
#
# A single neuron draws one straight line through its input space, so no single neuron
# computes XOR (lesson 2). Put a layer of nonlinear *hidden* units between the inputs and
# the output and the network can bend its decision boundary: two hidden units are
# enough for XOR. The difficulty is training. The perceptron rule knows what the
# output should have been, but nobody tells a hidden unit what *it* should have output.
# Backpropagation answers this: write the loss as a composition of simple functions,
# and the chain rule of calculus gives the derivative of the loss with respect to every
# weight, hidden or not, at the cost of one extra pass through the network. Werbos
# described the method in 1974 and applied it to networks in 1982; Rumelhart, Hinton &
# Williams (1986) showed on computers that it makes hidden units learn useful features,
# and it has been the way networks are trained ever since.
#
# This lesson derives backpropagation by hand on the smallest interesting network, a
# 2-2-1 network, computes every gradient with the network's actual initial weights,
# and checks every number against nnlearn's automatic differentiation. Then it opens
# the computation graph that the automatic differentiation builds, trains the network
# on XOR, and shows where the method struggles.
#
# ## The 2-2-1 network
#
# The network reads a row vector $x = (x_1, x_2)$. Its hidden layer has a weight matrix
# $W^{(1)}$ of shape 2 x 2 (entry $W^{(1)}_{kj}$ connects input $k$ to hidden unit
# $j$; nnlearn stores it as `kernel`, inputs along the rows) and a bias $b^{(1)}$; its
# output unit has weights $w^{(2)}$ (one per hidden unit) and a bias $b^{(2)}$. Both
# layers use the logistic sigmoid $\sigma(z) = 1 / (1 + e^{-z})$, and the loss of one
# sample with target $y$ is the squared error. The forward pass is four lines:
#
# $$
# z^{(1)} = x\,W^{(1)} + b^{(1)}, \qquad h = \sigma\big(z^{(1)}\big), \qquad
# z^{(2)} = h \cdot w^{(2)} + b^{(2)}, \qquad \hat y = \sigma\big(z^{(2)}\big),
# $$
#
# $$
# L = (\hat y - y)^2 .
# $$
#
# We call $z$ a *pre-activation* (what enters a unit's nonlinearity) and $h$, $\hat y$
# the *activations*. The sigmoid has a derivative that is easy to write with its own
# output, which is why the early networks used it: $\sigma'(z) = \sigma(z)\,(1 -
# \sigma(z))$. Its largest value is $1/4$, at $z = 0$; remember this for the end of the
# lesson.

# %%
import numpy as np

import nnlearn as nl
from nnlearn import autograd, experiments, plot
from nnlearn.layers import Dense, Input

model = nl.Sequential([Input(2), Dense(2, activation="sigmoid"),
                       Dense(1, activation="sigmoid")], seed=0, dtype="float64")
model.build((2,))
hidden, output = model.layers[1], model.layers[2]
W1, b1 = hidden.kernel.data.copy(), hidden.bias.data.copy()
w2, b2 = output.kernel.data[:, 0].copy(), output.bias.data[0]
print("W1 =", W1.round(4).tolist(), " b1 =", b1.tolist())
print("w2 =", w2.round(4).tolist(), "          b2 =", b2)

# %% [markdown]
# These are the weights nnlearn drew for this network with `seed=0` (Glorot's uniform
# initialization for the kernels, zeros for the biases; lesson 7 explains the choice).
# We compute in float64 so that the hand computation and the library can agree to
# twelve digits.
#
# ## The chain rule, and why it is enough
#
# The loss depends on a hidden weight such as $W^{(1)}_{11}$ only through a chain:
# the weight changes $z^{(1)}_1$, which changes $h_1$, which changes $z^{(2)}$, which
# changes $\hat y$, which changes $L$. The chain rule multiplies the local derivative
# of each link:
#
# $$
# \frac{\partial L}{\partial W^{(1)}_{11}}
# = \frac{\partial L}{\partial \hat y}\,
#   \frac{\partial \hat y}{\partial z^{(2)}}\,
#   \frac{\partial z^{(2)}}{\partial h_1}\,
#   \frac{\partial h_1}{\partial z^{(1)}_1}\,
#   \frac{\partial z^{(1)}_1}{\partial W^{(1)}_{11}}
# = 2(\hat y - y)\;\hat y(1-\hat y)\;w^{(2)}_1\;h_1(1-h_1)\;x_1 .
# $$
#
# When a quantity influences the loss along several paths (an input feeding two hidden
# units, a hidden unit feeding two outputs), the multivariable chain rule *adds* the
# products along the paths: $\partial L / \partial a = \sum_i (\partial L / \partial
# q_i)(\partial q_i / \partial a)$ over the quantities $q_i$ that $a$ feeds.
#
# Written this way every weight's derivative is a long product, and the products of
# different weights share most of their factors. Backpropagation is the bookkeeping
# that computes each shared factor once. Name the derivative of the loss with respect
# to a unit's pre-activation its *delta*, $\delta = \partial L / \partial z$. Then:
#
# $$
# \delta^{(2)} = \frac{\partial L}{\partial z^{(2)}} = 2(\hat y - y)\,\hat y\,(1-\hat y),
# \qquad
# \delta^{(1)}_j = \frac{\partial L}{\partial z^{(1)}_j}
#               = \delta^{(2)}\, w^{(2)}_j\, h_j (1 - h_j),
# $$
#
# and each weight's gradient is the delta of the unit it enters times the activation
# that travels along it:
#
# $$
# \frac{\partial L}{\partial w^{(2)}_j} = \delta^{(2)} h_j, \qquad
# \frac{\partial L}{\partial b^{(2)}} = \delta^{(2)}, \qquad
# \frac{\partial L}{\partial W^{(1)}_{kj}} = x_k\, \delta^{(1)}_j, \qquad
# \frac{\partial L}{\partial b^{(1)}_j} = \delta^{(1)}_j .
# $$
#
# Read the second delta equation from right to left: the error signal of the output
# unit travels *backwards* along the same weight $w^{(2)}_j$ that carried $h_j$
# forwards, and is scaled by the slope of hidden unit $j$ at its current input. That
# is the whole algorithm. The forward pass stores $x$, $h$ and $\hat y$; the backward
# pass computes $\delta^{(2)}$, sends it back to get $\delta^{(1)}$, and reads off all
# nine gradients as products of a delta and a stored activation.
#
# ## A worked example with the network's weights
#
# Take the XOR sample $x = (1, 0)$ with target $y = 1$. First the forward pass, with
# the weights printed above:

# %%
def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


x, y = np.array([1.0, 0.0]), 1.0
z1 = x @ W1 + b1
h = sigmoid(z1)
z2 = h @ w2 + b2
y_hat = sigmoid(z2)
L = (y_hat - y) ** 2
print(f"z1 = {z1.round(6)}   h = {h.round(6)}")
print(f"z2 = {z2:.6f}   y_hat = {y_hat:.6f}   L = {L:.6f}")

# %% [markdown]
# With $x_2 = 0$ only the first row of $W^{(1)}$ matters in the forward pass:
# $z^{(1)} = (W^{(1)}_{11}, W^{(1)}_{12})$. The first hidden unit sits a little above
# one half, the second a little below, and the output, about 0.72, is too small for the
# target 1, so the loss is about 0.079. Now the backward pass, one delta equation per
# line:

# %%
delta2 = 2 * (y_hat - y) * y_hat * (1 - y_hat)
grad_w2, grad_b2 = delta2 * h, delta2
delta1 = delta2 * w2 * h * (1 - h)
grad_W1, grad_b1 = np.outer(x, delta1) + 0.0, delta1   # + 0.0: no -0.0
print(f"delta2 = 2 ({y_hat:.4f} - 1) x {y_hat:.4f} x {1 - y_hat:.4f} = {delta2:.6f}")
for j in range(2):
    print(f"delta1[{j}] = {delta2:.4f} x {w2[j]:.4f} x {h[j]:.4f} x {1 - h[j]:.4f} "
          f"= {delta1[j]:.6f}")

# %% [markdown]
# The output's delta is negative: increasing $z^{(2)}$ would lower the loss, so gradient
# descent will raise it. Both hidden deltas are negative as well, because both output
# weights $w^{(2)}_j$ are positive: making either hidden unit more active would help.
# The second hidden delta is larger in size because its outgoing weight is larger. The
# second row of the weight gradient is exactly zero: those weights carried $x_2 = 0$,
# so nudging them changes nothing for this sample.
#
# Now let nnlearn compute the same gradients by itself. The model's forward pass builds
# a computation graph, the library's mean squared error is the loss, and `backward()`
# fills each weight's `.grad`. Side by side:

# %%
prediction = model(x[None, :], training=True)
loss = nl.losses.get("mse")(np.array([[y]]), prediction)
loss.backward()
rows = [("W1[0,0]", grad_W1[0, 0], hidden.kernel.grad[0, 0]),
        ("W1[0,1]", grad_W1[0, 1], hidden.kernel.grad[0, 1]),
        ("W1[1,0]", grad_W1[1, 0], hidden.kernel.grad[1, 0]),
        ("W1[1,1]", grad_W1[1, 1], hidden.kernel.grad[1, 1]),
        ("b1[0]", grad_b1[0], hidden.bias.grad[0]),
        ("b1[1]", grad_b1[1], hidden.bias.grad[1]),
        ("w2[0]", grad_w2[0], output.kernel.grad[0, 0]),
        ("w2[1]", grad_w2[1], output.kernel.grad[1, 0]),
        ("b2", grad_b2, output.bias.grad[0])]
print(f"loss: by hand {L:.15f}, nnlearn {loss.item():.15f}")
print(f"{'parameter':>9} {'by hand':>20} {'autograd':>20} {'difference':>11}")
for name, by_hand, by_autograd in rows:
    print(f"{name:>9} {by_hand:20.15f} {by_autograd:20.15f} {abs(by_hand - by_autograd):11.1e}")
largest = max(abs(a - b) for _, a, b in rows)
assert largest < 1e-12 and abs(L - loss.item()) < 1e-12   # checked on every CI run
print("largest difference:", largest)

# %% [markdown]
# All nine gradients agree to within rounding (a difference of 0 or a few units in the
# sixteenth digit). Nothing in nnlearn knows about the delta equations: its `Dense` layer
# records a matrix product, a bias addition and a sigmoid, each with its own local
# derivative, and the engine multiplies those local derivatives from the loss
# backwards. The delta equations *are* what that mechanical procedure computes.
#
# ## The computation graph
#
# To see the mechanism, build the same forward pass from single operations on tensors
# and ask `autograd.graph` for the graph. Each node holds its forward value and its
# gradient $\partial L / \partial \text{node}$; `steps()` prints the forward values,
# then the gradients in the order the backward pass finishes them.

# %%
T = lambda a: nl.Tensor(np.asarray(a, dtype="float64"), requires_grad=True)  # noqa: E731
tx, tW1, tb1, tw2, tb2 = T(x[None, :]), T(W1), T(b1), T(w2[:, None]), T(np.array([b2]))
txW1 = tx @ tW1
tz1 = txW1 + tb1
th = autograd.sigmoid(tz1)
thw2 = th @ tw2
tz2 = thw2 + tb2
ty_hat = autograd.sigmoid(tz2)
te = ty_hat - y
tL = (te ** 2).sum()
names = {"x": tx, "W1": tW1, "b1": tb1, "w2": tw2, "b2": tb2, "xW1": txW1, "z1": tz1,
         "h": th, "hw2": thw2, "z2": tz2, "y_hat": ty_hat, "e": te, "L": tL}
g = autograd.graph(tL, names=names)
print(g.steps())

# %% [markdown]
# Read the backward list from the top. The seed is $\partial L / \partial L = 1$. Then
# come the square (`pow`, whose gradient is 1 because the sum passes it on) and the error
# $e = \hat y - y$, whose gradient is $2e$; then $\hat y$ (the same, since $y$ is a
# constant); then $z^{(2)}$, whose gradient is $\delta^{(2)}$; the product $h w^{(2)}$
# (the addition of $b^{(2)}$ passes $\delta^{(2)}$ on unchanged); $h$, that is
# $\delta^{(2)} w^{(2)\top}$; $z^{(1)}$, which is $\delta^{(1)}$; and the product
# $x W^{(1)}$. The leaves (the weights, the biases and the input) come last: they were
# made before any operation, and the list runs from the newest node to the oldest. Every
# node is visited only after all the nodes that use it, so its gradient is complete when
# its turn comes. The graph's deltas are the ones we computed by hand:

# %%
order = [g.nodes[i].label for i in g.backward_order]
assert order[:10] == ["L", "pow", "e", "y_hat", "z2", "hw2", "h", "z1", "xW1", "b2"]
assert set(order[9:]) == {"x", "W1", "b1", "w2", "b2"}    # the leaves, last
assert np.allclose(g["e"].grad, 2 * (y_hat - y), rtol=0, atol=1e-12)
assert np.allclose(g["z2"].grad, delta2, rtol=0, atol=1e-12)
assert np.allclose(g["z1"].grad, delta1, rtol=0, atol=1e-12)
print("graph: delta2 =", g["z2"].grad.ravel(), " delta1 =", g["z1"].grad.ravel())
plot.draw_graph(g, direction="TB")

# %% [markdown]
# The figure reads from top to bottom, as the forward pass runs. The leaves (blue) are
# the input $x$, the two weight matrices and the two biases, each drawn beside the
# operation that first uses it. Yellow boxes are results of operations, grey ones are
# constants (the target 1). Each box shows the forward value on its second line and
# the gradient on its third. Follow the gradient from the bottom up: it starts at 1 at
# $L$, becomes negative at $\hat y$ (the output is too small), shrinks
# by the factor $\hat y(1 - \hat y) \approx 0.2$ at the output sigmoid, and arrives at the
# leaves. The leaf $x$ also gets a gradient: the derivative of the loss with respect to
# the input, which is what saliency maps and adversarial examples use.
#
# The backward pass is a sequence of steps. Here is the graph after the first five,
# with the gradients not yet known marked "?":

# %%
plot.draw_graph(g, step=5, direction="TB")

# %% [markdown]
# After five steps the backward pass has reached $z^{(2)}$ (outlined in red) and knows
# the output delta, but nothing about the hidden layer yet: every hidden gradient is
# still a question mark. The next step passes $\delta^{(2)}$ through the addition to the
# product $h w^{(2)}$ (and to $b^{(2)}$); the one after applies the product's local
# derivative, which gives the gradients of $h$ and of $w^{(2)}$ together ($w^{(2)}$, a
# leaf, is listed with the other leaves at the end).
#
# ## The algorithm for any depth, and what it costs
#
# Nothing above depends on the network having two layers. For a batch of $N$ samples
# stacked as the rows of $A^{(0)} = X$, with $Z^{(l)} = A^{(l-1)} W^{(l)} + b^{(l)}$ and
# $A^{(l)} = \varphi(Z^{(l)})$ for $l = 1, \dots, L$, the four equations of
# backpropagation are
#
# $$
# \Delta^{(L)} = \nabla_{A^{(L)}} J \odot \varphi'\big(Z^{(L)}\big), \qquad
# \Delta^{(l)} = \big(\Delta^{(l+1)} W^{(l+1)\top}\big) \odot \varphi'\big(Z^{(l)}\big),
# $$
#
# $$
# \nabla_{W^{(l)}} J = A^{(l-1)\top} \Delta^{(l)}, \qquad
# \nabla_{b^{(l)}} J = \mathbf 1^\top \Delta^{(l)} ,
# $$
#
# where $\odot$ multiplies elementwise and row $n$ of $\Delta^{(l)}$ is the delta of
# sample $n$. The weight gradient sums one outer product per sample; a loss that
# averages over the batch divides by $N$. Nielsen (2015, ch. 2) names these BP1 to BP4.
#
# The cost is the remarkable part. The backward pass does one matrix product per layer
# for the deltas and one for the weight gradients, about twice the work of the forward
# pass, whatever the number of weights. The obvious alternative, nudging each weight
# and re-running the network (a finite difference), needs one or two forward passes
# *per weight*: two million forward passes for a network with a million weights.
# Finite differences remain useful as a check of an implementation, because they are
# too simple to get wrong; `autograd.gradcheck` does exactly that for any function of
# tensors (exercise 3 does it by hand).
#
# ## Training the 2-2-1 network on XOR
#
# With gradients in hand, training is lesson 3's gradient descent: subtract a small
# multiple of the gradient from every weight, over and over. Here is the same network,
# squared error and plain gradient descent on all four XOR samples at once, as in
# Rumelhart, Hinton & Williams' experiments:

# %%
X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype="float64")
Y = np.array([0, 1, 1, 0])


def xor_net(hidden_units, seed):
    net = nl.Sequential([Input(2), Dense(hidden_units, activation="sigmoid"),
                         Dense(1, activation="sigmoid")], seed=seed, dtype="float64")
    net.compile(optimizer=nl.optimizers.SGD(0.5), loss="mse")
    return net


net = xor_net(2, seed=0)
history = net.fit(X, Y, epochs=2000, batch_size=4, verbose=0)
print("outputs after training:", net.predict(X).ravel().round(3))
curve = history.history["loss"]
print(f"loss at epochs 1, 500, 2000: {curve[0]:.3f}, {curve[499]:.3f}, {curve[-1]:.3f}")
assert abs(curve[499] - 0.25) < 0.01 and curve[-1] < 0.05   # the plateau, then the drop
plot.plot_history(history, title="2-2-1 network on XOR: squared error per epoch")

# %% [markdown]
# The loss curve has the shape that made backpropagation famous for its patience: a
# long plateau near 0.25 (the loss of answering one half for every input), then a
# drop once the hidden units have specialised. The decision regions show how the two
# hidden units cut the plane with two lines, and the output unit combines them:

# %%
plot.plot_decision_boundary(net, X, Y, title="2-2-1 network after training: XOR")

# %% [markdown]
# ## Where it fails
#
# Backpropagation computes the exact gradient; it does not promise that following the
# gradient leads anywhere good. The error surface of a network is not a bowl. Train
# the same 2-2-1 network from ten different random starts, then a 2-4-1 network from
# the same ten seeds:

# %%
solved = {}
for units in (2, 4):
    solved[units] = []
    for seed in range(10):
        trial = xor_net(units, seed)
        trial.fit(X, Y, epochs=2000, batch_size=4, verbose=0)
        solved[units].append(bool((trial.predict(X).ravel().round() == Y).all()))
    print(f"2-{units}-1: XOR solved from {sum(solved[units])} of 10 starts")
assert sum(solved[2]) < 10 and sum(solved[4]) == 10   # checked on every CI run

# %% [markdown]
# Several of the 2-2-1 starts end with a network that gets one or two of the four
# inputs wrong: gradient descent settled in a region where every small change makes
# the loss worse (a local minimum) or flat enough that 2000 steps do not cross it.
# Rumelhart et al. reported the same thing for XOR. With four hidden units every start
# succeeds: more units than strictly necessary give the surface more ways down, which
# is one reason practical networks are larger than the smallest one that could work.
#
# Two other limits come straight out of the delta equations. Each layer multiplies the
# delta by $\varphi'(z)$, and for the sigmoid that factor is at most $1/4$; with weights
# of moderate size, the delta of a unit ten layers down is smaller than the output's by
# a factor of order $4^{-10} \approx 10^{-6}$, so the lower layers barely learn. This
# *vanishing gradient* is why deep networks moved to ReLU units and careful
# initialization (lesson 7) and why recurrent networks needed the LSTM (lesson 11).
# And backpropagation needs derivatives: the threshold units of McCulloch & Pitts and
# of Rosenblatt's perceptron have derivative zero everywhere it exists, so no error
# signal passes through them. Replacing the step by a smooth sigmoid is what made
# multilayer learning possible.
#
# ## What a hidden layer buys
#
# How much can one hidden layer represent? Cybenko (1989) and Hornik, Stinchcombe &
# White (1989) proved that one hidden layer of sigmoid units, with enough units,
# approximates any continuous function on a bounded region as closely as you like. The
# theorem says nothing about how many units are needed or whether gradient descent
# finds the weights. The two experiments below show both sides on small problems:
# first logic gates (one neuron against the 2-2-1 network), then a curve.

# %%
result = experiments.run("logic-gates", quick=True)
print(result.summary())
print("\nWhat to notice:", experiments.get("logic-gates").notice)
result.figures["decision_regions"]

# %% [markdown]
# A single sigmoid neuron learns AND and OR, but on XOR its best answer is 0.5
# everywhere: the panel is flat. The network with two hidden units separates the two
# classes. The next experiment fits $y = \sin(\pi x)$ plus noise with three sigmoid
# hidden units:

# %%
result = experiments.run("sin-regression", quick=True)
print(result.summary())
print("\nWhat to notice:", experiments.get("sin-regression").notice)
result.figures["fit"]

# %% [markdown]
# Each hidden unit contributes one smooth step to the output, and three steps with
# different positions, slopes and signs are enough to follow one period of the sine.
#
# ## Exercises
#
# Each exercise has a worked solution below it; try it yourself first.
#
# **Exercise 1 (cross-entropy at the output).** Replace the squared error by the
# binary cross-entropy $L = -y \ln \hat y - (1-y) \ln(1-\hat y)$, keeping the sigmoid
# output. Derive $\delta^{(2)} = \partial L / \partial z^{(2)}$ and show that the factor
# $\hat y(1 - \hat y)$ cancels. Check your formula against autograd on the worked
# example's network and sample.

# %% [markdown] tags=["solution"]
# *Solution.* $\partial L / \partial \hat y = -y / \hat y + (1 - y)/(1 - \hat y) =
# (\hat y - y) / (\hat y (1 - \hat y))$. Multiplying by $\partial \hat y / \partial z^{(2)}
# = \hat y (1 - \hat y)$ leaves $\delta^{(2)} = \hat y - y$. The rest of the backward pass
# is unchanged: only the output delta depends on the loss. Because the sigmoid's slope
# no longer multiplies the output delta, a confidently wrong output (a saturated
# sigmoid) still gets a large gradient, which is why cross-entropy trains classifiers
# faster than squared error.

# %% tags=["solution"]
for p in (hidden.kernel, hidden.bias, output.kernel, output.bias):
    p.grad = None
prediction = model(x[None, :], training=True)
loss = nl.losses.get("binary_crossentropy")(np.array([[y]]), prediction)
loss.backward()
delta2_ce = y_hat - y
print("dL/db2: formula", delta2_ce, " autograd", output.bias.grad[0])
print("dL/dw2: formula", delta2_ce * h, " autograd", output.kernel.grad[:, 0])
assert np.allclose(output.bias.grad[0], delta2_ce, atol=1e-12)
assert np.allclose(output.kernel.grad[:, 0], delta2_ce * h, atol=1e-12)

# %% [markdown]
# **Exercise 2 (tanh hidden units).** Use $\tanh$ in the hidden layer instead of the
# sigmoid (keep the sigmoid output and the squared error). Which delta equation
# changes, and how? Compute the nine gradients by hand for the same weights and sample
# and compare them with autograd.

# %% [markdown] tags=["solution"]
# *Solution.* Only the hidden delta changes, through the slope of the hidden unit:
# $\tanh'(z) = 1 - \tanh^2(z)$, so $\delta^{(1)}_j = \delta^{(2)} w^{(2)}_j (1 - h_j^2)$
# with $h = \tanh(z^{(1)})$. The output delta and the gradient formulas keep their form,
# but their numbers change because $h$ does.

# %% tags=["solution"]
h_t = np.tanh(x @ W1 + b1)
y_hat_t = sigmoid(h_t @ w2 + b2)
delta2_t = 2 * (y_hat_t - y) * y_hat_t * (1 - y_hat_t)
delta1_t = delta2_t * w2 * (1 - h_t ** 2)
by_hand = np.concatenate([np.outer(x, delta1_t).ravel(), delta1_t, delta2_t * h_t,
                          [delta2_t]])
tanh_net = nl.Sequential([Input(2), Dense(2, activation="tanh"),
                          Dense(1, activation="sigmoid")], seed=0, dtype="float64")
tanh_net.build((2,))
for layer, source in zip(tanh_net.layers[1:], (hidden, output)):
    layer.kernel.data[...] = source.kernel.data
    layer.bias.data[...] = source.bias.data
loss = nl.losses.get("mse")(np.array([[y]]), tanh_net(x[None, :], training=True))
loss.backward()
by_autograd = np.concatenate([p.grad.ravel() for layer in tanh_net.layers[1:]
                              for p in (layer.kernel, layer.bias)])
print("by hand: ", by_hand.round(6))
print("autograd:", by_autograd.round(6))
assert np.max(np.abs(by_hand - by_autograd)) < 1e-12

# %% [markdown]
# **Exercise 3 (a gradient check by finite differences).** For every one of the nine
# parameters of the sigmoid network, estimate $\partial L / \partial \theta$ by the
# central difference $(L(\theta + \epsilon) - L(\theta - \epsilon)) / 2\epsilon$ with
# $\epsilon = 10^{-5}$, and compare with the hand-computed gradients of the worked
# example. How large is the disagreement, and why is it not zero?

# %% [markdown] tags=["solution"]
# *Solution.* The central difference has an error proportional to $\epsilon^2$ times
# the third derivative (the Taylor terms of even order cancel), about $10^{-10}$ here,
# plus rounding error of order $10^{-16}/\epsilon \approx 10^{-11}$. So we expect
# agreement to about ten digits, not sixteen. The check costs 18 forward passes for 9
# parameters; backpropagation got all nine from one forward and one backward pass.

# %% tags=["solution"]
def squared_error(W1_, b1_, w2_, b2_):
    return (sigmoid(sigmoid(x @ W1_ + b1_) @ w2_ + b2_) - y) ** 2


params = [W1, b1, w2, np.array([b2])]
analytic = [grad_W1, grad_b1, grad_w2, np.array([grad_b2])]
eps, worst = 1e-5, 0.0
for p, (array, exact) in enumerate(zip(params, analytic)):
    for index in np.ndindex(array.shape):
        plus = [a.copy() for a in params]
        minus = [a.copy() for a in params]
        plus[p][index] += eps
        minus[p][index] -= eps
        numeric = (squared_error(*plus[:3], plus[3][0])
                   - squared_error(*minus[:3], minus[3][0])) / (2 * eps)
        worst = max(worst, abs(numeric - exact[index]))
print(f"largest |central difference - backpropagation| = {worst:.1e}")
assert worst < 1e-9

# %% [markdown]
# **Exercise 4 (a batch).** The library's loss for a batch is the mean over the samples.
# Compute the gradient of the mean squared error over all four XOR samples with the
# matrix form of the delta equations ($\nabla_{W^{(1)}} J = X^\top \Delta^{(1)}$ and so on,
# with $J$ the mean, so each delta carries a factor $1/N$), and compare with autograd.

# %% [markdown] tags=["solution"]
# *Solution.* Stack the samples as rows. The output deltas form a column
# $\Delta^{(2)} = \tfrac{2}{N}(\hat Y - Y) \odot \hat Y \odot (1 - \hat Y)$; the hidden
# deltas are $\Delta^{(1)} = (\Delta^{(2)} w^{(2)\top}) \odot H \odot (1 - H)$; each
# weight gradient is a matrix product that sums the per-sample outer products.

# %% tags=["solution"]
for p in (hidden.kernel, hidden.bias, output.kernel, output.bias):
    p.grad = None
H = sigmoid(X @ W1 + b1)
Y_hat = sigmoid(H @ w2[:, None] + b2)
D2 = 2 / len(X) * (Y_hat - Y[:, None]) * Y_hat * (1 - Y_hat)
D1 = (D2 @ w2[None, :]) * H * (1 - H)
batch_by_hand = [X.T @ D1, D1.sum(axis=0), H.T @ D2, D2.sum(axis=0)]
loss = nl.losses.get("mse")(Y[:, None].astype(float), model(X, training=True))
loss.backward()
batch_autograd = [hidden.kernel.grad, hidden.bias.grad, output.kernel.grad, output.bias.grad]
for name, a, b in zip(("W1", "b1", "w2", "b2"), batch_by_hand, batch_autograd):
    print(f"{name}: by hand {a.ravel().round(6)}  autograd {b.ravel().round(6)}")
    assert np.max(np.abs(a - b)) < 1e-12

# %% [markdown]
# ## Sources
#
# - P. Werbos, *Beyond Regression: New Tools for Prediction and Analysis in the
#   Behavioral Sciences*, PhD thesis, Harvard, 1974.
# - D. E. Rumelhart, G. E. Hinton & R. J. Williams, "Learning representations by
#   back-propagating errors", *Nature* 323, 533-536, 1986.
# - G. Cybenko, "Approximation by superpositions of a sigmoidal function", *Mathematics
#   of Control, Signals and Systems* 2, 1989; K. Hornik, M. Stinchcombe & H. White,
#   "Multilayer feedforward networks are universal approximators", *Neural Networks* 2,
#   1989.
# - M. Nielsen, *Neural Networks and Deep Learning*, ch. 2, 2015 (the four equations).
# - A. Karpathy, micrograd, 2020 (a scalar autograd engine whose `draw_dot` inspired
#   `plot.draw_graph`; nnlearn's tests check that both give the same values and
#   gradients on micrograd's example).
