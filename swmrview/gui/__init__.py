"""The desktop viewer: the only package of swmrview that imports PySide6 and pyqtgraph.

``swmrview.gui.options`` stays Qt-free so the command line can build options before Qt loads.
"""
