"""Independent test writers: real SWMR writer processes that are not the project's simulator.

``gda_writer`` writes a scan the way Diamond's GDA/Malcolm does (SPEC section 1, "How GDA really
writes"), so the follower, the model and the viewer are tested against a writer nobody tuned to
them. It shares no code with ``swmrview.tools.simulate``.
"""
