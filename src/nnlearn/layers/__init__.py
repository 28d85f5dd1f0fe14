"""Layers: parameters plus a forward computation on Tensors (Keras's names), one module per
family:

- :mod:`.base`: the layer contract (:class:`Layer`), :class:`Input`;
- :mod:`.core`: Dense, Activation, PReLU, Flatten, Reshape;
- :mod:`.regularization`: Dropout, GaussianNoise, GaussianDropout;
- :mod:`.normalization`: BatchNormalization;
- :mod:`.convolutional`: Conv1D/Conv2D, pooling, zero padding;
- :mod:`.augmentation`: random flips, translations, rotations, zooms;
- :mod:`.recurrent`: SimpleRNN, LSTM, GRU, Bidirectional, TimeDistributed, Embedding.

``LAYERS`` maps each class name to its class (model files create layers through it).
"""

from __future__ import annotations

from .augmentation import (RandomFlip, RandomRotation, RandomTranslation, RandomZoom,
                           affine_images)
from .base import LAYERS, Input, Layer, RandomLayer, building, get
from .convolutional import (AveragePooling1D, AveragePooling2D, BaseConv, BasePooling, Conv1D,
                            Conv2D, GlobalAveragePooling1D, GlobalAveragePooling2D,
                            GlobalMaxPooling1D, GlobalMaxPooling2D, MaxPooling1D, MaxPooling2D,
                            ZeroPadding2D)
from .core import Activation, Dense, Flatten, PReLU, Reshape
from .merging import (MERGE_LAYERS, Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply,
                      Subtract)
from .normalization import BatchNormalization
from .recurrent import (GRU, LSTM, RECURRENT_LAYERS, Bidirectional, Embedding, SimpleRNN,
                        TimeDistributed)
from .regularization import Dropout, GaussianDropout, GaussianNoise


__all__ = ["Layer", "Input", "Dense", "Activation", "Dropout", "BatchNormalization",
           "Flatten", "PReLU", "get"]


LAYERS.update({cls.__name__: cls for cls in (Input, Dense, Activation, Dropout,
                                              BatchNormalization, Flatten, PReLU)})


CONVOLUTIONAL_LAYERS = (Conv1D, Conv2D, MaxPooling1D, MaxPooling2D, AveragePooling1D,
                        AveragePooling2D, GlobalAveragePooling1D, GlobalAveragePooling2D,
                        GlobalMaxPooling1D, GlobalMaxPooling2D, ZeroPadding2D, Reshape)
AUGMENTATION_LAYERS = (RandomFlip, RandomTranslation, RandomRotation, RandomZoom,
                       GaussianNoise, GaussianDropout)
LAYERS.update({cls.__name__: cls for cls in CONVOLUTIONAL_LAYERS + AUGMENTATION_LAYERS})
__all__ += [cls.__name__ for cls in CONVOLUTIONAL_LAYERS + AUGMENTATION_LAYERS]

LAYERS.update({cls.__name__: cls for cls in RECURRENT_LAYERS})
__all__ += [cls.__name__ for cls in RECURRENT_LAYERS]

LAYERS.update({cls.__name__: cls for cls in MERGE_LAYERS})  # functional models' merges
__all__ += [cls.__name__ for cls in MERGE_LAYERS]
