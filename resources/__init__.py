"""Icons and desktop entry, shipped as the package swmrview.resources."""
