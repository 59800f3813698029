"""envq geometry pack and spatial joins (cities, counties, basins, rivers, lakes, stations,
sections). Built in the geometry issue; depends on :mod:`envq` only."""
