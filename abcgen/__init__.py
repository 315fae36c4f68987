"""abcgen: learn folk tunes from ABC notation, write new ones, repair, render and print them."""

__version__ = "0.1.0"

__all__ = ["__version__"]
