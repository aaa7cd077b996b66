"""The simulated beamline: a GDA + areaDetector-like SWMR writer, XRF spectra, scan positions."""
