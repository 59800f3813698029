"""envq maps: folium rendering of results and geometries, a leaf package (nothing imports it but
the flows and the command line). Built in the maps issue."""
