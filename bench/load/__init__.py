"""``make bench-load``: the pipeline under open-loop load, beside two baselines, on a stack of its own."""
