"""diffsal: audio-visual video saliency prediction with diffusion (DiffSal, CVPR 2024)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("diffsal")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

from diffsal.errors import DiffSalError, InputError, MediaError

__all__ = ["DiffSalError", "InputError", "MediaError", "__version__"]
