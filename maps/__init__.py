"""envq maps: self-contained folium pages of the results, a leaf package (nothing imports it but
the flows and the command line).

- :mod:`maps.render`: :func:`~maps.render.render_maps` writes every page of a period from the store;
- :mod:`maps.air`, :mod:`maps.water`, :mod:`maps.reach`, :mod:`maps.index`: the pages;
- :mod:`maps.base`, :mod:`maps.style`, :mod:`maps.svg`: the base map and tiles, colours and
  escaping, inline SVG charts;
- :mod:`maps.assets`: the vendored Leaflet/jQuery inlined, and the check that nothing external is left.

See docs/maps.md.
"""
