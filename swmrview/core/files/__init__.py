"""Reading files: open and retry, layout discovery, NeXus and GDA conventions, detectors.

NXdata attributes are parsed and written in one place, :mod:`swmrview.core.files.nxdata`; the
default plot (``@default`` chain) and detector masks are :mod:`swmrview.core.files.nexus`'s."""
