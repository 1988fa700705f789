"""Writing to the target: engine fast paths, bascule's own bookkeeping tables."""
