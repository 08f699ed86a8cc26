"""An example bsx plugin package: one attribution method, one cue extractor, one metric."""
