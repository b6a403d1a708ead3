"""The compiled scorer: numpy-only preprocessing and trees, its artifact and its compiler.

``ml.lean.scorer``, ``trees``, ``maths``, ``artifact`` and ``process`` need numpy only;
``ml.lean.compile`` needs scikit-learn (it runs at training time).
"""

__all__ = ["artifact", "compile", "maths", "process", "scorer", "trees"]
