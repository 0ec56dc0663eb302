"""The status page, its JSON API, ``/healthz`` and ``/metrics`` on one HTTP listener."""
