"""Reading files: open and retry, layout discovery, NeXus and GDA conventions, detectors."""
