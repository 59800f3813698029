"""Air quality: station daily values, period statistics and indices (HJ 663, GB 3095, HJ 633)."""
