"""envq Prefect flows: thin flows that call :mod:`envq`, :mod:`geo` and :mod:`maps`. Built in the
pipeline issue."""
