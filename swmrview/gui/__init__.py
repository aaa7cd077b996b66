"""swmrview.gui: the only package that imports PySide6 and pyqtgraph; thin views of swmrview.model."""
