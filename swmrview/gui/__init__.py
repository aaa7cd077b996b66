"""swmrview.gui: the only package importing PySide6 and pyqtgraph; thin views of swmrview.model."""
