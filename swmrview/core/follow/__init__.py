"""Following a scan: key datasets, growth of keyless files, the finished flag, index <-> position."""
