"""Following a scan: what every follower shares (polling, the end of a scan, the finished
flag), key datasets and their idle probe, growth of keyless files, index <-> position, and the
raw chunk (stored? where? its bytes, decoded), the lowest floor of core."""
