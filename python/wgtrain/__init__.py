"""wgtrain: scikit-learn's MLPClassifier and MLPRegressor trained on any GPU through WebGPU.

``from wgtrain.sklearn import MLPClassifier`` is a drop-in for scikit-learn's; ``wgtrain.devices()`` lists the
adapters; ``wgtrain.load(path)`` reads a model file written by ``est.save(path)`` or the ``wgtrain`` command line.
"""

from ._model import load
from ._native import devices

__all__ = ["devices", "load"]
__version__ = "0.1.0"
