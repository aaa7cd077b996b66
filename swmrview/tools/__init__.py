"""Command-line tools built on swmrview.core: simulate, replay, batch maps."""
