"""affectlens: hybrid lexicon-plus-neural sentiment and emotion inference.

Importing this package is cheap and changes nothing global; heavy dependencies are imported
inside the functions that need them.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
